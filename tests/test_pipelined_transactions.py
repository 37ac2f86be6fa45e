"""Pipelined transactions (the likes' lane on PostgreSQL): the BEGIN goes with the first statement and the
COMMIT with the writes kept for it, in one round trip each, with the same guarantees as two separate
ones: both writes commit together or not at all, the ids of the last are handed on only once committed,
and the connection goes back to the pool as it came. Both backends (on SQLite nothing is pipelined)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError

from rejoinder.context import Context
from rejoinder.store import outbox
from rejoinder.store.db import LastWrite, at_commit
from tests.helpers import post
from tests.test_likes import like

pytestmark = pytest.mark.usefixtures("steady_rate_windows")

Entries = list[tuple[str, dict[str, Any], bool]]


@contextmanager
def round_trips(ctx: Context) -> Iterator[list[int]]:
    """PostgreSQL: the round trips of each write transaction begun while the block runs, counted from
    libpq's trace of the protocol: a round trip is the client's messages followed by the server's."""
    from psycopg import pq

    traced: list[tuple[Any, IO[bytes]]] = []
    counted: list[int] = []

    def begin(conn: Connection) -> None:
        pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
        trace = files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (closed by the stack)
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        traced.append((pgconn, trace))

    with ExitStack() as files:
        event.listen(ctx.db.writer, "begin", begin)
        try:
            yield counted
        finally:
            event.remove(ctx.db.writer, "begin", begin)
            for pgconn, trace in traced:
                pgconn.untrace()
                trace.seek(0)
                counted.append(_answered(line.split(b"\t")[0] for line in trace.read().splitlines()))


def _answered(senders: Iterable[bytes]) -> int:
    """How often the server answered after the client had sent (``F`` then ``B`` in the trace)."""
    answers, previous = 0, b""
    for sender in senders:
        answers += (previous, sender) == (b"F", b"B")
        previous = sender
    return answers


async def test_a_like_is_two_round_trips_to_postgresql(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite has no round trips")
    comment_id = (await post(client, "Worth a like"))["comment"]["id"]
    await like(client, comment_id, 1)  # the site is known to have no like rules from here on
    with round_trips(ctx) as counted:
        assert await like(client, comment_id, 2) == {"likes": 2, "liked": True}
    # BEGIN with the like and its count, then the outbox row with the COMMIT (it was four: each alone).
    assert counted == [2]


def keep_events(conn: Connection, entries: Entries, now: datetime, got: list[int], last: str | None) -> None:
    """Keep ``entries`` for the outbox at the commit: written by ``add_many`` (SQLite) or sent with the
    COMMIT (PostgreSQL), as ``last`` if it is given instead of the outbox's statement."""

    def flush(c: Connection, kept: Entries) -> None:
        if last is not None:
            c.exec_driver_sql(last)
        got.extend(outbox.add_many(c, kept, now))

    def as_last(_c: Connection, kept: Entries) -> LastWrite:
        write = outbox.add_many_as_last(kept, now, got.extend)
        return write if last is None else LastWrite(last, {}, write.returned)

    kept = at_commit(conn, flush, None, as_last)
    assert kept is not None
    kept.extend(entries)


def event_ids(ctx: Context, ids: list[int]) -> set[int]:
    with ctx.db.read() as conn:
        return set(outbox.payloads(conn, ids))


def test_both_writes_commit_and_the_last_ids_are_handed_on(ctx: Context) -> None:
    now = datetime.now(UTC)
    got: list[int] = []
    with ctx.db.write(pipelined=True) as conn:
        driver = conn.connection.driver_connection
        first = outbox.add(conn, "test-first", {"n": 1}, now, delivered=True)
        keep_events(conn, [("test-last", {"n": 2}, True), ("test-last", {"n": 3}, True)], now, got, None)
    assert len(got) == 2 and first < got[0] < got[1]
    assert event_ids(ctx, [first, *got]) == {first, *got}
    assert not getattr(driver, "autocommit", False)  # back to the pool as it was taken


def test_a_failing_last_write_leaves_nothing_committed(ctx: Context) -> None:
    now = datetime.now(UTC)
    got: list[int] = []
    with pytest.raises(DBAPIError), ctx.db.write(pipelined=True) as conn:
        driver = conn.connection.driver_connection
        first = outbox.add(conn, "test-first", {"n": 1}, now, delivered=True)
        keep_events(conn, [("test-last", {"n": 2}, True)], now, got, "SELECT * FROM no_such_table")
    assert got == []  # nothing handed on
    assert event_ids(ctx, [first]) == set()  # the first write rolled back with the last
    assert not getattr(driver, "autocommit", False)
    with ctx.db.write(pipelined=True) as conn:  # the pool's connections still work
        again = outbox.add(conn, "test-again", {"n": 4}, now, delivered=True)
    assert event_ids(ctx, [again]) == {again}


def test_the_first_statement_may_be_sqlalchemys(ctx: Context) -> None:
    """psycopg then sends the BEGIN itself; the statement to psycopg and the last write join it."""
    now = datetime.now(UTC)
    got: list[int] = []
    with pytest.raises(DBAPIError), ctx.db.write(pipelined=True) as conn:
        conn.exec_driver_sql("SELECT 1")
        first = outbox.add(conn, "test-first", {"n": 1}, now, delivered=True)
        keep_events(conn, [("test-last", {"n": 2}, True)], now, got, "SELECT * FROM no_such_table")
    assert got == [] and event_ids(ctx, [first]) == set()
