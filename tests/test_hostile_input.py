"""Hostile input: XSS payloads and naughty strings come back as the text they are, never as markup.

Comment bodies are the only field sent as HTML, so the HTML stored for every body must pass an
allow-list audit. Names are plain JSON strings that clients insert with ``textContent``: they must come
back verbatim, not escaped. Websites are links, so only http(s) addresses are accepted.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select

from rejoinder.comments import MAX_NAME, Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.demo import install_demo
from rejoinder.errors import InvalidInput
from rejoinder.model import Author, Comment
from rejoinder.rendering import render
from rejoinder.settings import Settings
from rejoinder.store.schema import comments, metadata
from rejoinder.web.app import create_app
from tests.helpers import ARTICLE, comment_payload, flatten, post, read

SAFE_TAGS = frozenset(
    {"p", "br", "em", "strong", "a", "code", "pre", "blockquote", "ul", "ol", "li", "s", "del"}
)
SAFE_ATTRIBUTES = frozenset({"href", "rel", "start"})
SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
SCRIPTING_SCHEMES = frozenset({"javascript", "data", "vbscript"})
LINK_REL = "nofollow ugc noopener"
URL_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
C0_AND_SPACE = "".join(map(chr, range(0x21)))

# Refusals a hostile string may meet (an empty body, a name with control characters); nothing else.
EXPECTED_REFUSALS = {
    "body": ("must not be empty",),
    "author.name": ("must not contain control characters", f"must be at most {MAX_NAME}"),
}
SAMPLE_STRIDE = 50  # every 50th XSS payload gets a comment of its own; all of them are stored in batches
BATCH_CHARACTERS = 9_000  # under the 10,000-character body limit


def url_scheme(value: str) -> str | None:
    """The scheme a browser would read from an attribute value (entities are already decoded)."""
    # Browsers drop tabs and newlines anywhere in a URL, and control characters and spaces around it.
    compact = re.sub(r"[\t\n\r]", "", value).strip(C0_AND_SPACE).lower()
    match = URL_SCHEME.match(compact)
    return match.group(1) if match else None


class MarkupAudit(HTMLParser):
    """Collects everything in a piece of HTML that the comment allow-list does not permit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag <{tag}>")
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name not in SAFE_ATTRIBUTES:
                self.problems.append(f"attribute {name} on <{tag}>")
            if url_scheme(value) in SCRIPTING_SCHEMES:
                self.problems.append(f"{url_scheme(value)}: URL in {name} on <{tag}>")
        href = values.get("href")
        if href is not None and url_scheme(href) not in SAFE_LINK_SCHEMES:
            # No scheme: a relative link, which would resolve against the embedding page.
            self.problems.append(f"href with scheme {url_scheme(href)!r}")
        if "start" in values and not values["start"].isdigit():
            self.problems.append(f"start={values['start']!r}")
        if tag == "a" and sorted(values.get("rel", "").split()) != sorted(LINK_REL.split()):
            self.problems.append(f"<a> with rel={values.get('rel')!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"end tag </{tag}>")

    def handle_comment(self, data: str) -> None:
        self.problems.append("an HTML comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration <!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction <?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration <![{data}]>")


def markup_problems(fragment: str) -> list[str]:
    audit = MarkupAudit()
    audit.feed(fragment)
    audit.close()
    return audit.problems


class ExecutableMarkup(HTMLParser):
    """Collects whatever in a whole page could run script or load something: a looser audit for pages,
    whose own markup (forms, styles) is not comment markup."""

    ACTIVE_TAGS = frozenset(
        {"script", "iframe", "frame", "object", "embed", "svg", "math", "img", "base", "link"}
    )
    URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.ACTIVE_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            scripted_url = name in self.URL_ATTRIBUTES and url_scheme(value or "") in SCRIPTING_SCHEMES
            if name.startswith("on") or name == "style" or scripted_url:
                self.problems.append(f"{name}={value!r} on <{tag}>")


def executable_markup(page: str) -> list[str]:
    audit = ExecutableMarkup()
    audit.feed(page)
    audit.close()
    return audit.problems


def as_name(text: str) -> str:
    """A name as the server keeps it: one line of NFC text."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture
def xss_payloads(shared_dir: Path) -> list[str]:
    text = (shared_dir / "data" / "xss" / "payloadbox-xss-payload-list.txt").read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line]  # "\n" only: splitlines() also cuts at \x0b, \x1c…


@pytest.fixture
def naughty_strings(shared_dir: Path) -> list[str]:
    strings: list[str] = json.loads((shared_dir / "data" / "xss" / "blns.json").read_text(encoding="utf-8"))
    return strings


def post_via_service(ctx: Context, url: str, body: str, name: str = "Ada", website: str = "") -> Comment:
    new = NewComment(site="test", url=url, title="Hostile", body=body, author=Author(name, "", website))
    return post_comment(ctx, new, Client(user_agent="hostile-input-test")).comment


def post_hostile(ctx: Context, url: str, text: str) -> Comment:
    """``text`` as body and as author name; a field refused for an expected reason is replaced by plain
    text so that the other one is still stored."""
    try:
        return post_via_service(ctx, url, text, text[:MAX_NAME])
    except InvalidInput as refused:
        assert_expected_refusals(refused.fields)
        return post_via_service(
            ctx,
            url,
            "(refused body)" if "body" in refused.fields else text,
            "(refused name)" if "author.name" in refused.fields else text[:MAX_NAME],
        )


def assert_expected_refusals(fields: dict[str, str]) -> None:
    for field, rule in fields.items():
        assert field in EXPECTED_REFUSALS and rule.startswith(EXPECTED_REFUSALS[field]), fields


def in_batches(texts: list[str]) -> Iterator[str]:
    """The texts as few comment bodies as fit, one paragraph each."""
    batch: list[str] = []
    for text in texts:
        if batch and sum(len(t) + 2 for t in batch) + len(text) > BATCH_CHARACTERS:
            yield "\n\n".join(batch)
            batch = []
        batch.append(text)
    if batch:
        yield "\n\n".join(batch)


async def every_comment(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await read(client, url, limit=1000, **({"cursor": cursor} if cursor else {}))
        found += flatten(page["comments"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize(
    "unsafe",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)" rel="nofollow ugc noopener">x</a>',
        '<a href=" &#x6A;ava&#x09;script&colon;alert(1)" rel="nofollow ugc noopener">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=" rel="nofollow ugc noopener">x</a>',
        '<a href="ftp://files.example" rel="nofollow ugc noopener">x</a>',
        '<a title="vbscript:msgbox(1)" rel="nofollow ugc noopener">x</a>',
        '<a href="https://ok.example">no rel</a>',
        '<p style="color: red">styled</p>',
        '<ol start="1 onclick=alert(1)"><li>x</li></ol>',
        "<!-- hidden -->",
        "<svg><p>nested</p></svg>",
        '<a href="/logout" rel="nofollow ugc noopener">relative</a>',
        '<a href="//evil.example" rel="nofollow ugc noopener">protocol-relative</a>',
        '<a href="https://x.example" title="t" rel="nofollow ugc noopener">title</a>',
    ],
)
def test_the_audit_catches_unsafe_markup(unsafe: str) -> None:
    assert markup_problems(unsafe) != []


def test_the_audit_passes_what_comments_may_contain() -> None:
    allowed = (
        "<p>A <em>b</em> <strong>c</strong> <code>d</code> <s>e</s> <del>f</del><br>"
        '<a href="https://x.example/?q=javascript:" rel="nofollow ugc noopener">g</a> '
        '<a href="mailto:h@x.example" rel="nofollow ugc noopener">h</a></p>'
        '<blockquote><p>q</p></blockquote><ul><li>i</li></ul><ol start="3"><li>j</li></ol>'
        "<pre><code>k</code></pre>"
    )
    assert markup_problems(allowed) == []


def test_every_payload_and_naughty_string_renders_to_allow_listed_markup(
    xss_payloads: list[str], naughty_strings: list[str]
) -> None:
    failures = {
        text: problems
        for text in xss_payloads + naughty_strings
        if (problems := markup_problems(render(text)))
    }
    assert not failures, f"{len(failures)} unsafe renderings, e.g. {list(failures.items())[:3]}"


async def test_stored_hostile_comments_read_back_as_safe_markup_and_verbatim_names(
    client: httpx.AsyncClient, ctx: Context, site: str, xss_payloads: list[str], naughty_strings: list[str]
) -> None:
    everything = xss_payloads + naughty_strings
    singles = xss_payloads[::SAMPLE_STRIDE] + naughty_strings
    with ThreadPoolExecutor(max_workers=4) as pool:
        batched = list(pool.map(lambda body: post_via_service(ctx, ARTICLE, body), in_batches(everything)))
        single = list(pool.map(lambda text: post_hostile(ctx, ARTICLE, text), singles))
    posted = {comment.id: comment for comment in batched + single}

    shown = await every_comment(client, ARTICLE)
    assert sorted(c["id"] for c in shown) == sorted(posted)
    unsafe = {c["id"]: problems for c in shown if (problems := markup_problems(c["html"]))}
    assert not unsafe, f"unsafe html in {len(unsafe)} comments, e.g. {list(unsafe.items())[:3]}"
    names = {c["id"]: c["author"]["name"] for c in shown}
    for comment, text in zip(single, singles, strict=True):
        if comment.author.name != "(refused name)":
            assert names[comment.id] == (as_name(text[:MAX_NAME]) or None)  # an empty name reads as null

    with ctx.db.read() as conn:
        stored = {row.id: (row.body, row.author_name) for row in conn.execute(select(comments))}
    assert stored == {i: (c.body, c.author.name) for i, c in posted.items()}  # byte for byte, as accepted


async def test_a_website_is_refused_unless_it_is_an_http_address(
    ctx: Context, site: str, xss_payloads: list[str], naughty_strings: list[str]
) -> None:
    accepted = []
    for text in filter(str.strip, xss_payloads + naughty_strings):  # a blank website is no website
        try:
            accepted.append(post_via_service(ctx, ARTICLE, "x", website=text).author.website)
        except InvalidInput as refused:
            assert set(refused.fields) == {"author.website"}
    assert accepted, "the lists hold a few plain http addresses"
    assert all(re.match(r"https?://[^\s]", website, re.IGNORECASE) for website in accepted), accepted


async def test_a_sample_through_the_api_is_refused_or_stored_as_text(
    client: httpx.AsyncClient, site: str, xss_payloads: list[str], naughty_strings: list[str]
) -> None:
    for text in xss_payloads[::500] + naughty_strings[::25]:
        name = text[:MAX_NAME]
        if text.strip() and not re.match(r"https?://", text, re.IGNORECASE):
            with_website = await client.post(
                "/api/v1/comments", json=comment_payload(text, name=name, website=text)
            )
            assert with_website.status_code == 422
            assert "author.website" in with_website.json()["error"]["fields"]
        response = await client.post("/api/v1/comments", json=comment_payload(text, name=name))
        if response.status_code == 422:
            assert_expected_refusals(response.json()["error"]["fields"])
            continue
        assert response.status_code == 201, response.text
        comment = response.json()["comment"]
        assert markup_problems(comment["html"]) == []
        assert comment["author"]["name"] == (as_name(name) or None)


HOSTILE_NAME = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
HOSTILE_WEBSITE = 'https://x.example/"onmouseover="alert(3)'
HOSTILE_BODY = "<script>alert(4)</script> [x](javascript:alert(5)) <svg onload=alert(6)>"


@pytest.fixture
async def demo_client(ctx: Context, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app as ``rejoinder demo`` builds it, with the demo's pages."""
    transport = httpx.ASGITransport(app=create_app(settings, context=ctx, with_demo=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_the_demo_page_shows_hostile_input_as_text(
    demo_client: httpx.AsyncClient, ctx: Context, settings: Settings
) -> None:
    client = demo_client
    install_demo(ctx, settings.base_url)
    hostile = {"body": HOSTILE_BODY, "name": HOSTILE_NAME, "website": HOSTILE_WEBSITE}
    assert (await client.post("/demo/comment", data=hostile)).status_code == 303
    # A refused form comes back filled in with what was sent: the values must stay values.
    refused = await client.post(
        "/demo/comment", data=hostile | {"body": "", "website": "javascript:alert(7)"}
    )
    assert refused.status_code == 422
    page = await client.get("/demo/")
    for shown in (page.text, refused.text):
        # The page's own widget script and stylesheets are the only ones allowed; the comments are text.
        shown = re.sub(r'<script src="/embed\.js"[^>]*></script>', "", shown, count=1)
        shown = re.sub(r'<link rel="stylesheet" href="/(?:embed|pages)\.css"[^>]*>', "", shown)
        shown = re.sub(r'<link rel="icon" href="[^"]*/favicon\.svg"[^>]*>', "", shown, count=1)
        assert executable_markup(shown) == []
        assert HOSTILE_NAME in html.unescape(shown)


MARKUP_FRAGMENTS = [
    "<",
    ">",
    "[x](",
    "](",
    ")",
    "[",
    "]",
    "(",
    "javascript:",
    "JaVaScRiPt:",
    "java\tscript:",
    "data:text/html,",
    "vbscript:",
    "`",
    "```",
    "> ",
    "- ",
    "* ",
    "1. ",
    "3) ",
    "<script>",
    "</script>",
    "onerror=",
    "onload=",
    '"',
    "'",
    "&#x6A;",
    "&colon;",
    "&",
    "http://",
    "https://a.example",
    "www.a.example",
    "mailto:",
    "a@b.example",
    "*",
    "_",
    "~~",
    "\\",
    "<a href=",
    "<img src=x ",
    "<!--",
    "-->",
    "<![CDATA[",
    "<svg>",
    "\n",
    "\n\n",
    " ",
    "    ",
    "\t",
    "!",
    "#",
    "\x00",
    "\u202e",
]
markdown_ish = st.lists(st.one_of(st.sampled_from(MARKUP_FRAGMENTS), st.text(max_size=4)), max_size=40).map(
    "".join
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text())
def test_any_text_renders_to_allow_listed_markup(text: str) -> None:
    assert markup_problems(render(text)) == []


@settings(max_examples=200, deadline=None, database=None)
@given(markdown_ish)
def test_any_mix_of_markdown_and_html_renders_to_allow_listed_markup(text: str) -> None:
    assert markup_problems(render(text)) == []


@pytest.mark.parametrize(
    "sql", ["'; DROP TABLE comments; --", '" OR 1=1', "1' OR '1'='1", "Robert'); DROP TABLE sites;--"]
)
async def test_sql_looking_input_is_stored_and_read_back_verbatim(
    client: httpx.AsyncClient, ctx: Context, site: str, sql: str
) -> None:
    posted = (await post(client, sql, name=sql))["comment"]
    with ctx.db.read() as conn:
        row = conn.execute(
            select(comments.c.body, comments.c.author_name).where(comments.c.id == posted["id"])
        ).one()
    assert (row.body, row.author_name) == (sql, sql)
    assert (await read(client))["comments"][0]["author"]["name"] == sql
    unknown_site = await client.get("/api/v1/comments", params={"site": sql, "url": ARTICLE})
    assert unknown_site.status_code in (404, 422)
    assert set(metadata.tables) <= set(inspect(ctx.db.reader).get_table_names())
