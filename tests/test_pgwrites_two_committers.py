"""PostgreSQL's posts commit two batches at once: one batch's round trips and fsync overlap the next one's
statements, and the posts arriving while both commit wait to form the batch after. With four committers,
at 8 writers a batch held 1.1-1.4 posts and each post paid a batch's costs; with one, no batch's round
trips would overlap another's statements (docs/benchmarks.md, "PostgreSQL writes beside readers: a reply's
parent in its batch's lookup, two committers")"""

from __future__ import annotations

import asyncio
import threading

import pytest

from rejoinder.context import Context
from rejoinder.store.db import Database
from tests.test_pgwrites_committers import piece, stored_names, wait_blocking


@pytest.fixture
def db(ctx: Context, backend: str) -> Database:
    if backend == "sqlite":
        pytest.skip("SQLite has one writer: the loop's batches commit one after another")
    return ctx.db


async def test_two_batches_of_posts_commit_at_once_and_a_third_waits_for_one_of_them(db: Database) -> None:
    release = threading.Event()
    ran: list[str] = []
    busy = []
    try:
        for n in range(2):  # one at a time, each held open: both run, a committer each
            held = piece(f"piece-busy-{n}", ran, hold=release)
            busy.append(asyncio.ensure_future(db.transaction_async(held)))
            await asyncio.sleep(0)  # queued
            assert wait_blocking(lambda n=n: len(ran) > n), f"batch {n + 1} waits for another to commit"
        third = asyncio.ensure_future(db.transaction_async(piece("piece-third", ran)))
        await asyncio.sleep(0)  # queued: no committer is free to take it
        assert not wait_blocking(lambda: len(ran) > 2, seconds=0.3)
    finally:
        release.set()
    await asyncio.gather(third, *busy)
    assert ran == ["piece-busy-0", "piece-busy-1", "piece-third"]
    assert stored_names(db) == set(ran)
