"""Threads: one per article URL of a site, created by its first comment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Row,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from rejoinder.model import Thread
from rejoinder.store.db import Part, at_commit
from rejoinder.store.dialect import (
    on_psycopg,
    on_sqlite,
    padded,
    postgres_bind,
    postgres_row,
    postgres_sql,
    sqlite_bind,
    sqlite_row,
    sqlite_sql,
)
from rejoinder.store.schema import identities, threads


def thread_from_row(row: Row[Any]) -> Thread:
    return Thread(
        id=row.id,
        site_id=row.site_id,
        url=row.url,
        title=row.title,
        created_at=row.created_at,
        closed=row.closed,
        comment_count=row.comment_count,
    )


# Built once: every comment looks its thread up, and building a statement costs more than running it.
_FIND_THREAD = select(threads).where(
    threads.c.site_id == bindparam("site_id"), threads.c.url == bindparam("url")
)
_GET_THREAD = select(threads).where(threads.c.id == bindparam("thread_id"))


def find_thread(conn: Connection, site_id: int, url: str) -> Thread | None:
    row = conn.execute(_FIND_THREAD, {"site_id": site_id, "url": url}).first()
    return thread_from_row(row) if row else None


# A guest's comment asks two things before its insert: its thread, and whether a verified reader holds the
# guest's address. One statement answers both: on PostgreSQL a round trip less for every guest's comment,
# and a batch's round trips follow one another, each answer waiting in its thread for the GIL as well.
_EMAIL_TAKEN = exists().where(identities.c.email == bindparam("email"), identities.c.email_verified.is_(True))
_FIND_THREAD_FOR_GUEST = select(threads, _EMAIL_TAKEN.label("email_taken")).where(
    threads.c.site_id == bindparam("site_id"), threads.c.url == bindparam("url")
)


# SQLite: a new comment's statements about its thread straight through the driver (``on_sqlite``), as a
# like's: every comment asks them, and SQLAlchemy's execution path cost several times the database's work.
# The guest's question gives one row whether the thread is there or not (its columns NULL when not), so
# the address is answered for a new thread's first comment too; a new thread's row comes back from its
# INSERT, without reading it again.
_THE_URL = and_(threads.c.site_id == bindparam("site_id"), threads.c.url == bindparam("url"))
_GUEST_ON_SQLITE = select(threads, _EMAIL_TAKEN.label("email_taken")).select_from(
    select(literal_column("1").label("one")).subquery().outerjoin(threads, _THE_URL)
)
_SQLITE_FIND_THREAD_FOR_GUEST = sqlite_sql(_GUEST_ON_SQLITE)
_SQLITE_GUEST_ROW = sqlite_row(list(_GUEST_ON_SQLITE.selected_columns))
_NEW_THREAD_COLUMNS = ("site_id", "url", "title", "created_at", "closed", "comment_count")


def _insert_new_thread(dialect: Any) -> Any:
    """A new thread's row, or no row if its URL has one already: for ``dialect``'s ``insert``."""
    return (
        dialect.insert(threads)
        .values({name: bindparam(name) for name in _NEW_THREAD_COLUMNS})
        .on_conflict_do_nothing()
        .returning(*threads.c)
    )


_SQLITE_NEW_THREAD = sqlite_sql(_insert_new_thread(sqlite))
_SQLITE_THREAD_BINDS = {name: sqlite_bind(threads.c[name]) for name in _NEW_THREAD_COLUMNS}
_SQLITE_THREAD_ROW = sqlite_row(list(threads.c))
# PostgreSQL: the same insert through psycopg, prepared (``on_psycopg``): two of every five comments of the
# shared harness open a thread, and through SQLAlchemy that was a lookup, the insert (built anew each time)
# and a second lookup.
_PG_NEW_THREAD = postgres_sql(_insert_new_thread(postgresql))
_PG_THREAD_BINDS = {name: postgres_bind(threads.c[name]) for name in _NEW_THREAD_COLUMNS}
_PG_THREAD_ROW = postgres_row(list(threads.c))


def _thread(values: Sequence[Any]) -> Thread:
    """A thread from its row's values in the table's order, as ``sqlite_row`` reads them."""
    return Thread(*values[: len(threads.c)])


def find_thread_for_guest(
    conn: Connection, site_id: int, url: str, email: str
) -> tuple[Thread | None, bool | None]:
    """The thread for ``url``, and whether a verified identity holds ``email`` (lower-cased) as a verified
    address; that second answer is None when there is no thread yet on PostgreSQL (ask
    ``store.identity.verified_email_taken`` then)."""
    params = {"site_id": site_id, "url": url, "email": email}
    if conn.dialect.name == "sqlite":
        (found,) = on_sqlite(conn, _SQLITE_FIND_THREAD_FOR_GUEST, params)
        values = _SQLITE_GUEST_ROW(found)
        return (_thread(values) if values[0] is not None else None), bool(values[-1])
    row = conn.execute(_FIND_THREAD_FOR_GUEST, params).first()
    return (thread_from_row(row), bool(row.email_taken)) if row else (None, None)


def get_thread(conn: Connection, thread_id: int) -> Thread:
    return thread_from_row(conn.execute(_GET_THREAD, {"thread_id": thread_id}).one())


def get_or_create_thread(
    conn: Connection, site_id: int, url: str, title: str, now: datetime, *, found: Thread | None = None
) -> Thread:
    """The thread for ``url`` (``found``, if the caller has just read it); concurrent first comments on one
    URL all end up in the same thread."""
    # Made first, read only if it was there: a caller that passes no thread has mostly found none.
    thread = found or _new_thread(conn, site_id, url, title, now) or find_thread(conn, site_id, url)
    # Inserted above, or by a concurrent transaction that won the race: the insert waited for its commit,
    # and the lookup, a statement after it, sees it.
    assert thread is not None
    if title and not thread.title:
        conn.execute(update(threads).where(threads.c.id == thread.id).values(title=title))
    return thread


def _new_thread(conn: Connection, site_id: int, url: str, title: str, now: datetime) -> Thread | None:
    """The thread made for ``url``, or None if it was there already."""
    values = {"site_id": site_id, "url": url, "title": title, "created_at": now, "closed": False}
    if conn.dialect.name == "sqlite":
        params = {name: bind(values.get(name, 0)) for name, bind in _SQLITE_THREAD_BINDS.items()}
        made = on_sqlite(conn, _SQLITE_NEW_THREAD, params)
        return _thread(_SQLITE_THREAD_ROW(made[0])) if made else None
    params = {name: bind(values.get(name, 0)) for name, bind in _PG_THREAD_BINDS.items()}
    row = on_psycopg(conn, _PG_NEW_THREAD, params).fetchone()
    return _thread(_PG_THREAD_ROW(row)) if row is not None else None


_ADD_TO_COUNT = (
    update(threads)
    .where(threads.c.id == bindparam("tid"))
    .values(comment_count=threads.c.comment_count + bindparam("delta"))
)


_SQLITE_ADD_TO_COUNT = sqlite_sql(_ADD_TO_COUNT)


def add_to_comment_count(conn: Connection, thread_id: int, delta: int) -> None:
    if delta:
        conn.execute(_ADD_TO_COUNT, {"tid": thread_id, "delta": delta})


def add_to_comment_count_at_commit(conn: Connection, thread_id: int, delta: int) -> None:
    """``add_to_comment_count`` made just before the commit, for a transaction that does not read the count
    again (a new comment). A group commit's comments then change their threads' counts in one go, each
    thread once and in the order of their ids: the row locks are held only for the commit, and two groups
    that touch the same threads take them in the same order instead of deadlocking."""
    kept = at_commit(conn, _add_to_counts, _counts_as_part)
    if kept is None:
        add_to_comment_count(conn, thread_id, delta)
    else:
        kept.append((thread_id, delta))


def _add_to_counts(conn: Connection, changes: list[tuple[int, int]]) -> None:
    deltas: dict[int, int] = {}
    for thread_id, delta in changes:
        deltas[thread_id] = deltas.get(thread_id, 0) + delta
    rows = [{"tid": tid, "delta": delta} for tid, delta in sorted(deltas.items()) if delta]
    if conn.dialect.name == "sqlite":  # a statement costs no round trip there: each through the driver
        for row in rows:
            on_sqlite(conn, _SQLITE_ADD_TO_COUNT, row)
    elif rows:  # several threads: one executemany, which psycopg sends in one pipeline
        conn.execute(_ADD_TO_COUNT, rows)


# The same as a part of the commit's one statement (PostgreSQL): the threads' ids in ascending order, which
# the join follows on the threads' primary key, so that row locks are still taken in the order of ids.
_DELTAS = (
    func.unnest(
        bindparam("count_thread_ids", type_=postgresql.ARRAY(BigInteger)),
        bindparam("count_deltas", type_=postgresql.ARRAY(Integer)),
    )
    .table_valued(column("thread_id", BigInteger), column("delta", Integer))
    .render_derived(name="deltas")
)
_ADD_TO_COUNTS_AS_PART = (
    update(threads)
    .where(threads.c.id == _DELTAS.c.thread_id)
    .values(comment_count=threads.c.comment_count + _DELTAS.c.delta)
)


def _counts_as_part(_conn: Connection, changes: list[tuple[int, int]]) -> Part:
    deltas: dict[int, int] = {}
    for thread_id, delta in changes:
        deltas[thread_id] = deltas.get(thread_id, 0) + delta
    ordered = sorted(deltas.items())
    params = {
        "count_thread_ids": [tid for tid, _ in ordered],
        "count_deltas": [delta for _, delta in ordered],
    }
    return Part(_ADD_TO_COUNTS_AS_PART, params)


def set_closed(conn: Connection, thread_id: int, closed: bool) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id).values(closed=closed))


def comment_counts(conn: Connection, site_id: int, urls: Iterable[str]) -> dict[str, int]:
    """Published-comment counts of many threads in one query; URLs without a thread are absent."""
    rows = conn.execute(
        select(threads.c.url, threads.c.comment_count).where(
            threads.c.site_id == site_id, threads.c.url.in_(padded(set(urls)))
        )
    )
    return {row.url: row.comment_count for row in rows}


def sites_with_threads(conn: Connection, site_ids: Iterable[int]) -> set[int]:
    """Which of ``site_ids`` have a thread at all (one query, whatever their number)."""
    wanted = list(site_ids)
    if not wanted:
        return set()
    query = select(threads.c.site_id).where(threads.c.site_id.in_(wanted)).distinct()
    return {row.site_id for row in conn.execute(query)}
