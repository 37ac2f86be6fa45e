"""The few statements whose spelling differs between SQLite and PostgreSQL, and the way to either one's
driver (psycopg, sqlite3) for the statements too frequent for SQLAlchemy's execution path."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ClauseElement, Column, ColumnElement, Connection, Dialect, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert

_SQLITE = sqlite.dialect()
_SQLITE_NAMED = sqlite.dialect(paramstyle="named")
_POSTGRES = postgresql_psycopg.dialect()
T = TypeVar("T")


def padded(values: Iterable[T]) -> list[T]:
    """``values`` for an ``IN (…)``, their number rounded up to a power of two by repeating the last one,
    which means the same there. An ``IN`` of n values is spelt with n parameters, and SQLite's driver
    prepares every spelling a connection meets and keeps up to 128 of them, each a program of 5-30 KiB:
    the lists whose length follows the traffic (the threads of a batch of posts, the counts a request
    lacks, the outbox rows delivered) filled each connection with dozens of spellings of one query, 1-2
    MiB in every connection, where a power of two gives five or six."""
    items = list(values)
    if len(items) > 2:
        items += [items[-1]] * ((1 << (len(items) - 1).bit_length()) - len(items))
    return items


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: a row that would break a unique key is skipped, not an error."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_ignore_by_dialect(table: Table) -> dict[str, Insert]:
    """``insert_ignore`` of ``table`` for every dialect, by its name: for a statement built once, at import,
    and picked by ``conn.dialect.name`` on a write's path."""
    return {
        module.dialect.name: module.insert(table).on_conflict_do_nothing() for module in (postgresql, sqlite)
    }


def upsert_add(conn: Connection, table: Table, keys: dict[str, Any], column: str, amount: float) -> None:
    """Add ``amount`` to ``column`` of the row with ``keys``, creating it from zero if it is not there."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = module.insert(table).values(**keys, **{column: amount})
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={column: table.c[column] + statement.excluded[column]}
    )
    conn.execute(statement)


def upsert_add_many(
    conn: Connection,
    table: Table,
    keys: list[str],
    column: str,
    rows: list[dict[str, Any]],
    replace: Sequence[str] = (),
) -> None:
    """``upsert_add`` for many rows: one statement, compiled once and cached, executed for all the rows
    (SQLAlchemy batches them into multi-row inserts where the driver allows). Columns in ``replace`` take
    the row's new value."""
    if not rows:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = module.insert(table).values({name: bindparam(name) for name in [*keys, column, *replace]})
    changes = {column: table.c[column] + statement.excluded[column]}
    changes.update({name: statement.excluded[name] for name in replace})
    statement = statement.on_conflict_do_update(index_elements=keys, set_=changes)
    conn.execute(statement, rows)


def on_psycopg(conn: Connection, statement: str, parameters: dict[str, Any]) -> Any:
    """Run ``statement`` through psycopg itself, prepared, in the transaction SQLAlchemy began on ``conn``;
    its cursor. SQLAlchemy's execution context, result machinery and type processing cost more CPU than
    the small, frequent statements sent this way. A driver error is handled as SQLAlchemy handles it (a
    lost connection invalidated, a full disk noted: store/outage.py) and raised as its ``DBAPIError``."""
    driver = conn.connection.driver_connection
    assert driver is not None  # a connection in use has its driver's
    try:
        return driver.execute(statement, parameters, prepare=True)
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, statement, parameters, None, None)  # raises
        raise  # not reached


def on_sqlite(conn: Connection, statement: str, parameters: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """Run ``statement`` through the sqlite3 module itself, in the transaction SQLAlchemy began on ``conn``;
    its rows. For SQLite what ``on_psycopg`` is for PostgreSQL: SQLAlchemy's execution path (an execution
    context, parameter and result processing, a result object) cost several times the database's own work
    of the tiny statements of a like. A driver error is raised as SQLAlchemy raises it, so that a full or
    failing disk is told from a bug as for every other statement (store/outage.py). Listeners of
    ``before_cursor_execute`` (the tests' statement counters) hear of it as of any statement, without a
    cursor or an execution context."""
    driver = conn.connection.driver_connection
    assert driver is not None  # a connection in use has its driver's
    if conn._has_events or conn.engine._has_events:  # as SQLAlchemy asks before dispatching
        for listener in conn.dispatch.before_cursor_execute:
            statement, parameters = listener(conn, None, statement, parameters, None, False)
    try:
        return driver.execute(statement, parameters).fetchall()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, parameters, exc, sqlite3.Error) from exc


def sqlite_sql(statement: ClauseElement) -> str:
    """``statement`` as SQLite's text with named parameters (``:name``), compiled once, for ``on_sqlite``."""
    return str(statement.compile(dialect=_SQLITE_NAMED))


def sqlite_bind(column: Column[Any]) -> Callable[[Any], Any]:
    """How SQLAlchemy binds a value of ``column`` on SQLite (a time as its text, say), for ``on_sqlite``."""
    processor = column.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
    return processor if processor is not None else _as_it_is


def sqlite_row(columns: Sequence[ColumnElement[Any]]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """How SQLAlchemy reads a SQLite row of ``columns`` (times, JSON), for a row that ``on_sqlite`` fetched:
    the same values as the statement run through SQLAlchemy would give."""
    return _row_reader(_SQLITE, columns)


def postgres_sql(statement: ClauseElement) -> str:
    """``statement`` as psycopg's text with named parameters (``%(name)s``), compiled once, for
    ``on_psycopg``: the same statements as SQLAlchemy sends, each parameter cast to its column's type."""
    return str(statement.compile(dialect=_POSTGRES))


@dataclass(frozen=True)
class PostgresStatement:
    """A statement compiled once for ``on_psycopg``, with how SQLAlchemy binds each of its parameters
    (JSON written as its text, arrays as lists)."""

    sql: str
    binds: Mapping[str, Callable[[Any], Any]]

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self.binds.get(name, _as_it_is)(value) for name, value in values.items()}


# Bounded: the key is a statement's identity, so a caller that built its statement anew on every call would
# only miss, never hold more than this many. Its callers pass statements built at import and the few
# combinations of them a batch of writes makes (store/db.py).
@functools.lru_cache(maxsize=64)
def postgres_statement(statement: ClauseElement) -> PostgresStatement:
    """``postgres_sql`` of ``statement`` with its parameters' binding, once per statement: for statements
    built once (at import, or cached), as their identity is the key."""
    compiled = statement.compile(dialect=_POSTGRES)
    assert isinstance(compiled, SQLCompiler)  # a statement's, not a DDL's
    binds = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(_POSTGRES).bind_processor(_POSTGRES)
        if processor is not None:
            binds[name] = processor
    return PostgresStatement(str(compiled), binds)


def postgres_bind(column: Column[Any]) -> Callable[[Any], Any]:
    """How SQLAlchemy binds a value of ``column`` on PostgreSQL (a time in UTC, a naive one refused), for
    ``on_psycopg``."""
    processor = column.type.dialect_impl(_POSTGRES).bind_processor(_POSTGRES)
    return processor if processor is not None else _as_it_is


def postgres_row(columns: Sequence[ColumnElement[Any]]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """``sqlite_row`` for a row that ``on_psycopg`` fetched (a time in UTC, whatever the session's zone)."""
    return _row_reader(_POSTGRES, columns)


def _row_reader(
    dialect: Dialect, columns: Sequence[ColumnElement[Any]]
) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
    processed = [(n, processor) for n, processor in enumerate(processors) if processor is not None]

    def read(row: Sequence[Any]) -> tuple[Any, ...]:
        values = list(row)
        for n, processor in processed:
            values[n] = processor(values[n])
        return tuple(values)

    return read


def _as_it_is(value: Any) -> Any:
    return value
