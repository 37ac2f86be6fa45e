"""Comment Markdown to safe HTML, done once when a comment is written (and for previews, the same way).

markdown-it-py parses a CommonMark subset (paragraphs, emphasis, links and autolinks, code, block
quotes, lists) with raw HTML off; nh3 then keeps only an allow-list, so even a parser bug cannot
let markup through.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from concurrent.futures import Executor
from functools import lru_cache
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock

ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "a", "code", "pre", "blockquote", "ul", "ol", "li", "s", "del"}
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"
# Block quotes and lists nested deeper than this many levels (a list counts two: the list and its item)
# are shown as the plain text they contain: the parser would otherwise drop everything past its own
# limit of 20, and nothing a commenter wrote may silently vanish.
MAX_BLOCK_NESTING = 12
# Unicode's category Cc (C0, DEL and C1) but newline and tab; one regex pass, not a lookup per character:
# every post and preview goes through it before its rate limit is known.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def normalise(source: str) -> str:
    """The text a comment keeps: line ends unified, NFC, no control characters but newline and tab."""
    source = unicodedata.normalize("NFC", source.replace("\r\n", "\n"))
    # Strip after dropping control characters, or "\x00 \x00" would pass as a one-space comment.
    return CONTROL_CHARACTERS.sub("", source).strip()


def is_absolute_link(url: str) -> bool:
    """Only links that mean the same on every page: absolute http(s) with a host, or mailto.

    A relative (``/logout``) or protocol-relative (``//evil.example``) link would resolve against the page
    that embeds the comments, which the commenter does not control and the reader does not expect.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return bool(parts.hostname)
    return scheme == "mailto" and len(url.strip()) > len("mailto:")


def _flatten_deep_blocks(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """At the nesting limit, the rest of the block becomes one paragraph of its text, markers and all."""
    if silent or state.level < MAX_BLOCK_NESTING:
        return False
    text = state.getLines(start, end, state.blkIndent, False).strip()
    state.line = end
    if not text:
        return True
    state.push("paragraph_open", "p", 1).map = [start, end]
    inline = state.push("inline", "", 0)
    inline.content, inline.map, inline.children = text, [start, end], []
    state.push("paragraph_close", "p", -1)
    return True


# One parser, made at the first render and never changed after: a constant (rendering keeps its state per
# call, so threads share it).
@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    md.enable(["linkify", "strikethrough"])
    # Headings, rules, images, tables and raw HTML are not part of a comment: they stay plain text. So do
    # link reference definitions: alone they would render as nothing at all.
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline", "reference"])
    md.block.ruler.before("code", "flatten_deep", _flatten_deep_blocks)
    md.validateLink = is_absolute_link  # type: ignore[method-assign]  # a refused link stays as typed
    return md


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 adds attributes of its own to every tag (title, lang): the allow-list above is the whole list.
    # Its own link_rel passes through here too.
    if attribute not in ALLOWED_ATTRIBUTES.get(tag, ()) and (tag, attribute) != ("a", "rel"):
        return None
    if tag == "a" and attribute == "href" and not is_absolute_link(value):
        return None
    return value


def prepare() -> None:
    """Build the parser and run every kind of markup through once, now: the first comment rendered
    otherwise pays for compiling linkify's patterns and the rest (~0.15 s) on the event loop, while every
    reader waits."""
    render("*a* **b** ~~c~~ `d` [e](https://example.com) https://example.org\n\n- f\n\n1. g\n\n> h")


# A line of plain prose: it starts with a letter and holds only letters, digits, spaces and punctuation
# that means nothing to Markdown or to linkify (a full stop or a colon only before a space or a line end,
# so no domain name or scheme can form), and it does not end with a space (two make a hard break).
_PLAIN_LINE = r"[^\W\d_](?:[^\W_]|[ ,;?!'()-]|[.:](?![^ \n]))*(?<! )"
_PLAIN = re.compile(rf"{_PLAIN_LINE}(?:\n+{_PLAIN_LINE})*")


# Markup longer than this goes to the parser off the event loop (``render_quickly``). markdown-it is
# super-linear on some shapes: 10,000 characters of ``[`` then ``]``, or of ``*a* `` ending in a backtick,
# take it 80-120 ms; 300 characters of any shape measured, dense or random, stay within ~2 ms
# (docs/benchmarks.md). Longer text with markup is still rendered the same way, in a worker thread.
MAX_QUICK_MARKUP = 300


def render(source: str) -> str:
    """HTML for a comment body (``source`` as ``normalise`` left it)."""
    quick = render_quickly(source)
    return quick if quick is not None else render_markup(source)


def render_quickly(source: str) -> str | None:
    """``render(source)`` when it is sure to be quick, as it is for plain prose, the simple spans and short
    markup; None for longer markup, which ``render_markup`` renders (in a thread, by a caller on the loop)."""
    if _PLAIN.fullmatch(source):
        return _render_plain(source)
    if _has_spans(source):
        return _SPAN.sub(_span_html, _render_plain(source))
    if len(source) <= MAX_QUICK_MARKUP:
        return render_markup(source)
    return None


async def render_in(threads: Executor, source: str) -> str:
    """``render(source)`` for a caller on the event loop: what is sure to be quick at once, longer markup in
    ``threads`` (``Context.renders``, the threads of the server's renders alone) while the loop goes on."""
    quick = render_quickly(source)
    if quick is not None:
        return quick
    return await asyncio.get_running_loop().run_in_executor(threads, render_markup, source)


def render_markup(source: str) -> str:
    """HTML for a comment body by the parser and the sanitiser: what ``render`` gives for any text."""
    return sanitise(_parser().render(source))


def _render_plain(source: str) -> str:
    """What the parser and the sanitiser make of plain prose (``_PLAIN``), without them: paragraphs at blank
    lines, a break at every other line end. Most comments are such text, and the parser costs 0.2-0.4 ms
    a comment on the event loop; ``tests/test_rendering.py`` holds the two ways to the same output."""
    paragraphs = re.split(r"\n\n+", source)
    return "\n".join("<p>" + paragraph.replace("\n", "<br>\n") + "</p>" for paragraph in paragraphs)


# The inline markup most comments use, in its simplest shapes: one word emphasised, a code span of an
# identifier's characters, one word linked to an address of plain characters. Markup that is nothing but
# these, in plain prose, renders without the parser and the sanitiser too (``_span_html``); none can open
# or close another (no star, backtick or bracket next to them), and no span may stand where the parser would
# read something else: after ``!`` (an image's marker), ``]`` or a backslash.
_SPAN = re.compile(
    r"(?<![*`!\]\\])"
    r"(?:\*(?P<em>[^\W_]+)\*(?!\*)"
    r"|`(?P<code>[A-Za-z0-9_()]+)`(?!`)"
    r"|\[(?P<label>[^\W_]+)\]\((?P<href>https?://[a-z0-9]+(?:[.-][a-z0-9]+)*\.[a-z]+(?:/[A-Za-z0-9_-]+)*/?)\))"
)


def _has_spans(source: str) -> bool:
    """Whether ``source`` is plain prose but for ``_SPAN``'s markup (each span read as a word); called only
    for text that is not plain prose as it is."""
    return bool(_PLAIN.fullmatch(_SPAN.sub("a", source)))


def _span_html(span: re.Match[str]) -> str:
    """A span as the parser and the sanitiser write it (``tests/test_rendering.py`` compares them)."""
    if span["em"] is not None:
        return f"<em>{span['em']}</em>"
    if span["code"] is not None:
        return f"<code>{span['code']}</code>"
    return f'<a href="{span["href"]}" rel="{LINK_REL}">{span["label"]}</a>'


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
        attributes={"*": set()} | {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        attribute_filter=_keep_attribute,
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
