"""This process's rate-limit counts: sliding window counters in a dictionary, for when Redis keeps none.

The same arithmetic as the ``limits`` library's sliding window counter, which counts in Redis: a window's
count is the current fixed window's plus the previous one's, weighted by how much of it the sliding window
still covers. ``limits``' own memory storage expires counts with a timer thread, started anew whenever the
last one has run (up to a hundred threads a second under load), and each run scans every key: on a server
counting one address per like that cost more CPU than the counting. Here an expired count is dropped when
it is next read, and all expired ones in one sweep a minute, on the caller's thread. Not thread-safe:
``RateLimits`` holds its lock around every use.
"""

from __future__ import annotations

import time
from math import floor, inf

from limits import RateLimitItem
from limits.util import WindowStats

SWEEP_SECONDS = 60.0


class WindowCounts:
    """What ``RateLimits`` asks of ``limits``' ``SlidingWindowCounterRateLimiter``, counted here."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, when it expires)
        self._sweep_at = time.time() + SWEEP_SECONDS

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` if the limit allows it; False (and nothing counted) if it does not."""
        if cost > item.amount:
            return False
        now = time.time()
        if now >= self._sweep_at:
            self._sweep(now)
        expiry = item.get_expiry()
        previous, current = _window_keys(item.key_for(*identifiers), expiry, now)
        before, before_left, count, _ = self._windows(previous, current, expiry, now)
        if floor(before * before_left / expiry + count) + cost > item.amount:
            return False
        # A window's count lives for two windows: the next one weighs it as its previous.
        expires = self._counts[current][1] if count else now + 2 * expiry
        self._counts[current] = (count + cost, expires)
        return True

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Whether ``cost`` more would be allowed now (nothing counted)."""
        before, before_left, count, _ = self._sliding(item, identifiers)
        return before * before_left / item.get_expiry() + count < item.amount - cost + 1

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the count next drops, and what is left of the limit until then."""
        before, before_left, count, count_left = self._sliding(item, identifiers)
        expiry = item.get_expiry()
        remaining = max(0, item.amount - floor(before * before_left / expiry + count))
        now = time.time()
        if not (before or count):
            return WindowStats(now, remaining)
        # The previous window's weight falls by one count every expiry / before seconds.
        before_drops = before_left % (expiry / before) if before else inf
        count_drops = count_left % expiry if count else inf
        return WindowStats(now + min(before_drops, count_drops), remaining)

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        for key in _window_keys(item.key_for(*identifiers), item.get_expiry(), time.time()):
            self._counts.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts)

    def _sliding(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> tuple[int, float, int, float]:
        now, expiry = time.time(), item.get_expiry()
        previous, current = _window_keys(item.key_for(*identifiers), expiry, now)
        return self._windows(previous, current, expiry, now)

    def _windows(self, previous: str, current: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        """The previous window's count and the seconds it still weighs, the current one's and its seconds."""
        before, count = self._count(previous, now), self._count(current, now)
        before_left = (1 - (((now - expiry) / expiry) % 1)) * expiry if before else 0.0
        count_left = (1 - ((now / expiry) % 1)) * expiry + expiry
        return before, before_left, count, count_left

    def _count(self, key: str, now: float) -> int:
        found = self._counts.get(key)
        if found is None:
            return 0
        if found[1] <= now:
            del self._counts[key]
            return 0
        return found[0]

    def _sweep(self, now: float) -> None:
        self._counts = {key: found for key, found in self._counts.items() if found[1] > now}
        self._sweep_at = now + SWEEP_SECONDS


def _window_keys(key: str, expiry: int, now: float) -> tuple[str, str]:
    """The previous and the current fixed window's keys (the window's number since the epoch)."""
    return f"{key}/{int((now - expiry) / expiry)}", f"{key}/{int(now / expiry)}"
