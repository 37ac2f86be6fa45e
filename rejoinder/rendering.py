"""Comment Markdown to safe HTML, done once when a comment is written.

markdown-it-py parses a CommonMark subset (paragraphs, emphasis, links and autolinks, code, block
quotes, lists) with raw HTML off; nh3 then keeps only an allow-list, so even a parser bug cannot
let markup through.
"""

from __future__ import annotations

import re
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
    return sanitise(_parser().render(source))


# Block-level markup: text that has some is already laid out in paragraphs.
_BLOCKS = re.compile(r"<(p|div|ul|ol|blockquote|pre|table|h[1-6])[\s>]", re.IGNORECASE)


def render_html(source: str) -> str:
    """HTML from another comment system (WordPress, Disqus), cut down to the same allow-list as Markdown's
    output. Text without block markup gets WordPress's paragraphs: a blank line ends one, a newline is a
    break."""
    source = source.replace("\r\n", "\n").strip()
    if not _BLOCKS.search(source):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", source) if p.strip()]
        source = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return sanitise(source)


def sanitise(html: str) -> str:
    """Only the allow-listed tags, attributes and URL schemes survive; links get ``rel`` set."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
