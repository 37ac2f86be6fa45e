"""Lists whose length follows the traffic are spelt in a few statements, not one per length: an ``IN (…)``
is padded to a power of two (``dialect.padded``) and the outbox's rows of more than eight events travel as
one JSON array. SQLite's driver prepares and keeps every spelling it meets, up to 128 a connection, 5-30
KiB each (docs/benchmarks.md, "Memory: SQLite's statements"). Both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, event, select

from rejoinder.context import Context
from rejoinder.store import outbox
from rejoinder.store.dialect import padded
from rejoinder.store.schema import outbox as outbox_table
from rejoinder.store.sites import get_site
from rejoinder.store.threads import comment_counts, get_or_create_thread


@given(st.lists(st.integers(), max_size=300))
def test_padded_means_the_same_in_a_power_of_two(values: list[int]) -> None:
    items = padded(values)
    assert set(items) == set(values)
    assert items[: len(values)] == values
    if len(values) > 2:
        assert len(items) & (len(items) - 1) == 0 and len(items) < 2 * len(values)
    else:
        assert items == values


@contextmanager
def spellings(conn: Connection, prefix: str) -> Iterator[set[str]]:
    """The distinct statements starting with ``prefix`` run on ``conn`` meanwhile."""
    seen: set[str] = set()

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(prefix):
            seen.add(statement)

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def test_counts_of_any_number_of_threads_in_a_few_statements(ctx: Context, site: str) -> None:
    with ctx.db.write() as conn:
        found = get_site(conn, site)
        assert found is not None
        urls = [f"https://blog.example/{n}" for n in range(40)]
        now = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
        for url in urls:
            get_or_create_thread(conn, found.id, url, "a post", now)
    with ctx.db.read() as conn, spellings(conn, "SELECT threads.url") as seen:
        for n in range(1, 41):
            asked = [*urls[:n], "https://blog.example/none"]
            assert comment_counts(conn, found.id, asked) == dict.fromkeys(urls[:n], 0)
    assert len(seen) <= 7  # 2, 3-4, 5-8, 9-16, 17-32, 33-64 values (one more with a URL the site lacks)


def test_outbox_rows_of_any_batch_in_a_few_statements(ctx: Context) -> None:
    now = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
    ids: list[int] = []
    with ctx.db.write() as conn, spellings(conn, "INSERT INTO outbox") as seen:
        for n in range(1, 34):
            entries = [("ThreadChanged", {"batch": n, "n": i}, False) for i in range(n)]
            batch = outbox.add_many(conn, entries, now)
            assert len(batch) == n and batch == sorted(batch)
            ids += batch
        outbox.mark_delivered(conn, ids[:21], now)
    if ctx.db.backend == "sqlite":
        assert len(seen) == 9  # a row of parameters each for 1-8 rows, one JSON array beyond
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(outbox_table.c.id, outbox_table.c.payload, outbox_table.c.delivered_at)
            .where(outbox_table.c.id.in_(ids))
            .order_by(outbox_table.c.id)
        ).all()
        assert outbox.payloads(conn, ids[:13]) == {row.id: row.payload for row in rows[:13]}
    assert [row.payload for row in rows] == [{"batch": n, "n": i} for n in range(1, 34) for i in range(n)]
    assert [row.delivered_at is not None for row in rows] == [i < 21 for i in range(len(ids))]


def test_many_outbox_rows_at_once(ctx: Context) -> None:
    entries = [("ThreadChanged", {"n": i}, i % 3 == 0) for i in range(1100)]
    with ctx.db.write() as conn:
        ids = outbox.add_many(conn, entries, datetime(2026, 12, 5, 22, 0, tzinfo=UTC))
    assert ids == sorted(ids) and len(set(ids)) == 1100
    with ctx.db.read() as conn:
        payloads = outbox.payloads(conn, ids)
    assert [payloads[event_id] for event_id in ids] == [{"n": i} for i in range(1100)]
