"""Writes start on a slice of each turn of the event loop (``web/turns.py``), reads at once: a burst of
posts answered by one commit and sent again together no longer holds every reader behind all of them.

Turns are counted, not timed: with a slice of no time at all, two writes never start in the same turn."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.types import Receive, Scope, Send

from rejoinder.settings import load_settings
from rejoinder.store import db as store_db
from rejoinder.web import turns
from rejoinder.web.app import create_app
from rejoinder.web.turns import WriteTurns
from tests.helpers import LoopTurns


async def started_in(methods: list[str], slice_seconds: float = 0.0) -> list[tuple[str, int]]:
    """Send requests of these methods through ``WriteTurns`` at once, writes starting on slices of
    ``slice_seconds``: the turn each reached the app in."""
    counter = LoopTurns()
    started: list[tuple[str, int]] = []

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        started.append((scope["method"], counter.turns))

    gate = WriteTurns(app, turns.WriteSlices(slice_seconds))

    async def nothing() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def ignore(_message: object) -> None:
        pass

    await asyncio.sleep(0)  # the counter's first turn
    await asyncio.gather(
        *(gate({"type": "http", "method": method, "path": "/"}, nothing, ignore) for method in methods)
    )
    counter.stop()
    return started


async def test_writes_start_one_slice_per_turn_and_reads_at_once() -> None:
    methods = ["POST"] * 10 + ["GET"] * 5 + ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    started = await started_in(methods)
    assert sorted(method for method, _ in started) == sorted(methods)
    writes = [turn for method, turn in started if method not in turns.READS]
    reads = [turn for method, turn in started if method in turns.READS]
    assert len(set(writes)) == len(writes) == 13  # every write in a turn of its own ...
    assert max(reads) <= min(writes)  # ... and no read waited behind one


async def test_writes_within_the_slice_start_together() -> None:
    started = await started_in(["POST"] * 10, slice_seconds=60.0)
    assert len({turn for _, turn in started}) == 1


async def test_a_waiting_write_is_woken_in_its_turn_not_every_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting writes are woken in order, about as many as the slice had room for the turn before: not
    every waiting write at every turn of the loop, each looking at the clock again."""
    looks = 0
    clock = time.thread_time

    def counted() -> float:
        nonlocal looks
        looks += 1
        return clock()

    monkeypatch.setattr(turns.time, "thread_time", counted)
    writes = 30
    started = await started_in(["POST"] * writes)
    assert [turn for _, turn in started] == sorted({turn for _, turn in started})  # one a turn, in order
    assert looks <= 2 * writes  # each woken at most twice; all woken every turn: writes² / 2 looks


def test_the_app_holds_writes_to_the_slice() -> None:
    app = create_app(load_settings(environ={}))
    assert WriteTurns in [middleware.cls for middleware in app.user_middleware]


@pytest.mark.parametrize(
    ("url", "slice_seconds"),
    [
        # SQLite's batches run their statements on the loop too: a turn holds a slice of each, as long.
        ("sqlite:///rejoinder.db", store_db.LOOP_SLICE_SECONDS),
        # PostgreSQL's commit in threads; its slice was measured at 4 ms and left there.
        ("postgresql+psycopg://rejoinder@localhost/rejoinder", turns.WRITES_SLICE_SECONDS_POSTGRESQL),
    ],
)
def test_the_writes_slice_follows_the_database(url: str, slice_seconds: float) -> None:
    """On SQLite the posts' starts and a batch's statements share a turn of the loop as equals."""
    app = create_app(load_settings(environ={"REJOINDER_DATABASE_URL": url}))
    assert app.envelope.slices.slice_seconds == slice_seconds


async def test_waiting_writes_are_woken_in_turn_not_asked_every_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty writes, one a turn: each looks at the clock about twice (when it arrives, and when woken or
    woken in vain once), not once for every turn it waits (about 200 looks in all)."""
    looks = 0
    clock = turns.time.thread_time

    def counted() -> float:
        nonlocal looks
        looks += 1
        return clock()

    monkeypatch.setattr(turns.time, "thread_time", counted)
    started = await started_in(["POST"] * 20)
    assert len({turn for _, turn in started}) == 20
    assert looks <= 3 * 20


async def test_a_write_cancelled_while_waiting_holds_up_no_other() -> None:
    slices = turns.WriteSlices(0.0)
    writes = [asyncio.ensure_future(slices.start()) for _ in range(4)]
    await asyncio.sleep(0)
    assert [task.done() for task in writes] == [True, False, False, False]  # one a turn
    writes[1].cancel()  # the next in line
    await asyncio.wait_for(asyncio.gather(writes[2], writes[3]), timeout=30)
    assert writes[1].cancelled()
