"""This process's rate-limit counts (``ratecounts.WindowCounts``) answer exactly what the ``limits``
library's sliding window counter answers over its own memory storage, which Redis deployments use."""

from __future__ import annotations

import types

import limits.storage.memory
import limits.strategies
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from rejoinder import ratecounts
from rejoinder.ratecounts import WindowCounts
from rejoinder.rates import parse_rate

RULES = ["5/minute", "2/10 seconds", "3/hour"]
ITEMS = [parse_rate(rule) for rule in RULES]
THEIR_ITEMS = [parse(rule) for rule in RULES]

step = st.tuples(
    st.one_of(st.floats(0, 3), st.floats(0, 45)),  # seconds since the step before
    st.sampled_from(["hit", "hit", "hit", "test", "stats", "stats", "clear"]),
    st.integers(min_value=0, max_value=len(ITEMS) - 1),
    st.sampled_from(["a", "b"]),
    st.integers(min_value=1, max_value=3),  # cost
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    fake = types.SimpleNamespace(time=clock.time)
    for module in (ratecounts, limits.storage.memory, limits.strategies):
        monkeypatch.setattr(module, "time", fake)
    return clock


# The clock is set anew at the start of every example.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=60))
def test_the_same_answers_as_the_limits_library(
    clock: Clock, steps: list[tuple[float, str, int, str, int]]
) -> None:
    clock.now = 1_800_000_000.0 + 0.37  # not on a window's edge
    ours, theirs = WindowCounts(), SlidingWindowCounterRateLimiter(MemoryStorage())
    for elapsed, op, index, who, cost in steps:
        clock.now += elapsed
        item, their_item = ITEMS[index], THEIR_ITEMS[index]
        if op == "hit":
            assert ours.hit(item, who, cost=cost) == theirs.hit(their_item, who, cost=cost)
        elif op == "test":
            assert ours.test(item, who, cost=cost) == theirs.test(their_item, who, cost=cost)
        elif op == "stats":
            mine, reference = ours.get_window_stats(item, who), theirs.get_window_stats(their_item, who)
            assert mine.remaining == reference.remaining
            assert mine.reset_time == pytest.approx(reference.reset_time, abs=1e-6)
        else:
            ours.clear(item, who)
            theirs.clear(their_item, who)


def test_expired_counts_are_swept(clock: Clock) -> None:
    counts = WindowCounts()
    for who in range(100):
        assert counts.hit(ITEMS[1], str(who))
    assert len(counts) == 100
    clock.now += ratecounts.SWEEP_SECONDS + 1
    assert counts.hit(ITEMS[1], "late")
    assert len(counts) == 1
