"""Health checks for the process and its database, the OpenAPI description, and Markdown previews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.settings import Settings
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context

API_PATHS = {
    "/api/v1/comments": {"get", "post"},
    "/api/v1/comments/{comment_id}": {"get", "patch", "delete"},
    "/api/v1/comments/{comment_id}/moderate": {"post"},
    "/api/v1/form": {"get"},
    "/api/v1/comments/{comment_id}/like": {"put", "delete"},
    "/api/v1/counts": {"get"},
    "/api/v1/preview": {"post"},
    "/api/v1/sites/{site}/export": {"get"},
}


@pytest.fixture
async def client_without_database(
    backend: str, settings: Settings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over a database it cannot reach: a directory for SQLite, a closed port for PostgreSQL."""
    if backend == "sqlite":
        unreachable = f"sqlite:///{tmp_path}"
    else:
        unreachable = "postgresql+psycopg://rejoinder@127.0.0.1:1/nowhere?connect_timeout=2"
    broken = settings.model_copy(update={"database_url": unreachable})
    context = open_context(broken)  # connects lazily: the secret key is set, so nothing is read yet
    transport = httpx.ASGITransport(app=create_app(broken, context=context))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    context.close()


async def test_healthz_answers_while_the_process_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_when_the_database_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_readyz_is_503_json_when_the_database_is_unreachable(
    client_without_database: httpx.AsyncClient,
) -> None:
    response = await client_without_database.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "unavailable", "database": "OperationalError"}
    assert (await client_without_database.get("/healthz")).status_code == 200  # alive, just not ready


async def test_openapi_lists_every_endpoint_with_its_methods(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Rejoinder"
    documented = {path: set(methods) for path, methods in schema["paths"].items()}
    assert documented == API_PATHS  # pages, health checks and the demo stay out of the API description


async def test_openapi_documents_the_error_shape(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    post = schema["paths"]["/api/v1/comments"]["post"]
    refused = post["responses"]["422"]["content"]["application/json"]["schema"]
    assert refused == {"$ref": "#/components/schemas/ErrorOut"}


async def test_preview_renders_markdown_as_a_comment_would_be(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/preview", json={"body": "**Bold**, [a link](https://ada.example)"})
    assert response.status_code == 200
    link = '<a href="https://ada.example" rel="nofollow ugc noopener">a link</a>'
    assert response.json() == {"html": f"<p><strong>Bold</strong>, {link}</p>"}


SCRIPTS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
]


async def test_preview_neutralises_scripts(client: httpx.AsyncClient) -> None:
    for markup in SCRIPTS:
        html = (await client.post("/api/v1/preview", json={"body": f"Hello {markup}"})).json()["html"]
        assert html.startswith("<p>Hello "), markup
        assert "<script" not in html and "<img" not in html and '<a href="javascript' not in html, html
    html = (await client.post("/api/v1/preview", json={"body": SCRIPTS[0]})).json()["html"]
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"  # shown as text, never run


async def test_preview_stores_nothing(client: httpx.AsyncClient, site: str) -> None:
    await client.post("/api/v1/preview", json={"body": "just looking"})
    counts = await client.get("/api/v1/counts", params={"site": site, "url": "/"})
    assert counts.json() == {"counts": {"/": 0}}


async def test_the_demo_pages_are_mounted_only_for_the_demo(
    client: httpx.AsyncClient, ctx: Context, settings: Settings
) -> None:
    # `rejoinder serve` builds the app as the fixture does; `rejoinder demo` asks for the demo's pages.
    for path in ("/demo/", "/demo/privacy"):
        assert (await client.get(path)).status_code == 404
    assert (await client.post("/demo/comment", data={"body": "hi"})).status_code in (404, 405)
    transport = httpx.ASGITransport(app=create_app(settings, context=ctx, with_demo=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as demo:
        not_installed = await demo.get("/demo/")
        assert not_installed.status_code == 404 and "rejoinder demo" in not_installed.text
        assert (await demo.get("/demo/privacy")).status_code == 200
