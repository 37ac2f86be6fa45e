"""Imported comments: their origins (source system and id there), rows written as they were, and the
whole of a site read back in order for an export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import comment_origins, comments, likes, threads

c = comments.c
o = comment_origins.c
_INSERT = comments.insert().returning(c.id)


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


def insert_comment(conn: Connection, values: dict[str, Any]) -> int:
    """A comment row written as given (an import knows its dates, status and counts already)."""
    return int(conn.execute(_INSERT, values).scalar_one())


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
