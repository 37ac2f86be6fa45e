"""Labelled corpora that live outside the repository: where each is published, the sha256 of every file,
its licence, and how its files become a JSONL corpus that ``rejoinder spam train`` and ``eval`` read.

The repository keeps the recipe, never the data: ``rejoinder spam fetch NAME`` downloads the pinned files
(or copies them from a directory that already holds them), refuses any whose sha256 differs, and writes
``NAME.jsonl`` into a cache directory, the same bytes on every machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


class SourceError(ValueError):
    """A source that is unknown, cannot be fetched, or whose files are not the pinned ones."""


@dataclass(frozen=True, slots=True)
class PinnedFile:
    """One published file, pinned by its content: a different byte anywhere is refused."""

    name: str  # the file's name in the cache directory
    url: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled comment read from a source's files, before it becomes a JSONL line."""

    id: str
    text: str
    label: str


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # the corpus name: its JSONL file is NAME.jsonl
    description: str
    licence: str
    files: tuple[PinnedFile, ...]
    read: Callable[[dict[str, bytes]], Iterator[Row]]  # the verified files' bytes → labelled rows


def _decidim_rows(files: dict[str, bytes]) -> Iterator[Row]:
    # Lines are "label;text" with no quoting (texts hold unbalanced quotes), so split on the first ';'.
    for name, data in files.items():
        prefix = name.removesuffix(".csv").replace("_", "-")
        for number, line in enumerate(io.StringIO(data.decode("utf-8"), newline=None), 1):
            label, sep, text = line.rstrip("\n").partition(";")
            if sep and label in ("spam", "ham") and text.strip():
                yield Row(f"decidim-{prefix}:{number}", text, label)


_DECIDIM = "https://raw.githubusercontent.com/decidim/decidim/d587f3c7ec9049270eeb15d120fedf6a201ab2ee/decidim-ai/data/"

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source(
            name="decidim-spam",
            description="Spam hidden or blocked by moderators of Decidim platforms, up to 2023: 104 "
            "comments and 230 profile texts of blocked accounts (SEO praise with links, fake support "
            "lines, essay and assignment services, escorts, casinos, cracked software; English and nine "
            "other languages). Spam only. Shipped with Decidim's decidim-ai module in July 2023 and "
            "removed from it in October 2024; pinned at commit d587f3c.",
            licence="AGPL-3.0 (the Decidim repository's licence; see docs/spam.md)",
            files=(
                PinnedFile(
                    "spam_comments.csv",
                    _DECIDIM + "spam_comments.csv",
                    "7e74af4f0e95b146437841ab6960cad1494516b664f51a4031bccc4329a2541f",
                ),
                PinnedFile(
                    "blocked_accounts.csv",
                    _DECIDIM + "blocked_accounts.csv",
                    "758eb985399d5ab3184787ce457f9d4197051ee5ccd98de3955ca1e78eb8fa7b",
                ),
            ),
            read=_decidim_rows,
        ),
    )
}


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/rejoinder/corpora``, by default ``~/.cache/rejoinder/corpora``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rejoinder" / "corpora"


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise SourceError(f"no corpus source {name!r}; known: {', '.join(sorted(SOURCES))}") from None


Download = Callable[[str], bytes]


def _download(url: str) -> bytes:
    import urllib.request  # http.client and ssl, for the one command that downloads

    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - pinned https URLs only
        data: bytes = response.read()
        return data


def _verified(pinned: PinnedFile, data: bytes) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != pinned.sha256:
        raise SourceError(f"{pinned.name}: sha256 {digest}, not the pinned {pinned.sha256}; refusing it")
    return data


def fetch(src: Source, cache: Path, *, local: Path | None = None, download: Download = _download) -> Path:
    """Bring the source's pinned files into ``cache`` (from ``local`` when given, else from their URLs),
    verify each, and write ``cache/NAME.jsonl``; return its path. Files already cached are re-verified,
    not downloaded again."""
    cache.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    for pinned in src.files:
        target = cache / pinned.name
        if target.exists():
            data = target.read_bytes()
        elif local is not None:
            try:
                data = (local / pinned.name).read_bytes()
            except OSError as exc:
                raise SourceError(f"{pinned.name}: not in {local} ({exc.strerror})") from None
        else:
            try:
                data = download(pinned.url)
            except OSError as exc:
                raise SourceError(f"{pinned.name}: cannot download {pinned.url} ({exc})") from None
        files[pinned.name] = _verified(pinned, data)
        if not target.exists():
            target.write_bytes(data)
    out = cache / f"{src.name}.jsonl"
    rows = (
        json.dumps({"id": r.id, "text": r.text, "label": r.label}, ensure_ascii=False)
        for r in src.read(files)
    )
    out.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return out


def describe(src: Source) -> str:
    """The source in a few lines, for ``rejoinder spam fetch --list``."""
    pins = "\n".join(f"    {p.name}  sha256 {p.sha256}\n      {p.url}" for p in src.files)
    return f"{src.name}: {src.description}\n  licence: {src.licence}\n{pins}"
