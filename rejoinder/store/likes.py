"""Likes: one row per comment and liker; the unique key makes liking twice a no-op."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql

from rejoinder.model import Comment, CommentStatus
from rejoinder.store.comments import PUBLIC_COLUMNS, add_to_like_count, public_comment
from rejoinder.store.dialect import insert_ignore_by_dialect, on_psycopg, on_sqlite, sqlite_bind
from rejoinder.store.schema import comments, likes

# Built once: a like is a handful of tiny statements, and building one costs more than running it.
_ADD_LIKE = {
    name: statement.returning(likes.c.comment_id)
    for name, statement in insert_ignore_by_dialect(likes).items()
}
_REMOVE_LIKE = (
    delete(likes)
    .where(likes.c.comment_id == bindparam("comment_id"), likes.c.liker_key == bindparam("liker_key"))
    .returning(likes.c.comment_id)
)


def add_like(conn: Connection, comment_id: int, liker_key: str, now: datetime) -> bool:
    """True if this liker had not liked the comment yet."""
    values = {"comment_id": comment_id, "liker_key": liker_key, "created_at": now}
    return conn.execute(_ADD_LIKE[conn.dialect.name], values).first() is not None


def remove_like(conn: Connection, comment_id: int, liker_key: str) -> bool:
    """True if a like by this liker was there to remove."""
    removed = conn.execute(_REMOVE_LIKE, {"comment_id": comment_id, "liker_key": liker_key}).first()
    return removed is not None


def _counted(changed: Any, delta: int) -> Any:
    """PostgreSQL: the like's insert or delete and its comment's count in one statement (one round trip
    instead of two), through a data-modifying CTE, which SQLite does not have."""
    done = changed.cte("changed")
    return (
        update(comments)
        .where(comments.c.id.in_(select(done.c.comment_id)))
        .values(like_count=comments.c.like_count + delta, version=comments.c.version + 1)
        .returning(comments.c.like_count, comments.c.version)
    )


_LIKE_COUNTED = _counted(
    postgresql.insert(likes)
    .values(  # bound under names of their own: an insert's column names are taken
        comment_id=bindparam("liked_comment_id"),
        liker_key=bindparam("liked_liker_key"),
        created_at=bindparam("liked_at"),
    )
    .on_conflict_do_nothing()
    .returning(likes.c.comment_id),
    1,
)
_UNLIKE_COUNTED = _counted(_REMOVE_LIKE, -1)

# SQLite: the like's two statements straight through the driver, in the transaction SQLAlchemy began on
# the same connection. SQLAlchemy's execution path (an execution context, parameter and result processing,
# a result object) cost three quarters of these tiny statements: 145 µs for the pair against 37 µs here
# (docs/benchmarks.md, "The cost of a like"). The time is bound with the column's own type, as SQLAlchemy
# would bind it, so that reading it back is the same.
_SQLITE_LIKE = (
    "INSERT INTO likes (comment_id, liker_key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING "
    "RETURNING comment_id"
)
_SQLITE_UNLIKE = "DELETE FROM likes WHERE comment_id = ? AND liker_key = ? RETURNING comment_id"
_SQLITE_COUNT = (
    "UPDATE comments SET like_count = like_count + ?, version = version + 1 WHERE id = ? "
    "RETURNING like_count, version"
)
_SQLITE_TIME = sqlite_bind(likes.c.created_at)


def change_like(
    conn: Connection, comment_id: int, liker_key: str, liked: bool, now: datetime
) -> tuple[int, int] | None:
    """Like or unlike, and count it on the comment: its like count and version after, or None if nothing
    changed (liked twice, or unliked without a like)."""
    if conn.dialect.name == "postgresql":
        if liked:
            values = {"liked_comment_id": comment_id, "liked_liker_key": liker_key, "liked_at": now}
            row = conn.execute(_LIKE_COUNTED, values).first()
        else:
            row = conn.execute(_UNLIKE_COUNTED, {"comment_id": comment_id, "liker_key": liker_key}).first()
        return (row.like_count, row.version) if row else None
    if conn.dialect.name == "sqlite":
        return _change_like_on_sqlite(conn, comment_id, liker_key, liked, now)
    if liked:
        changed = add_like(conn, comment_id, liker_key, now)
    else:
        changed = remove_like(conn, comment_id, liker_key)
    return add_to_like_count(conn, comment_id, 1 if liked else -1) if changed else None


def _change_like_on_sqlite(
    conn: Connection, comment_id: int, liker_key: str, liked: bool, now: datetime
) -> tuple[int, int] | None:
    if liked:
        changed = on_sqlite(conn, _SQLITE_LIKE, (comment_id, liker_key, _SQLITE_TIME(now)))
    else:
        changed = on_sqlite(conn, _SQLITE_UNLIKE, (comment_id, liker_key))
    if not changed:
        return None
    ((likes_now, version),) = on_sqlite(conn, _SQLITE_COUNT, (1 if liked else -1, comment_id))
    return int(likes_now), int(version)


@dataclass(frozen=True)
class PlacedLike:
    """A like's one statement on PostgreSQL: the comment (as after the like, if it changed anything), where
    it is, and whether the like or unlike was made."""

    comment: Comment
    thread_url: str
    site_key: str
    site_id: int
    changed: bool
    # Asked for (``unruled``), the site's row says its spam filter is off, so it has no like rules: read in
    # the statement's own snapshot, which no process's memo of it can be behind. Never asked by an unlike.
    unruled: bool = False
    # The like's event, written to the outbox by the same statement (``LikeEvents``): its row's id.
    event_id: int | None = None


def changes_in_one_statement(conn: Connection) -> bool:
    """Whether ``change_like_placed`` serves this connection's database."""
    return conn.dialect.name == "postgresql"


# PostgreSQL: the comment's read, the like (or unlike) and its count in one statement, sent straight to
# psycopg as a prepared statement (``on_psycopg``). Through SQLAlchemy the read and the like were two round
# trips and most of a committer's CPU per like (its execution context, result machinery and the row's type
# processing). The like is written only if the comment is published and its site is one of ``sites``
# (those whose like rules were asked, or need none); otherwise the statement only reads the comment. Likes
# go as a batch's do (``_PG_LIKES`` below, with one like); an unlike goes alone.
_PUBLIC = ", ".join(column.name for column in PUBLIC_COLUMNS)
_PG_UNLIKE = f"""
WITH target AS (
    SELECT c.id FROM comments c JOIN threads t ON t.id = c.thread_id
    WHERE c.id = %(comment_id)s AND c.status = %(published)s AND t.site_id = ANY(%(sites)s::bigint[])
), changed AS (
    DELETE FROM likes WHERE comment_id IN (SELECT id FROM target) AND liker_key = %(liker_key)s
    RETURNING comment_id
), counted AS (
    UPDATE comments SET like_count = like_count - 1, version = version + 1
    WHERE id IN (SELECT comment_id FROM changed) RETURNING {_PUBLIC}
)
SELECT x.*, t.url, s.key, t.site_id, NULL::bigint FROM (
    SELECT {_PUBLIC}, true AS changed FROM counted
    UNION ALL SELECT {_PUBLIC}, false FROM comments WHERE id = %(comment_id)s
) AS x JOIN threads t ON t.id = x.thread_id JOIN sites s ON s.id = t.site_id
ORDER BY x.changed DESC LIMIT 1"""


def change_like_placed(
    conn: Connection,
    comment_id: int,
    liker_key: str,
    liked: bool,
    now: datetime,
    sites: Sequence[int],
    *,
    unruled: bool = False,
    events: LikeEvents | None = None,
) -> PlacedLike | None:
    """PostgreSQL: like or unlike if the comment is published and its site is one of ``sites``, counted on
    the comment; the comment and its place either way, or None if there is no such comment. ``unruled``: a
    like (not an unlike) is made on a site whose row says it has no like rules too; ``events``: a like made
    has its event's outbox row written too (both as ``place_likes``; an unlike's event is the caller's)."""
    if liked:
        placed = place_likes(conn, [(comment_id, liker_key)], now, sites, unruled=unruled, events=events)
        return placed.get(comment_id)
    parameters = {
        "comment_id": comment_id,
        "liker_key": liker_key,
        "sites": _bigint_array(sites),
        "published": CommentStatus.PUBLISHED.value,
    }
    row = on_psycopg(conn, _PG_UNLIKE, parameters).fetchone()
    return None if row is None else _placed(row)


# PostgreSQL: the likes of a batch, each of another comment, in one statement of the same shape: the likes
# travel as one JSON array of [comment id, liker key] (written by orjson, as the outbox's rows), the count
# of each comment liked goes up by one, and each comment asked for comes back once, as after its like if
# it was made. A comment liked twice in one statement would be counted once: the caller sends the other
# likes of a comment on their own. Each comment, its thread and its site are looked up by their keys, like
# by like (``LATERAL … LIMIT 1``, which the planner cannot turn into a join): with a join it was free to
# scan every comment of the sites asked, and it did so, for seconds, when a table's statistics were old.
def _of(table: str) -> str:
    return ", ".join(f"{table}.{column.name}" for column in PUBLIC_COLUMNS)


def _likes_statement(by_row: bool, with_events: bool) -> str:
    """``by_row``: a like is also made on a site whose row says its spam filter is off (``unruled``).
    ``with_events``: each like made writes its event's outbox row too (``LikeEvents``)."""
    rules_off = "coalesce(s.settings->>'spam_filter' = 'false', false)"
    unruled = f",\n            {rules_off} AS unruled" if by_row else ""
    sites = "site_id = ANY(%(sites)s::bigint[])"
    where = f"({sites} OR unruled)" if by_row else sites
    also = ", placed.unruled" if by_row else ""
    written, event_id, of_written = "", "NULL::bigint", ""
    if with_events:
        written = _WRITTEN
        event_id, of_written = "written.id", " JOIN written ON written.comment_id = counted.id"
    return f"""
WITH asked AS (
    SELECT (a.entry->>0)::bigint AS comment_id, a.entry->>1 AS liker_key
    FROM json_array_elements(%(likes)s::json) AS a(entry)
), placed AS (
    SELECT asked.liker_key, found.* FROM asked CROSS JOIN LATERAL (
        SELECT {_of("c")}, t.url, s.key AS site_key, t.site_id{unruled} FROM comments c
        JOIN threads t ON t.id = c.thread_id JOIN sites s ON s.id = t.site_id
        WHERE c.id = asked.comment_id LIMIT 1
    ) AS found
), changed AS (
    INSERT INTO likes (comment_id, liker_key, created_at)
    SELECT id, liker_key, %(now)s FROM placed
    WHERE status = %(published)s AND {where}
    ON CONFLICT DO NOTHING RETURNING comment_id
), counted AS (
    UPDATE comments SET like_count = like_count + 1, version = version + 1
    WHERE id IN (SELECT comment_id FROM changed) RETURNING {_PUBLIC}
){written}
SELECT DISTINCT ON (x.id) x.* FROM (
    SELECT {_of("counted")}, true AS changed, placed.url, placed.site_key, placed.site_id,
        {event_id} AS event_id{also}
    FROM counted JOIN placed ON placed.id = counted.id{of_written}
    UNION ALL
    SELECT {_of("placed")}, false, placed.url, placed.site_key, placed.site_id, NULL::bigint{also} FROM placed
) AS x
ORDER BY x.id, x.changed DESC"""


# Each like's event (``events.CommentLiked``) as ``events.encode`` writes it, built by PostgreSQL from the
# comment as counted: the like, its count and its outbox row in one statement, which can then commit on its
# own. The times are written in UTC, as ISO 8601; ``verified`` as stored (``Verified.from_json`` reads
# both the same). Change it with ``events.encode`` (``tests/test_pglikes_one_round_trip.py`` holds them
# together).
def _iso(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


_WRITTEN = f""", written AS (
    INSERT INTO outbox (topic, payload, created_at, delivered_at)
    SELECT %(topic)s, json_build_object(
        'site_key', placed.site_key,
        'thread_url', placed.url,
        'comment', json_build_object(
            'id', counted.id, 'thread_id', counted.thread_id, 'parent_id', counted.parent_id,
            'root_id', counted.root_id, 'name', counted.author_name, 'website', counted.author_website,
            'html', counted.html, 'status', counted.status, 'created_at', {_iso("counted.created_at")},
            'edited_at', {_iso("counted.edited_at")}, 'likes', counted.like_count,
            'version', counted.version, 'edited_by_moderator', counted.edited_by_moderator,
            'pinned', counted.pinned, 'identity_id', NULL, 'verified', counted.verified
        ),
        'site_id', 0
    ), %(now)s, CASE WHEN %(delivered)s THEN %(now)s::timestamptz END
    FROM counted JOIN placed ON placed.id = counted.id
    ORDER BY counted.id
    RETURNING id, (payload->'comment'->>'id')::bigint AS comment_id
)"""

# By (``unruled``, with events): only while the memo of the sites without like rules is not trusted is the
# site's row read; sent for every like, that form was a little dearer than the memo's where the memo can be
# trusted (docs/benchmarks.md, "PostgreSQL likes: a free committer takes the whole queue"). A constant, not
# a memo: four texts of PostgreSQL's SQL made from the schema's columns alone, the same in every process.
_PG_LIKES = {
    (by_row, with_events): _likes_statement(by_row, with_events)
    for by_row in (False, True)
    for with_events in (False, True)
}


@dataclass(frozen=True)
class LikeEvents:
    """The outbox rows a batch's statement writes for the likes it makes, one each: their topic, and whether
    they are delivered once written (no subscriber in one process waits for them)."""

    topic: str
    delivered: bool


def place_likes(
    conn: Connection,
    asked: Sequence[tuple[int, str]],
    now: datetime,
    sites: Sequence[int],
    *,
    unruled: bool = False,
    events: LikeEvents | None = None,
) -> dict[int, PlacedLike]:
    """PostgreSQL: ``change_like_placed`` for many (comment id, liker key) likes, each of another comment,
    in one statement; each comment found by its id (a comment that does not exist is missing).
    ``unruled``: a like of a comment on a site whose row says it has no like rules is made too, whatever
    ``sites`` holds. ``events``: each like made has its event's outbox row written by the same statement
    (``PlacedLike.event_id``)."""
    if len({comment_id for comment_id, _ in asked}) != len(asked):
        raise ValueError("two likes of one comment in one statement would be counted once")
    parameters = {
        "likes": orjson.dumps(asked).decode(),
        "now": now,
        "sites": _bigint_array(sites),
        "published": CommentStatus.PUBLISHED.value,
    }
    if events is not None:
        parameters["topic"] = events.topic
        parameters["delivered"] = events.delivered
    statement = _PG_LIKES[unruled, events is not None]
    placed = (_placed(row) for row in on_psycopg(conn, statement, parameters).fetchall())
    return {like.comment.id: like for like in placed}


def _placed(row: Any) -> PlacedLike:
    public, (changed, thread_url, site_key, site_id, event_id, *unruled) = row[:15], row[15:]
    created_at, edited_at = public[8], public[9]  # psycopg's: in the session's zone
    comment = public_comment(  # in UTC, as the comments' own reads give them
        (*public[:8], created_at.astimezone(UTC), edited_at and edited_at.astimezone(UTC), *public[10:])
    )
    return PlacedLike(comment, thread_url, site_key, site_id, changed, bool(unruled and unruled[0]), event_id)


def _bigint_array(ids: Sequence[int]) -> str:
    """Ids as the text of a ``bigint[]``, which the statement casts: psycopg's list adaptation (a dumper
    looked up and called per element) cost a like more than the rest of its parameters together."""
    return "{" + ",".join(map(str, ids)) + "}"
