"""Migrations build exactly the declared schema, know what is pending, and can be applied again safely."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, text

from rejoinder.store.db import Database
from rejoinder.store.migrate import head_revisions, is_current, pending, upgrade
from rejoinder.store.schema import metadata
from rejoinder.store.sites import get_site, insert_site


@pytest.fixture
def empty_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
        return
    session_url: str = request.getfixturevalue("postgres_url")
    name = f"rejoinder_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(session_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(session_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def schema_differences(db: Database) -> list[Any]:
    with db.reader.connect() as conn:
        options = {"compare_type": True, "compare_server_default": True}
        context = MigrationContext.configure(conn, opts=options)
        return compare_metadata(context, metadata)  # type: ignore[no-any-return]


def old_site_and_thread(conn: Connection, now: datetime, *, comment_count: int) -> tuple[int, int]:
    """A site and a thread written by plain SQL, as a database of an earlier revision holds them."""
    site_id = insert_site(conn, key="old", name="Old", allowed_origins=[], settings={}, now=now).id
    conn.execute(
        text(
            "INSERT INTO threads (site_id, url, title, created_at, closed, comment_count)"
            " VALUES (:site, 'https://old.example/a', '', :now, false, :count)"
        ),
        {"site": site_id, "now": now, "count": comment_count},
    )
    return site_id, conn.execute(text("SELECT id FROM threads")).scalar_one()


def test_an_empty_database_has_every_migration_pending(empty_db: Database) -> None:
    assert pending(empty_db) != []
    assert pending(empty_db)[-1] == "0001"  # newest first, down to the initial schema
    assert len(schema_differences(empty_db)) >= len(metadata.tables)  # the comparison does see tables


def test_after_upgrade_the_schema_is_exactly_the_declared_one(empty_db: Database) -> None:
    upgrade(empty_db)
    assert pending(empty_db) == []
    assert schema_differences(empty_db) == []
    tables = set(inspect(empty_db.reader).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)


def test_the_head_is_read_from_the_scripts_as_alembic_reads_it(empty_db: Database) -> None:
    from alembic.script import ScriptDirectory

    from rejoinder.store.migrate import _config

    assert head_revisions() == set(ScriptDirectory.from_config(_config(empty_db)).get_heads())
    assert not is_current(empty_db)  # no alembic_version table at all
    upgrade(empty_db, "0005")
    assert not is_current(empty_db)
    upgrade(empty_db)
    assert is_current(empty_db)


def test_starting_on_a_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    """What ``serve`` does first: a server started on a current database never needs the 9 MB."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    program = (
        "import sys\n"
        "from rejoinder.cli.options import migrate\n"
        "from rejoinder.settings import Settings\n"
        f"migrate(Settings(database_url={url!r}))\n"
        "print('alembic' in sys.modules)\n"
    )
    command = [sys.executable, "-c", program]
    first, again = (subprocess.run(command, capture_output=True, text=True) for _ in "12")
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")


def test_upgrading_twice_is_harmless(empty_db: Database) -> None:
    upgrade(empty_db)
    with empty_db.write() as conn:
        insert_site(conn, key="kept", name="Kept", allowed_origins=[], settings={}, now=datetime.now(UTC))
    upgrade(empty_db)
    assert pending(empty_db) == []
    assert schema_differences(empty_db) == []
    with empty_db.read() as conn:
        site = get_site(conn, "kept")
    assert site is not None and site.name == "Kept"


def test_decisions_taught_before_scores_were_kept_get_their_comments_score(empty_db: Database) -> None:
    upgrade(empty_db, "0003")
    now = datetime.now(UTC)
    with empty_db.write() as conn:
        site_id, thread_id = old_site_and_thread(conn, now, comment_count=0)
        conn.execute(
            text(
                "INSERT INTO comments (thread_id, author_name, author_email, author_website, body, html,"
                " status, created_at, remote_addr, user_agent, like_count, version, spam_score)"
                " VALUES (:thread, '', '', '', 'x', 'x', 'spam', :now, '', '', 0, 1, 0.625)"
            ),
            {"thread": thread_id, "now": now},
        )
        comment_id = conn.execute(text("SELECT id FROM comments")).scalar()
        for key in (f"comment:{comment_id}", "akismet:0123abcd"):
            conn.execute(
                text(
                    "INSERT INTO spam_training (site_id, item_key, is_spam, delta, domains, created_at)"
                    " VALUES (:site, :key, true, '{}', '[]', :now)"
                ),
                {"site": site_id, "key": key, "now": now},
            )
    upgrade(empty_db)
    with empty_db.read() as conn:
        rows = dict(conn.execute(text("SELECT item_key, score FROM spam_training")).all())
    assert rows == {f"comment:{comment_id}": 0.625, "akismet:0123abcd": None}


def test_rebuilt_tables_keep_the_rows_that_refer_to_them(empty_db: Database) -> None:
    """SQLite alters a table by copying it and dropping the old one; with foreign keys enforced, the drop
    would delete the old rows one by one, cascading to replies and likes, and scan every referring table
    for each of them. The upgrade runs without enforcement, checks the keys, and enforces them again."""
    upgrade(empty_db, "0004")
    now = datetime.now(UTC)
    with empty_db.write() as conn:
        _, thread_id = old_site_and_thread(conn, now, comment_count=3)
        parent = None
        for body in ("first", "a reply", "a reply to the reply"):
            conn.execute(
                text(
                    "INSERT INTO comments (thread_id, parent_id, root_id, author_name, author_email,"
                    " author_website, body, html, status, created_at, remote_addr, user_agent, like_count,"
                    " version) VALUES (:thread, :parent, :root, '', '', '', :body, :body, 'published',"
                    " :now, '', '', 1, 1)"
                ),
                {"thread": thread_id, "parent": parent, "root": parent and 1, "body": body, "now": now},
            )
            parent = conn.execute(text("SELECT max(id) FROM comments")).scalar()
            conn.execute(
                text("INSERT INTO likes (comment_id, liker_key, created_at) VALUES (:c, :liker, :now)"),
                {"c": parent, "liker": f"reader-{parent}", "now": now},
            )
    upgrade(empty_db)
    with empty_db.read() as conn:
        replies = conn.execute(text("SELECT count(*) FROM comments WHERE parent_id IS NOT NULL")).scalar()
        likes = conn.execute(text("SELECT count(*) FROM likes")).scalar()
    assert (replies, likes) == (2, 3)
    if empty_db.url.startswith("sqlite"):
        with empty_db.write() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
