"""The few statements whose spelling differs between SQLite and PostgreSQL."""

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
