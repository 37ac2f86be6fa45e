"""Comment Markdown to safe HTML, done once when a comment is written.

markdown-it-py parses a CommonMark subset (paragraphs, emphasis, links and autolinks, code, block
quotes, lists) with raw HTML off; nh3 then keeps only an allow-list, so even a parser bug cannot
let markup through.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "a", "code", "pre", "blockquote", "ul", "ol", "li", "s", "del"}
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    md.enable(["linkify", "strikethrough"])
    # Headings, rules, images, tables and raw HTML are not part of a comment: they stay plain text.
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])
    return md


def render(source: str) -> str:
    html = _parser().render(source)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
