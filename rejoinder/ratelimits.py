"""Rate limits per client address, per identity and per thread (in memory: one process's view)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter


@dataclass(frozen=True)
class Exceeded:
    scope: str  # "ip", "identity" or "thread"
    limit: str  # e.g. "6 per 1 minute"
    retry_after: int  # seconds


class RateLimits:
    def __init__(self) -> None:
        # Two counters per key and window, however high the limit: a moving window would keep (and
        # rescan) one timestamp per comment.
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def hit(self, site_id: int, checks: list[tuple[str, str, str]]) -> Exceeded | None:
        """Count one comment against each (scope, rule, who); the first limit it would break, if any.

        Nothing is counted when a limit is broken, so a refused flood does not lock out its sender longer.
        """
        parsed = [
            (scope, item, who)
            for scope, rule, who in checks
            if rule != "off" and who
            for item in parse_many(rule)
        ]
        for scope, item, who in parsed:
            if not self._limiter.test(item, str(site_id), scope, who):
                reset = self._limiter.get_window_stats(item, str(site_id), scope, who).reset_time
                return Exceeded(scope, str(item), max(1, int(reset - time.time()) + 1))
        for scope, item, who in parsed:
            self._limiter.hit(item, str(site_id), scope, who)
        return None
