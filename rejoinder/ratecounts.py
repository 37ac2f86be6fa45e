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

from rejoinder.rates import Rate, WindowStats

SWEEP_SECONDS = 60.0


class WindowCounts:
    """What ``RateLimits`` asks of ``limits``' ``SlidingWindowCounterRateLimiter``, counted here.

    Counts are kept by fixed window: one table per limit key (without its last identifier, the address or
    author counted) and window number, from that identifier to its count. A window's table is needed until
    the next window ends, and then goes whole, so no count carries an expiry or a key of its own: 70 bytes
    a count instead of 225 (a string of the limit, the identifier and the window, a tuple and a float each),
    9.6 → 3.0 MiB for the hour's counts of 30,000 comments from the shared harness's addresses
    (docs/benchmarks.md, "Memory: rate-limit counts by window, argon2 and ALTCHA on first use").
    """

    def __init__(self) -> None:
        # (limit key, window number) -> (when the table may go, identifier -> count)
        self._windows: dict[tuple[str, int], tuple[float, dict[str, int]]] = {}
        self._sweep_at = time.time() + SWEEP_SECONDS

    def hit(self, item: Rate, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` if the limit allows it; False (and nothing counted) if it does not."""
        if cost > item.amount:
            return False
        now = time.time()
        if now >= self._sweep_at:
            self._sweep(now)
        expiry = item.get_expiry()
        key, who = _split(item, identifiers)
        current = int(now / expiry)
        before, before_left, count, _ = self._windows_of(key, who, current, expiry, now)
        if floor(before * before_left / expiry + count) + cost > item.amount:
            return False
        window = self._windows.get((key, current))
        if window is None:
            # A window's counts live until the next window ends: that one weighs them as its previous.
            window = self._windows[(key, current)] = ((current + 2) * expiry, {})
        window[1][who] = count + cost
        return True

    def test(self, item: Rate, *identifiers: str, cost: int = 1) -> bool:
        """Whether ``cost`` more would be allowed now (nothing counted)."""
        before, before_left, count, _ = self._sliding(item, identifiers)
        return before * before_left / item.get_expiry() + count < item.amount - cost + 1

    def get_window_stats(self, item: Rate, *identifiers: str) -> WindowStats:
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

    def clear(self, item: Rate, *identifiers: str) -> None:
        key, who = _split(item, identifiers)
        now, expiry = time.time(), item.get_expiry()
        for number in (int((now - expiry) / expiry), int(now / expiry)):
            window = self._windows.get((key, number))
            if window is not None:
                window[1].pop(who, None)

    def __len__(self) -> int:
        return sum(len(counts) for _, counts in self._windows.values())

    def _sliding(self, item: Rate, identifiers: tuple[str, ...]) -> tuple[int, float, int, float]:
        now, expiry = time.time(), item.get_expiry()
        key, who = _split(item, identifiers)
        return self._windows_of(key, who, int(now / expiry), expiry, now)

    def _windows_of(
        self, key: str, who: str, current: int, expiry: int, now: float
    ) -> tuple[int, float, int, float]:
        """The previous window's count and the seconds it still weighs, the current one's and its seconds."""
        before, count = self._count(key, who, int((now - expiry) / expiry)), self._count(key, who, current)
        before_left = (1 - (((now - expiry) / expiry) % 1)) * expiry if before else 0.0
        count_left = (1 - ((now / expiry) % 1)) * expiry + expiry
        return before, before_left, count, count_left

    def _count(self, key: str, who: str, number: int) -> int:
        window = self._windows.get((key, number))
        return 0 if window is None else window[1].get(who, 0)

    def _sweep(self, now: float) -> None:
        self._windows = {key: window for key, window in self._windows.items() if window[0] > now}
        self._sweep_at = now + SWEEP_SECONDS


def _split(item: Rate, identifiers: tuple[str, ...]) -> tuple[str, str]:
    """The limit's key for all but the last identifier, and that last one (what is counted: an address,
    an author)."""
    if not identifiers:
        return item.key_for(), ""
    return item.key_for(*identifiers[:-1]), identifiers[-1]
