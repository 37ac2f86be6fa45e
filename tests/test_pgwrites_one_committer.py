"""PostgreSQL's posts commit one batch at a time: the posts arriving while a batch commits wait and form the
next batch together, sharing its thread's wake-ups, round trips and publish. With two committers each
batch's costs fell on fewer posts, and on a quiet machine one committer made more writes with 8 and 32
writers (docs/benchmarks.md, "one committer on a quiet machine"). Likes queue apart, for committers of
their own: a held batch of posts does not hold them."""

from __future__ import annotations

import asyncio
import threading

from rejoinder.store.db import Database
from tests.test_pgwrites_committers import piece, stored_names, wait_blocking


async def test_posts_arriving_while_a_batch_commits_wait_and_form_the_next_batch(pg_db: Database) -> None:
    release = threading.Event()
    ran: list[str] = []
    try:
        busy = asyncio.ensure_future(pg_db.transaction_async(piece("piece-busy", ran, hold=release)))
        await asyncio.sleep(0)  # queued
        assert wait_blocking(lambda: ran == ["piece-busy"])
        names = [f"piece-later-{n}" for n in range(3)]
        later = [asyncio.ensure_future(pg_db.transaction_async(piece(name, ran))) for name in names]
        await asyncio.sleep(0)  # queued: the one committer is busy, and no other is started for them
        assert not wait_blocking(lambda: len(ran) > 1, seconds=0.3)
    finally:
        release.set()
    transactions = await asyncio.gather(*later)
    assert len(set(transactions)) == 1  # one batch, one transaction
    assert await busy not in transactions
    assert ran[0] == "piece-busy" and sorted(ran[1:]) == names
    assert stored_names(pg_db) == set(ran)


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
