"""The dashboard's pages in-process, on both databases: who may see what, what each page shows, the strict
CSP, the languages, and hostile comments shown as text. Behaviour in a browser: tests/browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.sites import create_site, update_site
from tests.helpers import log_in, make_moderator, post
from tests.test_queries import statements_run
from tests.test_security_headers import assert_page_headers, inline_code


class InlineCode(HTMLParser):
    """What a browser would run or style inline, found by parsing (escaped text inside values is text)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if (tag == "script" and "src" not in names) or tag == "style":
            self.found.append(tag)
        self.found += [f"{tag} {name}" for name in names if name == "style" or name.startswith("on")]


def parsed_inline_code(page: str) -> list[str]:
    parser = InlineCode()
    parser.feed(page)
    return parser.found


PAGES = (
    "/dashboard/",
    "/dashboard/?status=spam&sort=oldest&q=x",
    "/dashboard/overview",
    "/dashboard/sites/test/welcome",
    "/dashboard/lists",
    "/dashboard/bans",
    "/dashboard/settings",
    "/dashboard/account",
    "/dashboard/import",
)
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def moderator(client: httpx.AsyncClient, ctx: Context, site: str) -> str:
    """``client`` logged in as an admin of the site ``test``; the session's CSRF token."""
    make_moderator(ctx, "mod@example.org", site, role="admin")
    return await log_in(client, "mod@example.org")


async def test_pages_send_a_visitor_without_a_session_to_the_login_page(
    client: httpx.AsyncClient, site: str
) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/dashboard/login?next={quote(path, safe='/')}"


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
    assert 'href="/dashboard/settings?site=test"' in page.text


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


async def test_the_queue_shows_what_a_moderator_decides_by_and_hostile_text_only_as_text(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    parent = (await post(client, "The first word", name="Ada"))["comment"]
    update_site(ctx, "test", moderation=True)
    hostile = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'
    body = "A **reply** <script>alert(3)</script>"
    reply = (await post(client, body, name=hostile, parent_id=parent["id"]))["comment"]
    page = await client.get("/dashboard/")
    assert page.status_code == 200
    held = page.text[page.text.index(f'id="c-{reply["id"]}"') :]
    assert "<strong>reply</strong>" in held  # the server's sanitised HTML
    assert "&lt;img src=x onerror=alert(1)&gt;" in held and "<script" not in page.text.split("</head>")[1]
    assert "In reply to Ada" in held and "The first word" in held
    assert "First comment from this author" in held or "approved" in held
    assert 'href="https://blog.example/2026/11/tide-pools"' in held
    assert "Filter&#39;s verdict" in held or "Filter's verdict" in held
    assert '<button type="button" data-scripted disabled data-action="approve">Approve</button>' in held
    assert parsed_inline_code(page.text) == []
    found = await client.get("/dashboard/", params={"q": "first word", "status": "published"})
    assert f'id="c-{parent["id"]}"' in found.text and f'id="c-{reply["id"]}"' not in found.text
    assert '"q": "first word"' in found.text.replace("&#34;", '"')  # "everything matching" uses it


async def test_a_moderator_of_one_site_sees_nothing_of_another(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    update_site(ctx, "test", moderation=True)
    create_site(ctx, "other", "Other blog", ["https://other.example"], moderation=True, spam_filter=False)
    mine = (await post(client, "On my site"))["comment"]
    theirs = (await post(client, "On their site", site="other", url="https://other.example/post"))["comment"]
    for path in ("/dashboard/", "/dashboard/?status=pending&q=site", "/dashboard/overview"):
        page = await client.get(path)
        assert "Other blog" not in page.text and "On their site" not in page.text, path
        assert f'id="c-{theirs["id"]}"' not in page.text, path
    assert f'id="c-{mine["id"]}"' in (await client.get("/dashboard/")).text
    overview = await client.get("/dashboard/overview")
    assert '<dd id="total-comments">1</dd>' in overview.text
    for path in ("/dashboard/?site=other", "/dashboard/overview?site=other"):
        refused = await client.get(path, headers=HTML)
        assert refused.status_code == 403, path


async def test_the_overview_draws_the_last_30_days_and_points_new_sites_to_their_snippet(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    page = await client.get("/dashboard/overview")
    assert page.text.count('<rect class="bar"') == 30
    assert "Test blog has no comments yet." in page.text
    assert 'href="/dashboard/sites/test/welcome"' in page.text
    await post(client, "Now it has one")
    page = await client.get("/dashboard/overview")
    assert "Test blog has no comments yet." not in page.text
    assert '<dd id="total-comments">1</dd>' in page.text


async def test_the_lists_page_shows_what_the_filter_reads_one_entry_a_line(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    update_site(ctx, "test", banned_words=["casino", "<b>cheap</b>"], banned_ips=["203.0.113.0/24"])
    page = await client.get("/dashboard/lists?site=test")
    assert '<textarea id="list-words" name="entries" data-type="list" rows="5"' in page.text
    assert "casino\n&lt;b&gt;cheap&lt;/b&gt;</textarea>" in page.text
    assert "203.0.113.0/24</textarea>" in page.text
    assert 'data-list="domains" data-site="test"' in page.text


async def test_the_bans_page_lists_the_sites_bans_and_fills_in_the_one_asked_for(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    made = await client.post(
        "/api/v1/moderation/bans",
        json={"site": "test", "kind": "domain", "value": "pills.example", "reason": "<i>pills</i>"},
        headers={"X-CSRF-Token": moderator},
    )
    assert made.status_code == 201, made.text
    page = await client.get("/dashboard/bans?kind=ip&value=198.51.100.7")
    assert "<code>pills.example</code>" in page.text and "&lt;i&gt;pills&lt;/i&gt;" in page.text
    assert f'data-lift="{made.json()["ban"]["id"]}"' in page.text
    assert '<option value="ip" selected>' in page.text and 'value="198.51.100.7"' in page.text
    assert '<input type="hidden" name="site" value="test">' in page.text


async def test_the_settings_page_is_generated_from_the_declaration(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    update_site(ctx, "test", max_depth=4)
    page = await client.get("/dashboard/settings")
    declared = (await client.get("/api/v1/moderation/sites/test/settings")).json()
    for field in declared["fields"]:
        assert f'name="{field["name"]}"' in page.text, field["name"]
        assert f'data-error-for="{field["name"]}"' in page.text
    assert '<select id="s-premoderation" name="premoderation"' in page.text
    assert 'name="max_depth" type="number" inputmode="decimal" step="1" value="4"' in page.text
    assert '<textarea id="s-allowed_origins" name="allowed_origins"' in page.text
    assert "https://blog.example</textarea>" in page.text


async def test_only_an_admin_of_the_site_sees_its_settings(client: httpx.AsyncClient, ctx: Context) -> None:
    create_site(ctx, "test", "Test blog", ["https://blog.example"])
    make_moderator(ctx, "plain@example.org", "test", role="moderator")
    await log_in(client, "plain@example.org")
    refused = await client.get("/dashboard/settings?site=test", headers=HTML)
    assert refused.status_code == 403 and "needs the admin role" in refused.text
    assert (await client.get("/dashboard/settings", headers=HTML)).status_code == 404  # no site of theirs
    welcome = await client.get("/dashboard/sites/test/welcome")
    assert "/dashboard/settings?site=test" not in welcome.text


async def test_a_queue_page_costs_the_same_statements_for_two_comments_as_for_twenty(
    client: httpx.AsyncClient, ctx: Context, moderator: str
) -> None:
    update_site(ctx, "test", moderation=True)
    costs = []
    for total in (2, 20):
        while len((await client.get("/api/v1/moderation/comments")).json()["comments"]) < total:
            await post(client, "Waiting", email=f"reader{total}@example.org")
        with statements_run(ctx) as seen:
            page = await client.get("/dashboard/")
        assert page.text.count('<article class="item"') == total
        costs.append(len(seen))
    assert costs[0] == costs[1], costs
