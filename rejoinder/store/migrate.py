"""Applying Alembic migrations from inside the package, without an alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from rejoinder.store.db import Database


def _config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", "rejoinder.store:migrations")
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    config = _config(db)
    with db.writer.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def pending(db: Database) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    script = ScriptDirectory.from_config(_config(db))
    with db.reader.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return [r.revision for r in script.walk_revisions() if r.revision not in applied]
