"""Server-rendered pages: the front page (the demo and the health checks have modules of their own)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from rejoinder import __version__

router = APIRouter(include_in_schema=False)


def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/")
def front_page(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "index.html", {"version": __version__})
