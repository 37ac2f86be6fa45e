"""Rate limits as settings write them (``"6/minute;40/hour"``): parsed into ``Rate``s with the grammar,
windows and counter keys of the ``limits`` library, which is imported only where Redis keeps the counts.

Importing ``limits`` imports every storage backend it has and, through them, ``deprecated``, ``wrapt``
and ``importlib.metadata``: 1.5 MiB a server counting in its own memory would hold for nothing
(docs/benchmarks.md, "Memory: a server without the command line's modules and the rate-limit library").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

# A window's length in seconds by its name, as ``limits`` has them (a month is 30 days, a year 12 months).
GRANULARITIES = {
    "second": 1,
    "minute": 60,
    "hour": 60 * 60,
    "day": 60 * 60 * 24,
    "month": 60 * 60 * 24 * 30,
    "year": 60 * 60 * 24 * 30 * 12,
}
NAMESPACE = "LIMITER"  # the first part of every counter's key, as ``limits`` names it
_SEPARATORS = re.compile(r"[,;|]{1}")
_SINGLE = r"""
    \s*([0-9]+)
    \s*(/|\s*per\s*)
    \s*([0-9]+)?
    \s*([a-z]+)
    \s*
    """
_ONE = re.compile(_SINGLE, re.IGNORECASE | re.VERBOSE)
_MANY = re.compile(rf"^{_SINGLE}(:?{_SEPARATORS.pattern}{_SINGLE})*$", re.IGNORECASE | re.VERBOSE)


@dataclass(frozen=True, slots=True)
class Rate:
    """``amount`` per ``multiples`` ``granularity`` (e.g. 6 per 1 minute). What ``limits``' limiters read of
    a rate limit item (``amount``, ``key_for``, ``get_expiry``), with the same values."""

    amount: int
    multiples: int
    granularity: str  # a key of GRANULARITIES

    def get_expiry(self) -> int:
        """The window's length in seconds."""
        return GRANULARITIES[self.granularity] * self.multiples

    def key_for(self, *identifiers: str) -> str:
        """The counter's key for these identifiers: the one ``limits`` makes, so that processes of either
        kind count the same keys in Redis."""
        return "/".join((NAMESPACE, *identifiers, str(self.amount), str(self.multiples), self.granularity))

    def __str__(self) -> str:
        return f"{self.amount} per {self.multiples} {self.granularity}"


class WindowStats(NamedTuple):
    reset_time: float  # when the count next drops, seconds since the epoch
    remaining: int  # what the window allows still


def parse_rates(text: str) -> list[Rate]:
    """The rates of ``text`` (``"6/minute;40 per hour"``; ``,``, ``;`` or ``|`` between them); ValueError if
    ``limits`` would not read it."""
    if not _MANY.match(text):
        raise ValueError(f"couldn't parse rate limit string {text!r}")
    rates = []
    for part in _SEPARATORS.split(text):
        found = _ONE.match(part)
        if found is None:
            continue
        amount, _, multiples, name = found.groups()
        rates.append(Rate(int(amount), (int(multiples) if multiples else 0) or 1, _granularity(name)))
    return rates


def parse_rate(text: str) -> Rate:
    """The first rate of ``text``."""
    return parse_rates(text)[0]


def _granularity(name: str) -> str:
    name = name.lower()
    singular = name[:-1] if name.endswith("s") else name
    if singular in GRANULARITIES:
        return singular
    raise ValueError(f"no granularity matched for {name!r}")
