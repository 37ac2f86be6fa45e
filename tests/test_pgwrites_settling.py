"""PostgreSQL's writers on the event loop go on in the turn of the loop that settles their batch, not in
the turn after it (``store/settling.py``), while few writes of their lane are in flight; beside more, a turn
later. Cancelled, or set any other way, their futures behave as any asyncio future does."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Connection, insert

import rejoinder.store.db as store_db
from rejoinder.store.db import Database
from rejoinder.store.schema import server_secrets
from rejoinder.store.settling import SETTLED_AT_ONCE, WriterFuture


class Turns:
    """Counts the turns of the running loop: a callback that schedules itself again once a turn."""

    def __init__(self) -> None:
        self.count = 0
        self.running = True
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        if self.running:
            asyncio.get_running_loop().call_soon(self._tick)


def piece(name: str, hold: threading.Event | None = None) -> Any:
    def work(conn: Connection) -> str:
        conn.execute(insert(server_secrets).values(name=name, value="v"))
        if hold is not None:
            hold.wait(10)
        return name

    return work


async def settled_and_went_on(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch, writers: int
) -> tuple[list[int], list[tuple[int, bool]]]:
    """The turns in which batches were settled, and for each writer the turn it went on in and whether its
    answer may leave at once (``SETTLED_AT_ONCE``)."""
    turns = Turns()
    settled_in: list[int] = []
    settle = store_db._settle

    def settle_counted(batch: Any, at_once: bool = False) -> None:
        settled_in.append(turns.count)
        settle(batch, at_once)

    monkeypatch.setattr(store_db, "_settle", settle_counted)

    async def write(name: str) -> tuple[int, bool]:
        assert await pg_db.transaction_async(piece(name)) == name
        return turns.count, SETTLED_AT_ONCE.get()

    try:
        went_on = await asyncio.gather(*(write(f"piece-wakeup-{n}") for n in range(writers)))
    finally:
        turns.running = False
    return settled_in, list(went_on)


async def test_writers_go_on_in_the_turn_their_batch_is_settled(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled_in, went_on = await settled_and_went_on(pg_db, monkeypatch, 4)
    assert settled_in and {turn for turn, _ in went_on} <= set(settled_in)
    assert all(at_once for _, at_once in went_on)
    assert pg_db._writes.in_flight == 0


async def test_beside_many_writes_in_flight_writers_go_on_a_turn_later(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_db._writes, "settle_at_once_in_flight", 3)
    hold = threading.Event()
    held = [
        asyncio.ensure_future(pg_db.transaction_async(piece(f"piece-wakeup-held-{n}", hold)))
        for n in range(2)
    ]
    await asyncio.sleep(0.05)  # the committer holds them open; the next writes queue behind them
    waiting = asyncio.ensure_future(settled_and_went_on(pg_db, monkeypatch, 4))
    await asyncio.sleep(0.05)
    assert pg_db._writes.in_flight == 6
    hold.set()
    await asyncio.gather(*held)
    settled_in, went_on = await waiting
    assert settled_in and not {turn for turn, _ in went_on} & set(settled_in)
    assert not any(at_once for _, at_once in went_on)
    assert pg_db._writes.in_flight == 0


async def test_small_writes_go_on_a_turn_after_their_batch_is_settled(pg_db: Database) -> None:
    turns = Turns()

    async def write(name: str) -> tuple[int, bool]:
        assert await pg_db.transaction_async(piece(name), small=True) == name
        return turns.count, SETTLED_AT_ONCE.get()

    try:
        went_on = await asyncio.gather(*(write(f"piece-wakeup-small-{n}") for n in range(3)))
    finally:
        turns.running = False
    assert not any(at_once for _, at_once in went_on)
    assert pg_db._small_writes.in_flight == 0


async def test_a_cancelled_writer_hears_of_it_and_its_write_still_commits(pg_db: Database) -> None:
    hold = threading.Event()
    writing = asyncio.ensure_future(pg_db.transaction_async(piece("piece-wakeup-cancelled", hold)))
    await asyncio.sleep(0.05)  # its committer holds the batch open
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    hold.set()
    # The next write's batch comes after the held one (the committer keeps going until the queue is empty,
    # or another starts), and both rows are there once it has committed.
    assert await pg_db.transaction_async(piece("piece-wakeup-after")) == "piece-wakeup-after"
    for _ in range(500):
        with pg_db.read() as conn:
            names = set(conn.execute(server_secrets.select()).scalars())
        if "piece-wakeup-cancelled" in names:
            break
        await asyncio.sleep(0.01)
    assert {"piece-wakeup-cancelled", "piece-wakeup-after"} <= names


async def test_a_writer_future_set_elsewhere_wakes_its_task_in_the_next_turn() -> None:
    loop = asyncio.get_running_loop()
    future: WriterFuture[int] = WriterFuture(loop=loop)
    order: list[str] = []

    async def waiter() -> None:
        order.append(f"woke with {await future}")

    task = loop.create_task(waiter())
    await asyncio.sleep(0)

    def set_it() -> None:
        loop.call_soon(order.append, "a callback of the next turn")
        future.set_result(3)
        order.append("set")

    loop.call_soon(set_it)
    await task
    assert order == ["set", "a callback of the next turn", "woke with 3"]


async def test_a_writer_future_that_times_out_is_cancelled() -> None:
    future: WriterFuture[int] = WriterFuture(loop=asyncio.get_running_loop())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(future, 0.01)
    assert future.cancelled()
