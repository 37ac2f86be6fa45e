"""The embed widget's files: their size budget, what they may contain, and how they are served."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from rejoinder.settings import load_settings
from rejoinder.web import widget
from rejoinder.web.app import create_app

BUDGET_BYTES = 30 * 1024  # JS and CSS together, gzipped: the promise to site owners
STATIC = widget.STATIC


def gzipped_size(name: str) -> int:
    return len(gzip.compress((STATIC / name).read_bytes(), compresslevel=9))


def test_the_widget_stays_under_its_size_budget() -> None:
    js, css = gzipped_size("embed.js"), gzipped_size("embed.css")
    assert js + css < BUDGET_BYTES, f"embed.js {js:,} + embed.css {css:,} bytes gzipped > {BUDGET_BYTES:,}"


def test_only_server_html_enters_the_page_as_html() -> None:
    source = (STATIC / "embed.js").read_text(encoding="utf-8")
    # One assignment, in setServerHTML, used for comment bodies and previews rendered by the server.
    assert len(re.findall(r"\.(?:innerHTML|outerHTML)\b", source)) == 1
    assert re.search(r"function setServerHTML\(el, html\) \{\s*el\.innerHTML = html;\s*\}", source)
    for risky in ("insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "import("):
        assert risky not in source, risky


def test_every_style_is_scoped_under_the_prefix() -> None:
    css = re.sub(r"/\*.*?\*/", "", (STATIC / "embed.css").read_text(encoding="utf-8"), flags=re.S)
    for block in re.findall(r"([^{}]+)\{[^{}]*\}", css):
        for selector in block.split(","):
            selector = selector.strip()
            if not selector or selector.startswith(("@", "from", "to")) or selector.endswith("%"):
                continue
            assert re.match(r"^:where\(\.rj-|^\.rj-|^[a-z]+\.rj-", selector), selector


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(environ={}))  # the files need no database
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "media_type"), [("/embed.js", "text/javascript"), ("/embed.css", "text/css")]
)
async def test_the_files_are_served_to_any_origin_with_validators(
    http: httpx.AsyncClient, path: str, media_type: str
) -> None:
    plain = await http.get(path, headers={"Accept-Encoding": "identity", "Origin": "https://blog.example"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert plain.headers["access-control-allow-origin"] == "*"
    assert plain.headers["cache-control"].startswith("public, max-age=")
    assert "content-encoding" not in plain.headers
    assert plain.content == (STATIC / path.lstrip("/")).read_bytes()

    again = await http.get(
        path, headers={"Accept-Encoding": "identity", "If-None-Match": plain.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == plain.headers["etag"]

    packed = await http.get(path, headers={"Accept-Encoding": "gzip, br"})  # httpx decodes it
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["etag"] != plain.headers["etag"]
    assert packed.content == plain.content
    assert "Accept-Encoding" in packed.headers["vary"]

    head = await http.head(path)
    assert head.status_code == 200 and head.content == b""


def test_accept_encoding_is_read_with_its_quality_values() -> None:
    assert widget.accepts_gzip("gzip, deflate, br")
    assert widget.accepts_gzip("br;q=1.0, gzip;q=0.5")
    assert not widget.accepts_gzip("gzip;q=0, br")
    assert not widget.accepts_gzip("identity")
    assert not widget.accepts_gzip("")
