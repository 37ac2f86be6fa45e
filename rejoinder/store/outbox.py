"""The outbox table: events written with the change they describe, read back by the processes delivering
and tailing them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from rejoinder.store.db import Part
from rejoinder.store.dialect import on_psycopg, on_sqlite, padded, sqlite_bind
from rejoinder.store.schema import outbox


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    payload: dict[str, Any]
    delivered: bool


def add(conn: Connection, topic: str, payload: dict[str, Any], now: datetime, *, delivered: bool) -> int:
    return add_many(conn, [(topic, payload, delivered)], now)[0]


def add_many(conn: Connection, entries: list[tuple[str, dict[str, Any], bool]], now: datetime) -> list[int]:
    """``add`` for many (topic, payload, delivered) entries in one statement; their ids in order."""
    if not entries:
        return []
    if conn.dialect.name == "postgresql":
        return _add_on_postgres(conn, entries, now)
    return _add_on_sqlite(conn, entries, now)


# ``add_many`` as a part of the commit's one statement (PostgreSQL): the rows in one JSON parameter, the
# payloads as their JSON text (stored as SQLAlchemy's JSON type writes it), inserted in their order so that
# the ids taken from the sequence ascend with it.
_NEW_EVENTS = (
    func.json_to_recordset(bindparam("new_events", type_=JSON))
    .table_valued(
        column("n", Integer),
        column("topic", Text),
        column("payload", Text),
        column("created_at", DateTime(timezone=True)),
        column("delivered_at", DateTime(timezone=True)),
    )
    .render_derived(name="new_events", with_types=True)
)
_INSERT_MANY_AS_PART = (
    insert(outbox)
    .from_select(
        ["topic", "payload", "created_at", "delivered_at"],
        select(
            _NEW_EVENTS.c.topic,
            cast(_NEW_EVENTS.c.payload, JSON),
            _NEW_EVENTS.c.created_at,
            _NEW_EVENTS.c.delivered_at,
        ).order_by(_NEW_EVENTS.c.n),
        include_defaults=False,
    )
    .returning(outbox.c.id)
)


def add_many_as_part(
    entries: list[tuple[str, dict[str, Any], bool]], now: datetime, returned: Callable[[list[int]], None]
) -> Part:
    """``add_many`` as a ``Part``: ``returned`` is given the ids, in the entries' order."""
    at = now.isoformat()
    rows = [
        {
            "n": n,
            "topic": topic,
            "payload": _payload_text(payload),
            "created_at": at,
            "delivered_at": at if delivered else None,
        }
        for n, (topic, payload, delivered) in enumerate(entries)
    ]
    return Part(_INSERT_MANY_AS_PART, {"new_events": rows}, returned)


# PostgreSQL: a transaction's events in one prepared statement sent to psycopg, each payload serialised
# once by orjson. Through SQLAlchemy (its JSON type's ``json.dumps``, an executemany with a sentinel to
# return the ids in order) this was the largest part of a batch of likes' CPU after the likes themselves.
# The rows travel as one JSON array of [topic, payload text, delivered], written by orjson: psycopg's
# adaptation of three lists (a dumper called per element, a payload's quotes escaped in Python) cost
# more than the statement's round trip. ``->>`` gives a payload's text back as it was written. The rows
# are inserted in the array's order (``ORDER BY n``), taking ids from the sequence in that order, so the
# ids sorted are the entries' ids.
_PG_INSERT = """
INSERT INTO outbox (topic, payload, created_at, delivered_at)
SELECT e.entry->>0, (e.entry->>1)::json, %(now)s,
    CASE WHEN (e.entry->>2)::boolean THEN %(now)s::timestamptz END
FROM json_array_elements(%(entries)s::json) WITH ORDINALITY AS e(entry, n)
ORDER BY e.n
RETURNING id"""


def _add_on_postgres(
    conn: Connection, entries: list[tuple[str, dict[str, Any], bool]], now: datetime
) -> list[int]:
    rows = [(topic, _payload_text(payload), delivered) for topic, payload, delivered in entries]
    parameters = {"now": now, "entries": orjson.dumps(rows).decode()}
    return sorted(int(event_id) for (event_id,) in on_psycopg(conn, _PG_INSERT, parameters).fetchall())


# SQLite: a transaction's events in one INSERT sent to the sqlite3 module (``on_sqlite``), each payload
# serialised by orjson, as on PostgreSQL. Through SQLAlchemy (its JSON type's ``json.dumps``, an executemany
# with a sentinel to return the ids in order) the outbox row cost a like more than its own statements. Up to
# ``_SQLITE_ROWS_AS_VALUES`` rows are spelt as a row of parameters each, beyond that they travel as one JSON
# array: the driver prepares and keeps a statement per spelling, and a spelling per batch size had filled
# the writer's connection with dozens of them, up to 30 KiB each (the eight small ones take 60 KiB together;
# docs/benchmarks.md, "Memory: SQLite's statements"). The JSON array costs SQLite a parse of each row, which
# the small batches of likes need not pay. SQLite numbers the rows of one INSERT in the order of its VALUES,
# or of its SELECT, so the ids sorted are the entries' ids.
_SQLITE_ROWS_AS_VALUES = 8
_SQLITE_INSERT = "INSERT INTO outbox (topic, payload, created_at, delivered_at) VALUES {rows} RETURNING id"
_SQLITE_INSERT_ARRAY = (
    "INSERT INTO outbox (topic, payload, created_at, delivered_at) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?1, "
    "CASE WHEN json_extract(value, '$[2]') THEN ?1 END FROM json_each(?2) ORDER BY key RETURNING id"
)
_SQLITE_TIME = sqlite_bind(outbox.c.created_at)


def _add_on_sqlite(
    conn: Connection, entries: list[tuple[str, dict[str, Any], bool]], now: datetime
) -> list[int]:
    at = _SQLITE_TIME(now)
    if len(entries) > _SQLITE_ROWS_AS_VALUES:
        rows = [(topic, _payload_text(payload), delivered) for topic, payload, delivered in entries]
        parameters: list[Any] = [at, orjson.dumps(rows).decode()]
        return sorted(event_id for (event_id,) in on_sqlite(conn, _SQLITE_INSERT_ARRAY, parameters))
    statement = _SQLITE_INSERT.format(rows=", ".join(["(?, ?, ?, ?)"] * len(entries)))
    parameters = []
    for topic, payload, delivered in entries:
        parameters += (topic, _payload_text(payload), at, at if delivered else None)
    return sorted(event_id for (event_id,) in on_sqlite(conn, statement, parameters))


def _payload_text(payload: dict[str, Any]) -> str:
    """A payload as the text PostgreSQL stores: both of its statements above write the same bytes."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()


def newest_id(conn: Connection) -> int:
    return int(conn.execute(select(outbox.c.id).order_by(outbox.c.id.desc()).limit(1)).scalar() or 0)


def after(conn: Connection, last_id: int, also: list[int], limit: int) -> list[tuple[int, str]]:
    """(id, topic) of events with an id above ``last_id``, or among ``also`` (ids not committed when last
    looked). Without their payloads: a process has applied most of them already (its own)."""
    where = outbox.c.id > last_id
    if also:
        where = or_(where, outbox.c.id.in_(padded(also)))
    rows = conn.execute(select(outbox.c.id, outbox.c.topic).where(where).order_by(outbox.c.id).limit(limit))
    return [(r.id, r.topic) for r in rows]


def payloads(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The payloads of these events, by id."""
    if not ids:
        return {}
    rows = conn.execute(select(outbox.c.id, outbox.c.payload).where(outbox.c.id.in_(padded(ids))))
    return {r.id: r.payload for r in rows}


def claim_undelivered(conn: Connection, older_than: datetime, now: datetime, until: datetime) -> list[Row]:
    """Events whose one-process subscribers have not run, written before ``older_than`` and not claimed
    by another process right now: claimed until ``until`` by this one."""
    query = (
        select(outbox.c.id, outbox.c.topic, outbox.c.payload)
        .where(
            outbox.c.delivered_at.is_(None),
            outbox.c.created_at < older_than,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
        )
        .order_by(outbox.c.id)
        .limit(100)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    if rows:
        claimed = padded(r.id for r in rows)
        conn.execute(update(outbox).where(outbox.c.id.in_(claimed)).values(claimed_until=until))
    return [Row(r.id, r.topic, r.payload, False) for r in rows]


def mark_delivered(conn: Connection, ids: list[int], now: datetime) -> None:
    conn.execute(update(outbox).where(outbox.c.id.in_(padded(ids))).values(delivered_at=now))


def purge(conn: Connection, before: datetime) -> int:
    """Forget delivered events written before ``before``."""
    result = conn.execute(
        delete(outbox).where(and_(outbox.c.delivered_at.is_not(None), outbox.c.created_at < before))
    )
    return result.rowcount or 0


def has_undelivered(conn: Connection, older_than: datetime | None = None) -> bool:
    """Whether an event waits for its one-process subscribers (written before ``older_than``, if given)."""
    query = select(outbox.c.id).where(outbox.c.delivered_at.is_(None))
    if older_than is not None:
        query = query.where(outbox.c.created_at < older_than)
    return conn.execute(query.limit(1)).first() is not None


def undelivered_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).where(outbox.c.delivered_at.is_(None))).scalar_one())
