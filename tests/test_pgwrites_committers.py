"""PostgreSQL's committers of the event loop's writes: a committer thread starts, commits, and goes on to
the writes queued meanwhile without waiting for a turn of the loop; the writes that queued while every
committer was busy (the posts' lane has one) wait, and go together in the next batch, not shared out
among the busy ones; and likes queue apart, for committers of their own."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sqlalchemy import Connection, insert, select

from rejoinder.store.db import POSTGRES_COMMITTERS, Database
from rejoinder.store.schema import server_secrets

QUEUED = 6


def stored_names(db: Database) -> set[str]:
    with db.read() as conn:
        names = conn.execute(select(server_secrets.c.name).where(server_secrets.c.name.like("piece-%")))
        return set(names.scalars())


def piece(name: str, ran: list[str], *, hold: threading.Event | None = None) -> Any:
    """Work that inserts a row, notes that it ran, waits for ``hold`` if given, and returns its
    transaction's id."""

    def work(conn: Connection) -> int:
        conn.execute(insert(server_secrets).values(name=name, value="v"))
        ran.append(name)
        if hold is not None:
            hold.wait(10)
        return int(conn.exec_driver_sql("SELECT txid_current()").scalar_one())

    return work


def wait_blocking(condition: Any, seconds: float = 30.0) -> bool:
    """Wait on the loop's own thread, holding the loop as a long turn of readers would (``seconds`` only
    keeps a broken run from hanging)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


async def test_a_write_commits_without_a_turn_of_the_loop(pg_db: Database) -> None:
    ran: list[str] = []
    writing = asyncio.ensure_future(pg_db.transaction_async(piece("piece-alone", ran)))
    await asyncio.sleep(0)  # the writer queues its write, and nothing more runs on the loop
    assert wait_blocking(lambda: ran == ["piece-alone"])
    await writing
    assert stored_names(pg_db) == {"piece-alone"}


async def test_writes_queued_while_every_committer_is_busy_commit_together(pg_db: Database) -> None:
    release = threading.Event()
    ran: list[str] = []
    busy = []
    for n in range(POSTGRES_COMMITTERS):  # one batch a committer, each held open
        busy.append(
            asyncio.ensure_future(pg_db.transaction_async(piece(f"piece-busy-{n}", ran, hold=release)))
        )
        while len(ran) <= n:
            await asyncio.sleep(0.002)
    names = [f"piece-queued-{n}" for n in range(QUEUED)]
    queued = [asyncio.ensure_future(pg_db.transaction_async(piece(name, ran))) for name in names]
    await asyncio.sleep(0.05)  # every one of them queued
    assert len(ran) == POSTGRES_COMMITTERS  # they wait: no committer beyond the lane's was started
    release.set()
    # The busy committers go on to the queued writes with the loop held: none waits for a turn of it.
    assert wait_blocking(lambda: len(ran) == POSTGRES_COMMITTERS + QUEUED)
    transactions = await asyncio.gather(*queued)
    assert len(set(transactions)) == 1  # the first committer free took them all
    await asyncio.gather(*busy)
    assert stored_names(pg_db) == {f"piece-busy-{n}" for n in range(POSTGRES_COMMITTERS)} | set(names)


async def test_a_like_does_not_wait_for_a_batch_of_posts(pg_db: Database) -> None:
    release = threading.Event()
    ran: list[str] = []
    try:
        busy = asyncio.ensure_future(pg_db.transaction_async(piece("piece-post", ran, hold=release)))
        await asyncio.sleep(0)
        assert wait_blocking(lambda: ran == ["piece-post"])
        like = asyncio.ensure_future(pg_db.transaction_async(piece("piece-like", ran), small=True))
        await asyncio.sleep(0)  # queued in the likes' lane, whose committer starts at once
        assert wait_blocking(lambda: "piece-like" in ran)
        await like  # committed while the posts' batch is still held open
        assert not busy.done()
    finally:
        release.set()
    await busy
    assert stored_names(pg_db) == {"piece-post", "piece-like"}
