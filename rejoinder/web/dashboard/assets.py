"""The dashboard's own script and stylesheet, served by the server itself (never from a CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

from rejoinder.errors import NotFound

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parents[1] / "static"
FILES = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}


@router.get("/dashboard/static/{name}")
def static_file(name: str) -> Response:
    if name not in FILES:
        raise NotFound(f"no dashboard file {name!r}", {"name": "is not a file of the dashboard"})
    # Revalidated on every load (by its ETag): a new release's script never meets an old page.
    return FileResponse(STATIC / name, media_type=FILES[name], headers={"Cache-Control": "no-cache"})
