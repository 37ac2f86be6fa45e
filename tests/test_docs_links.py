"""Every relative link in the README, the changelog and ``docs/`` leads somewhere: the file exists, and a
``#fragment`` names a heading (as GitHub makes its anchor) or an ``<a id>`` of the page it points to."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^()\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:id|name)=\"([^\"]+)\"")


def prose_lines(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered, lower-cased, without punctuation, spaces as
    hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = re.sub(r"<[^>]+>", "", text)
    text = CODE_SPAN.sub(r"\2", text)
    text = re.sub(r"(\*+|\b_+\b)", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(page):
        heading = HEADING.match(line)
        if heading:
            name = slug(heading.group(1))
            found.add(f"{name}-{seen[name]}" if name in seen else name)
            seen[name] = seen.get(name, 0) + 1
        found.update(HTML_ANCHOR.findall(line))
    return frozenset(found)


def links(page: Path) -> list[str]:
    targets = []
    for line in prose_lines(page):
        reference = REFERENCE.match(line)
        if reference:
            targets.append(reference.group(1))
            continue
        targets += INLINE_LINK.findall(CODE_SPAN.sub("", line))
    return targets


def broken(page: Path, target: str) -> str | None:
    """Why a link from ``page`` leads nowhere, or None."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
        return None  # another site: not checked here (no network)
    path, _, fragment = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    if not destination.exists():
        return "no such file"
    if ROOT not in destination.parents and destination != ROOT:
        return "outside the repository"
    if fragment and destination.suffix == ".md" and fragment not in anchors(destination):
        return f"no heading or <a id> #{fragment} in {destination.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [f"{target}: {why}" for target in links(page) if (why := broken(page, target))]
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Readers' log-in", "readers-log-in"),
        ("Imports (`bench/import_large.py`)", "imports-benchimport_largepy"),
        (
            "A broader prior: real blog spam from Decidim (not shipped)",
            "a-broader-prior-real-blog-spam-from-decidim-not-shipped",
        ),
        ("API and terminal", "api-and-terminal"),
        ("What *is* [kept](x.md) — and why", "what-is-kept--and-why"),
        ("Привіт, світ", "привіт-світ"),
    ],
)
def test_anchors_are_made_as_github_makes_them(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_the_checker_sees_links_and_skips_code() -> None:
    page = ROOT / "README.md"
    found = links(page)
    assert "docs/guides/scale-out.md" in found
    assert all("`" not in target for target in found)
    assert broken(page, "docs/no-such-page.md") == "no such file"
    assert broken(page, "docs/security.md#no-such-heading") is not None
    assert broken(page, "docs/security.md#readers-log-in") is None
