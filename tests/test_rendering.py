"""Comment Markdown renders as docs/reference/api.md says: only absolute http(s) and mailto links, exactly
the allowed attributes, no text lost to nesting or to link definitions, and a preview identical to the
stored comment."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder import rendering
from rejoinder.rendering import ALLOWED_ATTRIBUTES, LINK_REL, MAX_BLOCK_NESTING, normalise, render
from tests.helpers import comment_payload, error_fields, post

REFUSED_LINKS = {
    "protocol-relative": "[x](//evil.example/steal)",
    "site-relative": "[x](/logout)",
    "page-relative": "[x](logout)",
    "fragment": "[x](#top)",
    "query": "[x](?admin=1)",
    "javascript": "[x](javascript:alert(1))",
    "data": "[x](data:text/html,hi)",
    "http without a host": "[x](http:///path)",
    "bare mailto": "[x](mailto:)",
    "autolink to ftp": "<ftp://files.example/x>",
}
KEPT_LINKS = {
    "https": ("[x](https://ada.example/a?b=1)", "https://ada.example/a?b=1"),
    "http in capitals": ("[x](HTTP://ada.example)", "HTTP://ada.example"),
    "mailto": ("[x](mailto:ada@example.org)", "mailto:ada@example.org"),
    "autolink": ("<https://ada.example>", "https://ada.example"),
    "bare address": ("see www.example.com today", "http://www.example.com"),
}


class Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.seen.add((tag, name))
            if name == "href":
                self.hrefs.append(value or "")


def attributes(html: str) -> Attributes:
    parser = Attributes()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html)).replace("&gt;", ">").replace("&amp;", "&")


def test_only_absolute_http_and_mailto_links_become_links() -> None:
    rendered = {case: render(source) for case, source in REFUSED_LINKS.items()}
    assert {case: html for case, html in rendered.items() if "<a" in html} == {}
    kept = {case: attributes(render(source)).hrefs for case, (source, _) in KEPT_LINKS.items()}
    assert kept == {case: [href] for case, (_, href) in KEPT_LINKS.items()}


def test_a_refused_link_stays_as_the_text_that_was_typed() -> None:
    assert render("[x](/logout)") == "<p>[x](/logout)</p>"


def test_attributes_are_exactly_the_allow_list() -> None:
    html = render('[x](https://ada.example "a title")\n\n3. three\n4. four')
    allowed = {(tag, name) for tag, names in ALLOWED_ATTRIBUTES.items() for name in names} | {("a", "rel")}
    assert attributes(html).seen == allowed
    assert f'rel="{LINK_REL}"' in html
    assert "title" not in html


def test_link_reference_definitions_alone_still_show_their_text() -> None:
    html = render("[a]: https://ada.example\n[b]: /relative")
    assert "[a]:" in html and "https://ada.example" in html and "[b]: /relative" in html


@pytest.mark.parametrize(
    "source",
    [
        "> " * 60 + "deep quote",
        "- " * 60 + "deep list",
        "\n".join("  " * depth + "- level " + str(depth) for depth in range(40)),
        ">" * 4000 + " the end",
    ],
    ids=["quotes", "lists on one line", "indented lists", "4,000 quotes"],
)
def test_deep_nesting_is_flattened_and_its_text_kept(source: str) -> None:
    html = render(source)
    assert html.count("<blockquote>") + html.count("<li>") <= MAX_BLOCK_NESTING
    words = re.findall(r"[a-z]+ ?[0-9a-z]*", source)
    assert all(word in html for word in words), html


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab >-*_`[]()\n1.")), max_size=400))
def test_no_letter_is_ever_dropped(source: str) -> None:
    kept = re.sub(r"[^ab]", "", text_of(render(normalise(source))))
    assert sorted(kept) == sorted(re.sub(r"[^ab]", "", source))


# Plain prose and its near misses: words, the punctuation the shortcut for plain text lets through, and
# the characters that end it (a dot or colon inside a word, markup, a trailing space, a digit first).
WORDS = ["word", "Été", "東京", "İ", "ﬁ", "½", "٣", "x", "example", "com", "2", "www", "mailto", "http"]
WORDS += ["a_b"]
GLUE = [" ", "  ", ", ", ". ", ".", ": ", ":", "; ", "? ", "! ", "'", "-", "(", ")", "\n", "\n\n", "\n\n\n"]
GLUE += [" \n", "*", "_", "`", "[", "]", "<", ">", "&", "#", "~~", "//", "@", "\t", "1. ", "- ", '"']
GLUE += ["\u00a0"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS + GLUE), max_size=40))
def test_plain_text_renders_as_the_parser_would(pieces: list[str]) -> None:
    """Plain prose skips the parser and the sanitiser (``rendering._render_plain``): the same HTML."""
    source = normalise("".join(pieces))
    assert render(source) == rendering.sanitise(rendering._parser().render(source))


# The inline markup the shortcut takes (``rendering._SPAN``), and its near misses: spans that touch, a
# star or bracket left over, an image's marker, a word with an underscore, an address with more in it.
SPANS = ["*word*", "*Été*", "*2*", "`code_sample()`", "`a_b`", "[word](https://example.com/word)"]
SPANS += ["[x](http://a-b.example.org/p_q/)", "[東京](https://x.example)", "*a_b*", "**b**", "`a b`", "!"]
SPANS += ["[a](https://x.y/é)", "[a](https://X.com)", "[a b](https://x.com)", "(https://x.com)", "\\"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS + GLUE + SPANS), max_size=40))
def test_simple_inline_markup_renders_as_the_parser_would(pieces: list[str]) -> None:
    """Plain prose with simple emphasis, code spans and links skips the parser too: the same HTML."""
    source = normalise("".join(pieces))
    assert render(source) == rendering.sanitise(rendering._parser().render(source))


def test_simple_inline_markup_takes_the_shortcut() -> None:
    source = "About *caches*, `code_sample()` and [latency](https://example.com/12).\n\nMore."
    assert rendering._has_spans(source)
    assert render(source) == (
        "<p>About <em>caches</em>, <code>code_sample()</code> and "
        '<a href="https://example.com/12" rel="nofollow ugc noopener">latency</a>.</p>\n<p>More.</p>'
    )


def test_plain_text_takes_the_shortcut() -> None:
    source = "It's plain (really) - no links, no markup; a colon: fine.\n\nSecond paragraph\nand a line."
    assert rendering._PLAIN.fullmatch(source)
    assert render(source) == (
        "<p>It's plain (really) - no links, no markup; a colon: fine.</p>\n"
        "<p>Second paragraph<br>\nand a line.</p>"
    )


async def test_preview_and_post_render_alike_with_control_characters(
    client: httpx.AsyncClient, site: str
) -> None:
    body = "a\x00b \x7f*c*\r\nd\x1b"
    preview = (await client.post("/api/v1/preview", json={"body": body})).json()["html"]
    posted = (await post(client, body))["comment"]
    assert preview == posted["html"] == "<p>ab <em>c</em><br>\nd</p>"


async def test_previews_are_rate_limited_per_address(
    client: httpx.AsyncClient, site: str, steady_rate_windows: None
) -> None:
    limit = 30  # preview_rate_limit's default: 30/minute
    answers = [(await client.post("/api/v1/preview", json={"body": "hi"})).status_code for _ in range(limit)]
    assert answers == [200] * limit
    refused = await client.post("/api/v1/preview", json={"body": "hi"})
    assert set(error_fields(refused, 429, "rate_limited")) == {"client"}
    assert int(refused.headers["Retry-After"]) >= 1
    again = await client.post("/api/v1/preview", json={"body": "hi"})  # refused at the door this time
    assert set(error_fields(again, 429, "rate_limited")) == {"client"}
    assert int(again.headers["Retry-After"]) >= 1
    # Comments are counted apart: a reader who previewed a lot can still post.
    assert (await client.post("/api/v1/comments", json=comment_payload("still welcome"))).status_code == 201
