"""Liveness and readiness (database, disk, added checks), the OpenAPI description, Markdown previews."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.readiness import NotReady
from rejoinder.settings import Settings, load_settings
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context

API_PATHS = {
    "/api/v1/comments": {"get", "post"},
    "/api/v1/comments/{comment_id}": {"get", "patch", "delete"},
    "/api/v1/comments/{comment_id}/moderate": {"post"},
    "/api/v1/comments/{comment_id}/report": {"post"},
    "/api/v1/form": {"get"},
    "/api/v1/reader": {"get"},
    "/api/v1/reader/session": {"post", "delete"},
    "/api/v1/reader/email": {"post"},
    "/api/v1/privacy/requests": {"post"},
    "/api/v1/comments/{comment_id}/like": {"put", "delete"},
    "/api/v1/counts": {"get"},
    "/api/v1/preview": {"post"},
    "/api/v1/threads/events": {"get"},
    "/api/v1/sites/{site}/export": {"get"},
    "/api/v1/me": {"get"},
    "/api/v1/me/sessions": {"get"},
    "/api/v1/me/sessions/{session_id}": {"delete"},
    "/api/v1/me/tokens": {"get", "post"},
    "/api/v1/me/tokens/{token_id}": {"delete"},
    "/api/v1/moderation/comments": {"get"},
    "/api/v1/moderation/comments/{comment_id}": {"get", "patch"},
    "/api/v1/moderation/actions": {"post"},
    "/api/v1/moderation/undo": {"post"},
    "/api/v1/moderation/audit": {"get"},
    "/api/v1/moderation/stats": {"get"},
    "/api/v1/me/notifications": {"get", "put"},
    "/feeds/{site}.atom": {"get"},
    "/feeds/{site}/thread.atom": {"get"},
    "/api/v1/moderation/bans": {"get", "post"},
    "/api/v1/moderation/bans/{ban_id}": {"delete"},
    "/api/v1/moderation/lists/{kind}": {"get", "put"},
    "/api/v1/moderation/sites/{site}/settings": {"get", "patch"},
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


async def test_readyz_answers_ready_with_each_check(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"status": "ok"}
    if backend == "sqlite":  # the filesystem holding the database file
        assert body["checks"]["disk"]["status"] == "ok" and body["checks"]["disk"]["free_mb"] > 0
    else:  # PostgreSQL's disk is the database server's: seen only once a write was refused for it
        assert "disk" not in body["checks"]
        assert body["checks"]["database_disk"] == {"status": "ok"}


async def test_readyz_is_503_json_when_the_database_is_unreachable(
    client_without_database: httpx.AsyncClient,
) -> None:
    response = await client_without_database.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == "unavailable" and "database" in body["failing"]
    assert body["checks"]["database"] == {"status": "failing", "error": "OperationalError"}
    assert (await client_without_database.get("/healthz")).status_code == 200  # alive, just not ready


async def test_readyz_is_503_when_the_disk_has_less_free_space_than_the_setting_asks(
    sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rejoinder.db")  # the disk check is SQLite's
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    demanding = load_settings(
        environ={},
        overrides={
            "database_url": f"sqlite:///{tmp_path / 'rejoinder.db'}",
            "secret_key": "test-secret",
            "min_free_disk_mb": free_mb + 1_000_000,
        },
    )
    context = open_context(demanding)
    transport = httpx.ASGITransport(app=create_app(demanding, context=context))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/readyz")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            body = response.json()
            assert body["failing"] == ["disk"]
            assert body["checks"]["database"] == {"status": "ok"}
            assert "below min_free_disk_mb" in body["checks"]["disk"]["error"]
            assert (await http.get("/healthz")).status_code == 200
    finally:
        context.close()


async def test_readyz_runs_checks_registered_on_the_context(client: httpx.AsyncClient, ctx: Context) -> None:
    def cache_server() -> dict[str, str]:
        raise NotReady("connection refused")

    ctx.readiness.add("cache_server", cache_server)
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache_server"]
    assert body["checks"]["cache_server"] == {"status": "failing", "error": "connection refused"}

    ctx.readiness.add("cache_server", lambda: {"latency_ms": 1})
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["cache_server"] == {"status": "ok", "latency_ms": 1}


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
    assert set(error["properties"]) == {"code", "message", "fields", "difficulty"}
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
