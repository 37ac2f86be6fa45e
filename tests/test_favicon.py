"""Rejoinder's icon: every page of the server and the dashboard declares ``/favicon.svg``, a file of the
server's own that loads nothing else, and ``/favicon.ico`` (asked for by browsers unprompted) answers with
the same icon rather than a 404."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx

from rejoinder.context import Context
from rejoinder.demo import install_demo
from rejoinder.settings import Settings
from rejoinder.web.app import create_app
from rejoinder.web.demo import cross_origin_app
from rejoinder.web.widget import CACHE_CONTROL
from tests.test_security_headers import assert_resource_headers

TEMPLATES = Path(__file__).resolve().parents[1] / "rejoinder" / "web" / "templates"
ICON = Path(__file__).resolve().parents[1] / "rejoinder" / "web" / "static" / "favicon.svg"
# One page of each template that stands alone or is a base of others, answered whatever the state (a bad
# link's page is the same template as a good one's).
PAGES = [
    "/",  # base.html
    "/privacy/test",  # data-page.html
    "/privacy/test/confirm?t=not-a-link",  # data-request.html
    "/notify/unsubscribe/not-a-link",  # notify.html
    "/notify/manage/not-a-link",
    "/auth/email/verify?t=not-a-link",  # login.html
    "/dashboard/login",  # dashboard/base.html
]
DEMO_PAGES = ["/demo/", "/demo/privacy"]


class Links(HTMLParser):
    """The ``href`` of each ``<link rel="icon">`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.icons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link" and "icon" in (found.get("rel") or "").split() and found.get("href"):
            self.icons.append(str(found["href"]))


def icons_of(html: str) -> list[str]:
    links = Links()
    links.feed(html)
    return links.icons


async def assert_icon(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content == ICON.read_bytes()
    assert response.headers["cache-control"] == CACHE_CONTROL
    assert_resource_headers(response)  # opened on its own, the SVG may run and load nothing
    again = await http.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_every_page_declares_the_icon_and_it_is_there(client: httpx.AsyncClient, site: str) -> None:
    for path in PAGES:
        page = await client.get(path)
        assert page.headers["content-type"].startswith("text/html"), path
        assert icons_of(page.text) == ["/favicon.svg"], path
    await assert_icon(client, "/favicon.svg")


async def test_the_address_browsers_ask_for_by_themselves_answers_with_the_icon(
    client: httpx.AsyncClient,
) -> None:
    await assert_icon(client, "/favicon.ico")
    head = await client.head("/favicon.ico")
    assert head.status_code == 200 and head.content == b""
    gzipped = await client.get("/favicon.ico", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.content == ICON.read_bytes()


async def test_the_demo_pages_too(settings: Settings, ctx: Context) -> None:
    app = create_app(settings, context=ctx, with_demo=True)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        article = install_demo(ctx, settings.base_url)
        for path in DEMO_PAGES:
            page = await http.get(path)
            assert page.status_code == 200, path
            assert icons_of(page.text) == ["/favicon.svg"], path
        # The page of "another site" embedding the demo names the icon on the comment server.
        elsewhere = httpx.ASGITransport(app=cross_origin_app("http://testserver", article))
        async with httpx.AsyncClient(transport=elsewhere, base_url="http://elsewhere.test") as other:
            [icon] = icons_of((await other.get("/")).text)
        assert icon == "http://testserver/favicon.svg"
        await assert_icon(http, icon.removeprefix("http://testserver"))


def test_every_template_with_a_head_declares_the_icon() -> None:
    """A page added later as a template of its own (not extending a base) is caught here."""
    heads = [path for path in TEMPLATES.rglob("*.html") if "<head>" in path.read_text(encoding="utf-8")]
    assert len(heads) >= 4
    for path in heads:
        text = path.read_text(encoding="utf-8")
        assert re.search(r'<link rel="icon" href=".*?/favicon\.svg"', text), path


def test_the_icon_loads_nothing() -> None:
    svg = ICON.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")
    for request in ("http", "href", "url(", "<script", "<style", "<image", "@import"):
        assert request not in svg.lower()
    assert len(ICON.read_bytes()) < 1024
