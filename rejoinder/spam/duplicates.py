"""Near-duplicates across threads: the same message pasted under many articles is a spam campaign."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import deque
from dataclasses import dataclass

from rejoinder.spam.verdict import Evidence

BITS = 64
MAX_DISTANCE = 3  # differing bits of two 64-bit SimHashes still called "the same text"
MIN_WORDS = 8  # short replies ("thanks!", "great post") repeat innocently
_WORD = re.compile(r"\w+")


def fingerprint(text: str) -> int | None:
    """SimHash over word 3-shingles as a signed 64-bit integer (fits a BIGINT), or None if too short."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) < MIN_WORDS:
        return None
    digests = b"".join(
        hashlib.blake2b(" ".join(words[i : i + 3]).encode(), digest_size=8).digest()
        for i in range(len(words) - 2)
    )
    # Imported here: a server whose sites have the spam filter off never needs numpy (12 MB resident).
    import numpy as np

    # Each bit of the fingerprint is the majority vote of that bit over the shingles' hashes.
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8), axis=1)
    majority = bits.sum(axis=0) * 2 > len(bits)
    return int.from_bytes(np.packbits(majority).tobytes(), "big", signed=True)


@dataclass(frozen=True, slots=True)
class Seen:
    fingerprint: int
    comment_id: int
    thread_id: int
    spam: bool


class DuplicateIndex:
    """Recent fingerprints of one site, banded so a lookup touches only candidates.

    Two fingerprints within ``MAX_DISTANCE`` bits share at least one of four 16-bit bands exactly.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._order: deque[Seen] = deque()
        self._bands: list[dict[int, list[Seen]]] = [{} for _ in range(4)]
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._order)

    def add(self, seen: Seen) -> None:
        self._order.append(seen)
        for band, key in zip(self._bands, _band_keys(seen.fingerprint), strict=True):
            band.setdefault(key, []).append(seen)
        if len(self._order) > self._capacity:
            self._forget(self._order.popleft())

    def mark(self, comment_id: int, fingerprint: int, spam: bool) -> None:
        """Record a moderator's decision on an indexed comment."""
        for band, key in zip(self._bands, _band_keys(fingerprint), strict=True):
            entries = band.get(key, [])
            for i, seen in enumerate(entries):
                if seen.comment_id == comment_id:
                    entries[i] = Seen(seen.fingerprint, comment_id, seen.thread_id, spam)

    def near(self, fingerprint: int) -> list[Seen]:
        found: dict[int, Seen] = {}
        for band, key in zip(self._bands, _band_keys(fingerprint), strict=True):
            for seen in band.get(key, ()):
                if ((seen.fingerprint ^ fingerprint) & (2**BITS - 1)).bit_count() <= MAX_DISTANCE:
                    found[seen.comment_id] = seen
        return list(found.values())

    def _forget(self, old: Seen) -> None:
        for band, key in zip(self._bands, _band_keys(old.fingerprint), strict=True):
            entries = band.get(key, [])
            entries[:] = [s for s in entries if s.comment_id != old.comment_id]
            if not entries:
                band.pop(key, None)


def _band_keys(fingerprint: int) -> tuple[int, int, int, int]:
    unsigned = fingerprint & (2**BITS - 1)
    return (unsigned & 0xFFFF, unsigned >> 16 & 0xFFFF, unsigned >> 32 & 0xFFFF, unsigned >> 48)


def judge(matches: list[Seen], thread_id: int | None) -> list[Evidence]:
    spam = [m for m in matches if m.spam]
    elsewhere = {m.thread_id for m in matches if m.thread_id != thread_id}
    found: list[Evidence] = []
    if spam:
        n = len(spam)
        weight = min(3.0 + 0.5 * (n - 1), 6.0)
        found.append(Evidence("duplicates", weight, f"text resembles {_comments(n)} marked as spam"))
    if elsewhere:
        n = len(elsewhere)
        weight = min(1.0 + 0.7 * (n - 1), 4.0)
        threads = "another thread" if n == 1 else f"{n} other threads"
        found.append(Evidence("duplicates", weight, f"the same text was posted in {threads}"))
    return found


def _comments(n: int) -> str:
    return "1 comment" if n == 1 else f"{n} comments"
