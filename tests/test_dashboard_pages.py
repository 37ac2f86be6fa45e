"""The dashboard's pages in-process, on both databases: who may see what, what each page shows, the strict
CSP, the languages, and hostile comments shown as text. Behaviour in a browser: tests/browser."""

from __future__ import annotations

import re

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.sites import create_site
from tests.helpers import log_in, make_moderator
from tests.test_security_headers import assert_page_headers, inline_code

PAGES = ("/dashboard/account", "/dashboard/sites/test/welcome")
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def moderator(client: httpx.AsyncClient, ctx: Context, site: str) -> str:
    """``client`` logged in as a moderator of the site ``test``; the session's CSRF token."""
    make_moderator(ctx, "mod@example.org", site)
    return await log_in(client, "mod@example.org")


async def test_pages_send_a_visitor_without_a_session_to_the_login_page(
    client: httpx.AsyncClient, site: str
) -> None:
    for path in PAGES:
        response = await client.get(path + "?x=1")
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/dashboard/login?next={path}%3Fx%3D1"


async def test_every_page_has_the_strict_csp_no_inline_code_and_the_csrf_token(
    client: httpx.AsyncClient, moderator: str
) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_page_headers(response)
        assert inline_code(response.text) == [], path
        assert f'<meta name="csrf-token" content="{moderator}">' in response.text
        assert '<script src="/dashboard/static/dashboard.js" defer></script>' in response.text
        assert response.headers["cache-control"] == "no-store"


async def test_the_script_and_stylesheet_come_from_the_server_itself(client: httpx.AsyncClient) -> None:
    script = await client.get("/dashboard/static/dashboard.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "X-CSRF-Token" in script.text and "innerHTML" in script.text  # only for server-sanitised HTML
    style = await client.get("/dashboard/static/dashboard.css")
    assert style.status_code == 200 and "prefers-color-scheme: dark" in style.text
    for text in (script.text, style.text):
        assert not re.search(r"https?://", text.replace("http://www.w3.org", ""))  # nothing from elsewhere
    missing = await client.get("/dashboard/static/../app.py")
    assert missing.status_code == 404
    assert (await client.get("/dashboard/static/login.html")).status_code == 404


async def test_the_language_follows_the_browser_and_a_choice_is_remembered(
    client: httpx.AsyncClient, moderator: str
) -> None:
    page = await client.get("/dashboard/account", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in page.text and "Sitzungen und Tokens" in page.text
    chosen = await client.get("/dashboard/account?lang=uk")
    assert '<html lang="uk">' in chosen.text and "Сеанси й токени" in chosen.text
    assert "rejoinder_lang=uk" in chosen.headers["set-cookie"]
    later = await client.get("/dashboard/account", headers={"Accept-Language": "de"})
    assert '<html lang="uk">' in later.text
    login = await client.get("/dashboard/login?lang=de")
    assert "Passwort" in login.text


async def test_the_account_page_lists_sessions_and_tokens_without_their_secrets(
    client: httpx.AsyncClient, moderator: str
) -> None:
    made = await client.post(
        "/api/v1/me/tokens", json={"label": "backup <script>"}, headers={"X-CSRF-Token": moderator}
    )
    assert made.status_code == 201, made.text
    page = await client.get("/dashboard/account")
    assert "this browser" in page.text
    assert "backup &lt;script&gt;" in page.text and "<script>" not in page.text
    assert made.json()["token"] not in page.text
    assert f'data-revoke="/api/v1/me/tokens/{made.json()["id"]}"' in page.text


async def test_a_moderator_sees_no_other_moderators_sessions(
    client: httpx.AsyncClient, app: object, ctx: Context, moderator: str
) -> None:
    create_site(ctx, "other", "Other", ["https://other.example"])
    make_moderator(ctx, "else@example.org", "other")
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await log_in(other, "else@example.org")
    page = await client.get("/dashboard/account")
    assert page.text.count('data-revoke="/api/v1/me/sessions/') == 1


async def test_the_first_run_page_gives_the_snippet_and_the_origins(
    client: httpx.AsyncClient, moderator: str
) -> None:
    page = await client.get("/dashboard/sites/test/welcome")
    assert (
        "&lt;script src=&#34;http://testserver/embed.js&#34; data-site=&#34;test&#34; async&gt;"
        in page.text
    )
    assert "<code>https://blog.example</code>" in page.text
    assert "/dashboard/settings?site=test" not in page.text  # a moderator, not an admin: no settings link


async def test_a_moderator_of_one_site_is_refused_the_pages_of_another(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    create_site(ctx, "other", "Other blog", ["https://other.example"])
    refused = await client.get("/dashboard/sites/other/welcome", headers=HTML)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "is not one of your sites" in refused.text and "other.example" not in refused.text
    assert inline_code(refused.text) == []
    as_json = await client.get("/dashboard/sites/other/welcome")
    assert as_json.status_code == 403
    assert as_json.json()["error"]["fields"] == {"site": "is not one of your sites"}
