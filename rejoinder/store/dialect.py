"""The few statements whose spelling differs between SQLite and PostgreSQL, and the way to PostgreSQL's
driver for the statements too frequent for SQLAlchemy's execution path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: a row that would break a unique key is skipped, not an error."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


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
