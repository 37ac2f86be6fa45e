"""Labelled comment corpora (JSONL) for training and evaluating the text classifier, with label leaks removed.

Each line is a JSON object with ``text`` and ``label`` (``spam``/``ham``; the abuse corpus's
``abusive``/``ok`` count as ham: rude is not spam) and optionally ``author`` and ``url``. Dates are never
read: in the YouTube corpus whether a date is present gives the label away. The corpora in
``../shared/corpora`` carry collection artefacts that correlate with the label; ``read_corpus`` removes
the ones their READMEs document (see docs/spam.md, "Label leaks").
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SPAM_LABELS = frozenset({"spam", "scam", "1"})
HAM_LABELS = frozenset({"ham", "real", "0", "ok", "abusive"})


class CorpusError(ValueError):
    """A corpus file that cannot be read as labelled comments."""


@dataclass(frozen=True, slots=True)
class CorpusItem:
    """One labelled comment."""

    id: str
    text: str
    is_spam: bool
    corpus: str  # the file's stem, e.g. "youtube-spam-collection"
    author: str = ""
    url: str = ""
    label: str = ""  # the label as written in the file


# Artefacts of how each public corpus was collected, keyed by the prefix of its item ids.
_SMS_PLACEHOLDER = re.compile(r"&lt;(?:#|DECIMAL|TIME|URL|EMAIL)&gt;")
_TWEET_QUOTE = re.compile(r"(?:\bRT\s+)?@\w+:")
_TWEET_LINK = re.compile(r"https?://t\.co/\w*")


def _instagram(text: str) -> str:
    # The project lower-cased its 3,444 rated comments but not the 142 reported ones, almost all spam:
    # upper case alone would identify them. Lower-case the lot.
    return text.lower()


def _sms(text: str) -> str:
    # "&lt;#&gt;" and friends are where the NUS SMS corpus (ham only) removed numbers, times and addresses.
    return _SMS_PLACEHOLDER.sub("", text)


def _tweet(text: str) -> str:
    # Retweet/quote prefixes and t.co media links are Twitter furniture; as ham they would teach the
    # model that links are harmless. The words, rude or not, are what the abuse corpus is here for.
    return _TWEET_LINK.sub("", _TWEET_QUOTE.sub("", text))


def _decidim_comment(text: str) -> str:
    # Decidim's export put the commenter's display name before each comment ("Raphael I really enjoy…"):
    # fifty comments by one "Raphael" would teach that a first name is spam. A name has at least one word,
    # so the first word goes; a surname after it stays (a known, small leak: see docs/spam.md).
    parts = text.split(None, 1)
    return parts[1] if len(parts) == 2 else ""


_FIXES = {
    "ig:": _instagram,
    "ig-reported:": _instagram,
    "sms:": _sms,
    "davidson:": _tweet,
    "decidim-spam-comments:": _decidim_comment,
}


def clean_text(item_id: str, text: str) -> str:
    """The text with its corpus's known leaks removed (U+FEFF and edge whitespace everywhere)."""
    text = text.replace("\ufeff", "").strip()
    for prefix, fix in _FIXES.items():
        if item_id.startswith(prefix):
            return fix(text).strip()
    return text


def read_corpus(path: str | Path) -> list[CorpusItem]:
    """Read a JSONL corpus; raise ``CorpusError`` naming the line when one is not a labelled comment."""
    path = Path(path)
    name = path.name.removesuffix(".jsonl")
    items = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                label = str(row["label"]).strip().lower()
                text = row["text"]
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"{path}:{number}: not a JSON object with text and label ({exc})") from None
            if label not in SPAM_LABELS | HAM_LABELS or not isinstance(text, str):
                raise CorpusError(f"{path}:{number}: label must be spam or ham, not {row['label']!r}")
            item_id = str(row.get("id") or f"{name}:{number}")
            items.append(
                CorpusItem(
                    id=item_id,
                    text=clean_text(item_id, text),
                    is_spam=label in SPAM_LABELS,
                    corpus=name,
                    author=str(row.get("author") or ""),
                    url=str(row.get("url") or ""),
                    label=label,
                )
            )
    return items


def read_corpora(paths: Iterable[str | Path]) -> list[CorpusItem]:
    return [item for path in paths for item in read_corpus(path)]


def corpus_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand directories into the ``*.jsonl`` files below them, sorted; files are kept as given."""
    found: list[Path] = []
    for p in map(Path, paths):
        found.extend(sorted(p.rglob("*.jsonl")) if p.is_dir() else [p])
    return found


_SPACE = re.compile(r"\s+")


def duplicate_key(text: str) -> str:
    """Texts equal up to case and whitespace are the same comment (a spam campaign posts it many times)."""
    return _SPACE.sub(" ", text.replace("\ufeff", "")).strip().casefold()


def half(items: Iterable[CorpusItem], which: int) -> list[CorpusItem]:
    """One of two fixed halves of a corpus (1: the items whose id's crc32 is even, 2: odd), the same on
    every machine: rules are tuned by reading one half and measured on the other, which nobody read."""
    if which not in (1, 2):
        raise ValueError("a corpus has halves 1 and 2")
    return [item for item in items if zlib.crc32(item.id.encode("utf-8")) % 2 == which - 1]


def deduplicate(items: Iterable[CorpusItem]) -> list[CorpusItem]:
    """Keep the first of each group of duplicates (within a corpus), as the corpus READMEs count them."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in items:
        key = (item.corpus, duplicate_key(item.text))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def sample(items: Sequence[CorpusItem], n: int, seed: int) -> list[CorpusItem]:
    """A deterministic sample of ``n`` items, in corpus order (stable across Python versions)."""
    if n >= len(items):
        return list(items)
    ranked = sorted(range(len(items)), key=lambda i: _mix(seed, i))
    return [items[i] for i in sorted(ranked[:n])]


def shuffled(items: Sequence[CorpusItem], seed: int) -> list[CorpusItem]:
    """The items in a seeded random order that is the same on every machine and Python version."""
    return [items[i] for i in sorted(range(len(items)), key=lambda i: _mix(seed, i))]


def _mix(seed: int, i: int) -> int:
    # splitmix64: a fixed, documented shuffle; random.Random's sample() may change between versions.
    z = (seed * 0x9E3779B97F4A7C15 + i + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)
