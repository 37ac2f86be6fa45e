"""Applying Alembic migrations from inside the package, without an alembic.ini.

Alembic is imported only when there is something to apply: ``is_current`` answers without it, so a server
started on a current database does not carry Alembic and the migration scripts (9 MB) for its whole life.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from rejoinder.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_LINKS = re.compile(r"^(revision|down_revision)\s*=\s*(.+)$", re.MULTILINE)


def head_revisions() -> set[str]:
    """The revisions no other revision builds on, read from the scripts' ``revision = ...`` lines."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        for name, value in _LINKS.findall(script.read_text(encoding="utf-8")):
            linked = ast.literal_eval(value.strip())
            linked = {linked} if isinstance(linked, str) else set(linked or ())
            (revisions if name == "revision" else parents).update(linked)
    return revisions - parents


def is_current(db: Database) -> bool:
    """Whether the database is at the head revision (False for a new or unreachable one)."""
    try:
        with db.reader.connect() as conn:
            applied = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:  # no alembic_version table yet, or no database: upgrading will say
        return False
    return applied == head_revisions()


def _config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "rejoinder.store:migrations")
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    config = _config(db)
    with db.writer.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(conn, on=False)
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            if sqlite:
                _check_foreign_keys(conn)
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                _foreign_keys(conn, on=True)


def _foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign-key enforcement, outside any transaction (inside one SQLite ignores it).

    SQLite alters a table by copying it and dropping the old one, and a ``DROP TABLE`` with enforcement on
    first deletes the rows one by one, each checked against every table that refers to it: the comments of
    a 30,000-comment site took tens of minutes to rebuild, against seconds without. SQLite's own procedure
    for altering tables switches enforcement off and checks the keys before the commit, as here."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"migration left {len(broken)} broken foreign keys in {', '.join(tables)}")


def pending(db: Database) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config(db))
    with db.reader.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return [r.revision for r in script.walk_revisions() if r.revision not in applied]
