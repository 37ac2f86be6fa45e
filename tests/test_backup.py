"""``rejoinder backup`` and ``restore``: copies taken while the server writes, checked, restored whole."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from rejoinder.backup import BackupError, backup, restore
from rejoinder.context import Context
from rejoinder.settings import Settings, load_settings
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.conftest import POSTGRES_ADMIN_URL
from tests.helpers import ARTICLE, comment_payload, post, read
from tests.test_process import ENV, rejoinder, serving


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rejoinder", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sqlite_ids(path: Path) -> set[int]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM comments")}


@pytest.mark.slow
def test_a_backup_taken_while_the_server_writes_restores_every_acknowledged_comment(tmp_path: Path) -> None:
    file = tmp_path / "served.db"
    database = f"sqlite:///{file}"
    rejoinder(
        "admin", "site", "create", "smoke", "--set", "spam_filter=false", "--database", database, cwd=tmp_path
    )
    copy = tmp_path / "backups" / "rejoinder-backup.db"
    copy.parent.mkdir()
    acknowledged: list[int] = []
    stop = threading.Event()

    with serving(tmp_path, "serve", database) as server:

        def write() -> None:
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                while not stop.is_set():
                    payload = comment_payload(f"Comment {len(acknowledged)}", site="smoke")
                    response = http.post("/api/v1/comments", json=payload)
                    assert response.status_code == 201, response.text
                    acknowledged.append(response.json()["comment"]["id"])

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while len(acknowledged) < 30:
                time.sleep(0.01)
            before = set(acknowledged)
            backed_up = rejoinder("backup", str(copy), "--database", database, cwd=tmp_path).stdout
            during = set(acknowledged)
            while len(acknowledged) < len(during) + 30:  # the server goes on writing after the backup
                time.sleep(0.01)
        finally:
            stop.set()
            writer.join()

        reported = re.match(r"backed up (\d+) comments: (\S+) \((.+)\)", backed_up)
        assert reported is not None, backed_up
        assert Path(reported.group(2)) == copy and "integrity_check ok" in reported.group(3)
        saved = sqlite_ids(copy)
        assert int(reported.group(1)) == len(saved)
        assert before <= saved <= during  # every comment acknowledged before it began; none made up
        assert not Path(f"{copy}-wal").exists() and not copy.with_name(copy.name + ".partial").exists()

        refused = run("restore", str(copy), "--database", database, cwd=tmp_path)
        assert refused.returncode != 0
        assert "is open in another process (a running server?)" in refused.stderr
        assert sqlite_ids(file) == set(acknowledged)  # untouched
        assert server.stop(signal.SIGTERM) == 0

    restored = rejoinder("restore", str(copy), "--database", database, cwd=tmp_path).stdout
    assert restored.startswith(f"restored {len(saved)} comments: {copy} ")
    assert sqlite_ids(file) == saved
    with serving(tmp_path, "serve", database) as server:
        page = server.http.get("/api/v1/comments", params={"site": "smoke", "url": ARTICLE}).json()
        assert page["thread"]["comment_count"] == len(saved)
        posted = server.http.post("/api/v1/comments", json=comment_payload("After the restore", site="smoke"))
        assert posted.status_code == 201


@pytest.fixture
def empty_store(backend: str, tmp_path: Path, settings: Settings) -> Iterator[Settings]:
    """Settings naming a store with nothing in it yet: a new file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'restored' / 'new.db'}"})
        return
    name = f"rejoinder_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield settings.model_copy(update={"database_url": POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"})
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def test_a_backup_restores_into_an_empty_store_with_every_comment(
    client: httpx.AsyncClient, site: str, settings: Settings, empty_store: Settings, tmp_path: Path
) -> None:
    for n in range(5):
        await post(client, f"Kept {n}")
    target = tmp_path / "backup.bin"
    report = backup(settings, target)
    assert report.comments == 5 and report.size_bytes == target.stat().st_size > 0
    assert report.summary().startswith(f"backed up 5 comments: {target} (")

    restored = restore(empty_store, target)
    assert restored.comments == 5
    context = open_context(empty_store)
    transport = httpx.ASGITransport(app=create_app(empty_store, context=context))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = await read(http, site=site)
        assert sorted(c["html"] for c in page["comments"]) == [f"<p>Kept {n}</p>" for n in range(5)]
    finally:
        context.close()


def test_restore_refuses_a_store_in_use(ctx: Context, settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup.bin"
    backup(settings, target)
    ctx.db.ping()  # the context holds a connection open, as a serving process does
    with pytest.raises(BackupError) as refused:
        restore(settings, target)
    assert refused.value.fields == {"database_url": "must not be in use"}


def test_restore_refuses_what_is_not_a_rejoinder_backup(sqlite_template: Path, tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    live.write_bytes(sqlite_template.read_bytes())
    settings = load_settings(environ={}, overrides={"database_url": f"sqlite:///{live}"})
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="is not a SQLite database"):
        restore(settings, garbage)
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(BackupError, match="is not a Rejoinder database"):
        restore(settings, other)
    with pytest.raises(BackupError, match="is not a file"):
        restore(settings, tmp_path / "missing.db")


def test_a_forced_restore_replaces_a_database_that_something_holds_open(
    sqlite_template: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live.db"
    live.write_bytes(sqlite_template.read_bytes())
    live_settings = load_settings(environ={}, overrides={"database_url": f"sqlite:///{live}"})
    source = tmp_path / "source.db"
    source.write_bytes(sqlite_template.read_bytes())
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    stale = sqlite3.connect(live)
    try:
        stale.execute("PRAGMA journal_mode=WAL").fetchone()
        with pytest.raises(BackupError):
            restore(live_settings, source)
        assert restore(live_settings, source, force=True).comments == 0
    finally:
        stale.close()
    assert not live.with_name("live.db.restoring").exists()


def test_without_pg_dump_the_error_says_what_to_run(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no PostgreSQL client on it
    if settings.database_url.startswith("sqlite"):
        assert backup(settings, tmp_path / "copy.db").comments == 0  # SQLite needs no tool
        return
    with pytest.raises(BackupError) as missing:
        backup(settings, tmp_path / "dump")
    assert "pg_dump is not on PATH" in missing.value.message
    assert f"pg_dump --format=custom --file={tmp_path / 'dump'} 'postgresql://" in missing.value.message
