"""Imported comments: their origins (source system and id there), rows written as they were, and the
whole of a site read back in order for an export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, text, update

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import comment_origins, comments, likes, threads

c = comments.c
o = comment_origins.c


def find_origins(
    conn: Connection, site_id: int, source: str, original_ids: Iterable[str]
) -> dict[str, tuple[int, int | None]]:
    """original id -> (comment id, root id) of those already imported from ``source`` into the site."""
    wanted = list(set(original_ids))
    found: dict[str, tuple[int, int | None]] = {}
    for start in range(0, len(wanted), 500):  # well under every backend's limit on bound parameters
        rows = conn.execute(
            select(o.original_id, c.id, c.root_id)
            .join(comments, c.id == o.comment_id)
            .where(o.site_id == site_id, o.source == source, o.original_id.in_(wanted[start : start + 500]))
        )
        found.update({row.original_id: (row.id, row.root_id) for row in rows})
    return found


def ensure_threads(
    conn: Connection, site_id: int, wanted: dict[str, tuple[str, datetime, bool]]
) -> dict[str, int]:
    """The thread ids of many URLs (url -> (title, created_at, closed)), creating those that are new in one
    statement. An existing thread gets the title if it has none, and is closed if asked."""
    found = _threads_at(conn, site_id, list(wanted))
    missing = [url for url in wanted if url not in found]
    if missing:
        conn.execute(
            insert_ignore(conn, threads),
            [
                {
                    "site_id": site_id,
                    "url": url,
                    "title": wanted[url][0],
                    "created_at": wanted[url][1],
                    "closed": wanted[url][2],
                    "comment_count": 0,
                }
                for url in missing
            ],
        )
        created = _threads_at(conn, site_id, missing)
    else:
        created = {}
    for url, row in found.items():
        title, _, closed = wanted[url]
        if (title and not row.title) or (closed and not row.closed):
            conn.execute(
                update(threads)
                .where(threads.c.id == row.id)
                .values(title=row.title or title, closed=row.closed or closed)
            )
    return {url: row.id for url, row in (found | created).items()}


def _threads_at(conn: Connection, site_id: int, urls: list[str]) -> dict[str, Row[Any]]:
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(urls), 500):
        rows = conn.execute(
            select(threads).where(threads.c.site_id == site_id, threads.c.url.in_(urls[start : start + 500]))
        )
        found.update({row.url: row for row in rows})
    return found


_ADD_TO_COUNT = (
    update(threads)
    .where(threads.c.id == bindparam("thread_id"))
    .values(comment_count=threads.c.comment_count + bindparam("delta"))
)


def add_to_comment_counts(conn: Connection, deltas: dict[int, int]) -> None:
    """Add to many threads' published-comment counts in one statement (thread id -> delta)."""
    rows = [{"thread_id": thread_id, "delta": delta} for thread_id, delta in deltas.items() if delta]
    if rows:
        conn.execute(_ADD_TO_COUNT, rows)


def refresh_statistics(conn: Connection) -> None:
    """Let PostgreSQL's planner see the rows a bulk import added: until autovacuum analyzes the origins,
    it believes the table empty and scans a site's every origin for each lookup instead of using the key
    (a second import of 100,000 comments then takes many minutes). SQLite's planner needs no numbers."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE comment_origins"))


def insert_comments(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Comment rows written as given (an import knows their dates, statuses and counts already); their ids
    in the order of ``rows``.

    The ids are taken first (from PostgreSQL's sequence; on SQLite, past the largest, which the write
    transaction's lock keeps ours), so the rows go in as one plain ``executemany``: several times quicker
    than an insert that returns ids, whose statement text differs with every number of rows."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('comments', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            ).scalars()
        )
    else:
        largest = conn.execute(select(func.coalesce(func.max(c.id), 0))).scalar_one()
        ids = list(range(largest + 1, largest + 1 + len(rows)))
    conn.execute(
        comments.insert(), [{**row, "id": comment_id} for row, comment_id in zip(rows, ids, strict=True)]
    )
    return [int(comment_id) for comment_id in ids]


def add_origins(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Origin rows (site_id, source, original_id, comment_id), in one statement; an origin that some
    other comment already has is left to it."""
    if rows:
        conn.execute(insert_ignore(conn, comment_origins), rows)


def add_likes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Like rows (comment_id, liker_key, created_at), in one statement."""
    if rows:
        conn.execute(likes.insert(), rows)


def site_threads(conn: Connection, site_id: int) -> list[Row[Any]]:
    """Every thread of a site, oldest first (thread rows are few: a site's pages)."""
    return list(conn.execute(select(threads).where(threads.c.site_id == site_id).order_by(threads.c.id)))


def thread_comments(conn: Connection, thread_id: int) -> Iterator[Row[Any]]:
    """Every comment of a thread in id order (a parent always before its replies), streamed."""
    result = conn.execution_options(yield_per=1000).execute(
        select(comments).where(c.thread_id == thread_id).order_by(c.id)
    )
    yield from result


def origins_of(conn: Connection, comment_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(comment_ids), 500):
        rows = conn.execute(
            select(o.comment_id, o.source, o.original_id)
            .where(o.comment_id.in_(list(comment_ids[start : start + 500])))
            .order_by(o.source, o.original_id)
        )
        for row in rows:
            found.setdefault(row.comment_id, []).append((row.source, row.original_id))
    return found


def likers_of(conn: Connection, comment_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for start in range(0, len(comment_ids), 500):
        rows = conn.execute(
            select(likes.c.comment_id, likes.c.liker_key)
            .where(likes.c.comment_id.in_(list(comment_ids[start : start + 500])))
            .order_by(likes.c.liker_key)
        )
        for row in rows:
            found.setdefault(row.comment_id, []).append(row.liker_key)
    return found
