"""Server-rendered pages: the front page and the health checks (the demo's pages are in ``demo``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import JSONResponse, Response

from rejoinder import __version__
from rejoinder.context import Context

router = APIRouter(include_in_schema=False)


def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=Path(__file__).parent / "templates")


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


@router.get("/")
def front_page(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "index.html", {"version": __version__})


@router.get("/healthz")
def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> Response:
    try:
        _ctx(request).db.ping()
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
