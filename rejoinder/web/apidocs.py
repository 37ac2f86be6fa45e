"""``/api/docs``: the interactive API reference (Swagger UI), served entirely by this server.

FastAPI's built-in page loads Swagger UI from a public CDN and starts it with an inline script; here the
files come from the ``swagger-ui-bundle`` package and the start-up script is a file of its own, so the
page fetches nothing from a third party and runs under a CSP without ``unsafe-inline``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from rejoinder.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS = Path(swagger_ui_path)
SERVED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Rejoinder API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" href="/api/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/start.js"></script>
</body>
</html>
"""
# validatorUrl: null, or Swagger UI would send the schema to validator.swagger.io for a badge.
START = """SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
"""
CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get("/api/docs")
def docs_page() -> Response:
    return HTMLResponse(PAGE)


@router.get("/api/docs/start.js")
def docs_start() -> Response:
    return Response(START, media_type="text/javascript; charset=utf-8", headers=CACHE)


@router.get("/api/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    if name not in SERVED:
        raise NotFound(f"no asset {name}", {"name": "is not an asset of the API docs"})
    return FileResponse(ASSETS / name, headers=CACHE)
