"""Where the loop's batches COMMIT on SQLite (``CommitPace``): on the loop while most recent COMMITs were
quick, in a thread for a while once most were slow, and back on the loop after one quick try."""

from __future__ import annotations

import pytest

from rejoinder.store.commit_pace import REMEMBERED, SLOW_ENOUGH, CommitPace

QUICK = 0.004
FAST, SLOW = 0.001, 0.030
IN_THREAD_FOR = 10.0


def noted(pace: CommitPace, durations: list[float], now: float = 0.0) -> CommitPace:
    for seconds in durations:
        pace.note(seconds, QUICK, now)
    return pace


def test_a_quick_disk_commits_on_the_loop() -> None:
    pace = noted(CommitPace(IN_THREAD_FOR), [FAST] * 20)
    assert pace.on_loop(QUICK, now=0.0)


def test_one_slow_fsync_now_and_then_keeps_the_commits_on_the_loop() -> None:
    """A shared disk's occasional slow fsync: fewer than ``SLOW_ENOUGH`` of any ``REMEMBERED`` in a row."""
    pattern = [SLOW] * (SLOW_ENOUGH - 1) + [FAST] * (REMEMBERED - SLOW_ENOUGH + 1)
    pace = CommitPace(IN_THREAD_FOR)
    for seconds in pattern * 10:
        pace.note(seconds, QUICK, 0.0)
        assert pace.on_loop(QUICK, now=0.0)


def test_a_slow_disk_sends_the_commits_to_a_thread_for_a_while() -> None:
    pace = noted(CommitPace(IN_THREAD_FOR), [FAST, SLOW, FAST] + [SLOW] * (SLOW_ENOUGH - 1), now=100.0)
    assert not pace.on_loop(QUICK, now=100.0)
    assert not pace.on_loop(QUICK, now=100.0 + IN_THREAD_FOR - 0.1)
    assert pace.on_loop(QUICK, now=100.0 + IN_THREAD_FOR)  # then the loop tries again


def test_a_slow_try_goes_back_to_the_thread_at_once() -> None:
    """Still slow: one COMMIT on the loop per ``IN_THREAD_FOR``, not ``SLOW_ENOUGH`` of them."""
    pace = noted(CommitPace(IN_THREAD_FOR), [SLOW] * SLOW_ENOUGH)
    tried = IN_THREAD_FOR
    assert pace.on_loop(QUICK, now=tried)
    pace.note(SLOW, QUICK, tried)
    assert not pace.on_loop(QUICK, now=tried)
    assert pace.on_loop(QUICK, now=tried + IN_THREAD_FOR)


def test_a_quick_try_forgets_the_slow_commits_before_it() -> None:
    pace = noted(CommitPace(IN_THREAD_FOR), [SLOW] * REMEMBERED)
    pace.note(FAST, QUICK, IN_THREAD_FOR)
    pace.note(SLOW, QUICK, IN_THREAD_FOR)  # one slow fsync after the disk came back
    assert pace.on_loop(QUICK, now=IN_THREAD_FOR)


@pytest.mark.parametrize("durations", [[], [FAST] * 10])
def test_quick_zero_sends_every_commit_to_a_thread(durations: list[float]) -> None:
    pace = noted(CommitPace(IN_THREAD_FOR), durations)
    assert not pace.on_loop(0.0, now=0.0)
