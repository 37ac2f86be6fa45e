"""Senders told to come back later: a per-address refusal (too many likes, previews or comments) is
remembered until its ``Retry-After`` has passed, so the same address asking again sooner is refused at the
door, before its request is routed and parsed. A flood then costs the server as little per request as a
cached read.

Only a replica of what the rate limits decided (they stay the truth, in Redis when there is one): each
process remembers its own refusals, and forgetting one only means the limits are asked again.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

MAX_REMEMBERED = 10_000  # addresses at once; past it the oldest refusal is forgotten


@dataclass(frozen=True)
class Refusal:
    until: float  # time.monotonic()
    what: str  # "too many likes from this address"
    fields: dict[str, str]
    within: str = ""  # the site it holds for, when the limit is a site's (comments); "" for every site

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.until - now))


class Refusals:
    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._refused: dict[tuple[str, str], Refusal] = {}
        self._max = max_remembered
        self._lock = threading.Lock()  # services refuse from the thread pool too

    def remember(
        self, address: str, kind: str, retry_after: int, what: str, fields: dict[str, str], within: str = ""
    ) -> None:
        """Hold ``kind`` from ``address`` refused for ``retry_after`` seconds. One refusal per address and
        kind: a second site refusing the same address replaces the first site's (which is then only asked
        of the rate limits again)."""
        if not address:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._refused) >= self._max:
                self._forget_expired(now)
            if len(self._refused) >= self._max:
                del self._refused[next(iter(self._refused))]  # the oldest: dicts keep insertion order
            self._refused.pop((address, kind), None)
            self._refused[(address, kind)] = Refusal(now + retry_after, what, fields, within)

    def active(self, address: str, kind: str) -> Refusal | None:
        """The refusal ``address`` was given for ``kind`` if it has not run out yet."""
        refusal = self._refused.get((address, kind))
        if refusal is None or refusal.until <= time.monotonic():
            return None
        return refusal

    def __len__(self) -> int:
        return len(self._refused)

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, refusal in self._refused.items() if refusal.until <= now]:
            del self._refused[key]
