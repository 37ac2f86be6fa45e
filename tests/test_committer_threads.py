"""The event loop's batches of writes on PostgreSQL are committed in threads of their own: a batch being
committed is waited for to the end, even when its waiter is cancelled; and the outbox rows a batch writes
keep each payload's text as it was serialised, whatever characters it holds."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from rejoinder.context import Context
from rejoinder.store import outbox
from rejoinder.store.db import _to_the_end

AWKWARD = {
    "quotes": 'a "quoted" word, a \\ backslash and a \\" both',
    "unicode": "café, 漢字, 😀",
    "control": "tab\tnew line\n nul\x00 bell\x07",
    "nested": {"list": [1, 2.5, None, True], "empty": {}},
}


async def test_a_cancelled_waiter_waits_for_its_batch_to_commit() -> None:
    release, finished = threading.Event(), threading.Event()

    def commit() -> None:
        release.wait(30)
        finished.set()

    with ThreadPoolExecutor(1) as threads:
        job = threads.submit(commit)
        waiter = asyncio.create_task(_to_the_end(job))
        await asyncio.sleep(0.05)
        waiter.cancel()
        await asyncio.sleep(0.05)
        assert not waiter.done()  # the batch is still being committed: its writers are not told yet
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert finished.is_set()


async def test_a_batch_cancelled_before_its_thread_took_it_is_not_run() -> None:
    release = threading.Event()
    ran: list[str] = []
    with ThreadPoolExecutor(1) as threads:
        busy = threads.submit(release.wait, 30)
        queued = threads.submit(ran.append, "queued")
        waiter = asyncio.create_task(_to_the_end(queued))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release.set()
        busy.result(5)
    assert queued.cancelled() and ran == []


def test_outbox_rows_keep_their_payloads_and_order(ctx: Context) -> None:
    now = datetime.now(UTC)
    entries: list[tuple[str, dict[str, Any], bool]] = [
        ("First", AWKWARD, True),
        ("Second", {"n": 2}, False),
        ("Third", {"n": 3, **AWKWARD}, True),
    ]
    with ctx.db.write() as conn:
        ids = outbox.add_many(conn, entries, now)
    assert ids == sorted(ids) and len(set(ids)) == 3
    query = text(
        "SELECT id, topic, CAST(payload AS TEXT) AS payload, delivered_at IS NOT NULL AS delivered"
        " FROM outbox WHERE id IN (:a, :b, :c) ORDER BY id"
    )
    with ctx.db.read() as conn:
        rows = conn.execute(query, dict(zip("abc", ids, strict=True))).all()
    assert [(row.id, row.topic, bool(row.delivered)) for row in rows] == [
        (ids[0], "First", True),
        (ids[1], "Second", False),
        (ids[2], "Third", True),
    ]
    for row, (_, payload, _) in zip(rows, entries, strict=True):
        assert orjson.loads(row.payload) == payload
        if ctx.db.backend == "postgresql":  # the same bytes as a batch's one statement writes
            assert row.payload == orjson.dumps(payload).decode()
    with ctx.db.read() as conn:
        assert outbox.payloads(conn, ids) == {ids[0]: AWKWARD, ids[1]: {"n": 2}, ids[2]: {"n": 3, **AWKWARD}}
