"""Security headers on every answer: Rejoinder's own pages under a CSP without ``unsafe-inline`` and never
framed, the JSON API and other resources under ``default-src 'none'``, the widget's files as scripts and
styles other sites load; and secrets left at placeholder values refused at start-up, naming the setting.

tests/browser/test_third_parties.py loads every page in Chromium and counts CSP violations (none)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.demo import install_demo
from rejoinder.errors import ConfigurationError
from rejoinder.settings import Settings, load_settings
from rejoinder.sites import create_site
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, post
from tests.mailbox import Mailbox, text_of

PAGES = ["/", "/api/docs", "/privacy/test", "/privacy/test?lang=de"]
DEMO_PAGES = ["/demo/", "/demo/privacy"]


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def assert_page_headers(response: httpx.Response, referrer: str = "same-origin") -> None:
    policy = directives(response.headers["content-security-policy"])
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == referrer


def assert_resource_headers(response: httpx.Response) -> None:
    """A JSON answer's security headers, and another resource's: those too may not be framed by browsers
    older than ``frame-ancestors``, and their own requests (a stylesheet's, say) send no ``Referer``."""
    assert directives(response.headers["content-security-policy"])["default-src"] == ["'none'"]
    assert directives(response.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    if not response.headers.get("content-type", "").startswith("application/json"):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def inline_code(html: str) -> list[str]:
    """Inline scripts, inline styles and event-handler or style attributes: what the CSP would block."""
    found = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I)
    found += re.findall(r"<style\b[^>]*>", html, re.I)
    found += re.findall(r"<[^>]+\s(?:style|on[a-z]+)\s*=[^>]*>", html, re.I)
    return found


async def test_every_page_has_a_strict_csp_and_no_inline_code(client: httpx.AsyncClient, site: str) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert_page_headers(response)
        assert inline_code(response.text) == [], path


async def test_the_demo_pages_too(settings: Settings, ctx: Context) -> None:
    app = create_app(settings, context=ctx, with_demo=True)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        install_demo(ctx, settings.base_url)
        for path in DEMO_PAGES:
            response = await http.get(path)
            assert response.status_code == 200, path
            assert_page_headers(response)
            assert inline_code(response.text) == [], path
            assert '<link rel="stylesheet" href="/pages.css">' in response.text
        style = await http.get("/pages.css")
        assert style.status_code == 200
        assert style.headers["content-type"].startswith("text/css")
        assert "--accent" in style.text


async def test_the_pages_of_commenters_own_export_and_erasure_too(
    mail_settings: Settings, mailbox: Mailbox
) -> None:
    ctx = open_context(mail_settings)
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    transport = httpx.ASGITransport(app=create_app(mail_settings, context=ctx), client=("203.0.113.7", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await post(http, "hello", email="me@example.org")
            data_page = await http.get("/privacy/test")
            assert '<form method="post" action="/privacy/test/request"' in data_page.text
            links = {}
            for action in ("export", "erase"):
                asked = await http.post(
                    "/privacy/test/request",
                    data={"email": "me@example.org", "action": action},
                    headers={"Origin": "http://testserver"},
                )
                assert asked.status_code == 202
                links[action] = asked
            ctx.jobs.run_due("test")
            found = [
                re.search(r"https://comments\.blog\.example(/privacy/test/confirm\?t=[\w-]+)", text_of(m))
                for m in mailbox.wait_for(2)
            ]
            export_link, erase_link = (match.group(1) for match in found if match)
            pages = {
                "data page": data_page,
                "sent": links["export"],
                "confirm": await http.get(export_link),
                "refused": await http.post("/privacy/test/request", data={"email": "x"}),
                "erased": await http.post(erase_link),
                "used up": await http.get(erase_link),
            }
            assert {name: page.status_code for name, page in pages.items()} == {
                "data page": 200, "sent": 202, "confirm": 200, "refused": 403, "erased": 200, "used up": 404
            }  # fmt: skip
            for name, page in pages.items():
                assert page.headers["content-type"].startswith("text/html"), name
                assert_page_headers(page, "same-origin" if name == "data page" else "no-referrer")
                assert inline_code(page.text) == [], name
            download = await http.post(export_link)
            assert download.headers["content-type"] == "application/json"
            assert_resource_headers(download)
    finally:
        ctx.close()


async def test_the_api_answers_under_default_src_none(client: httpx.AsyncClient, site: str) -> None:
    await post(client, "hello")
    answers = {
        "read": await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE}),
        "cached read": await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE}),
        "counts": await client.get("/api/v1/counts", params={"site": site, "url": ARTICLE}),
        "not found": await client.get("/api/v1/nothing-here"),
        "invalid": await client.get("/api/v1/comments", params={"site": site}),
        "too large": await client.post("/api/v1/comments", content=b"x" * 100_000),
        "preflight": await client.options(
            "/api/v1/comments",
            headers={"Origin": SITE_ORIGIN, "Access-Control-Request-Method": "POST"},
        ),
        "schema": await client.get("/api/openapi.json"),
        "health": await client.get("/healthz"),
        "docs script": await client.get("/api/docs/start.js"),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "read": 200,
        "cached read": 200,
        "counts": 200,
        "not found": 404,
        "invalid": 422,
        "too large": 413,
        "preflight": 204,
        "schema": 200,
        "health": 200,
        "docs script": 200,
    }
    for response in answers.values():
        assert_resource_headers(response)
    # A JSON answer has nothing to click when framed, and makes no request and holds no link that could
    # carry a Referer: X-Frame-Options and Referrer-Policy would only cost every reader's client.
    for name in ("read", "cached read", "counts", "not found", "invalid", "too large", "schema"):
        assert answers[name].headers["content-type"].startswith("application/json"), name
        assert "x-frame-options" not in answers[name].headers, name
        assert "referrer-policy" not in answers[name].headers, name
    assert answers["docs script"].headers["x-frame-options"] == "DENY"


async def test_the_widget_files_are_served_for_other_sites_to_load(client: httpx.AsyncClient) -> None:
    for path in ("/embed.js", "/embed.css"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
        assert response.headers["access-control-allow-origin"] == "*"
        # The embedding page's own CSP governs them; one here would only confuse a reader.
        assert "content-security-policy" not in response.headers
        assert "x-frame-options" not in response.headers


async def test_a_500_carries_the_headers_too(app: Any, site: str) -> None:
    async def crash() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/crash-for-test", crash)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/crash-for-test")
    assert response.status_code == 500
    assert_resource_headers(response)
    # Answered inside the envelope: it has its request id, and each header once.
    assert response.headers["x-request-id"]
    names = [name for name, _ in response.headers.raw]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "value", ["changeme", "Change-Me", "CHANGE_ME", "secret", "xxx", "xxxxxxxxxxxx", "<your secret key>",
              "${SECRET_KEY}", "password", "0000000000000000"]
)  # fmt: skip
def test_placeholder_secret_keys_are_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigurationError, match="secret_key: .*is a placeholder, not a secret"):
        load_settings(environ={"REJOINDER_SECRET_KEY": value})


def test_real_and_empty_secret_keys_are_accepted() -> None:
    assert load_settings(environ={}).secret_key == ""  # generated on first start
    key = "k7Qw2mZr9-5HbT1xJvN3pLcE8uYgA0sD"
    assert load_settings(environ={}, overrides={"secret_key": key}).secret_key == key


def test_placeholder_passwords_in_database_and_redis_urls_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="database_url: .*password 'changeme' is a placeholder"):
        load_settings(environ={"REJOINDER_DATABASE_URL": "postgresql+psycopg://app:changeme@db/rejoinder"})
    with pytest.raises(ConfigurationError, match="redis_url: .*password 'xxxx' is a placeholder"):
        load_settings(environ={"REJOINDER_REDIS_URL": "redis://:xxxx@127.0.0.1:6379/0"})
    url = "postgresql+psycopg://app:Vd93kq0Lz@db/rejoinder"
    assert load_settings(environ={"REJOINDER_DATABASE_URL": url}).database_url == url
