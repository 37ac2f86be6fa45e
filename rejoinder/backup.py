"""Backups of the store, taken while the server runs, and their restoration.

SQLite: SQLite's own backup API copies the database inside one read transaction, a consistent snapshot
that writers (WAL mode) never wait for; the copy is checked (``PRAGMA integrity_check``) before it takes
the backup's name. A restore writes the new database beside the old one and renames it into place, so a
crash leaves one or the other, never a mixture; it refuses a database that a server has open.

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore``, which know PostgreSQL better than we could;
without them on PATH, the error says what to run instead.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from rejoinder.errors import RejoinderError
from rejoinder.settings import Settings
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.store.stats import comment_count

MADE_BY_BACKUP = "must be a backup made by rejoinder backup"


class BackupError(RejoinderError):
    code = "backup_failed"


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size_bytes: int
    comments: int
    seconds: float
    checked: str  # what verified the copy

    def summary(self, done: str = "backed up") -> str:
        return (
            f"{done} {self.comments:,} comments: {self.path} "
            f"({_size(self.size_bytes)}, {self.seconds:.2f} s; {self.checked})"
        )


def backup(settings: Settings, target: Path) -> BackupReport:
    """Copy the store to ``target`` (a SQLite file, or a pg_dump archive) and check the copy."""
    started = time.monotonic()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        comments, checked = _sqlite_backup(_sqlite_file(url), target)
    else:
        comments, checked = _pg_dump(url, target)
    return BackupReport(target, target.stat().st_size, comments, time.monotonic() - started, checked)


def restore(settings: Settings, source: Path, *, force: bool = False) -> BackupReport:
    """Replace the store with the backup in ``source``, then bring its schema up to date."""
    started = time.monotonic()
    if not source.is_file():
        raise BackupError(f"{source} is not a file", {"FILE": MADE_BY_BACKUP})
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        checked = _sqlite_restore(source, _sqlite_file(url), force=force)
    else:
        checked = _pg_restore(url, source, force=force)
    db = Database(settings.database_url)
    try:
        upgrade(db)
        with db.read() as conn:
            comments = comment_count(conn)
    finally:
        db.dispose()
    return BackupReport(source, source.stat().st_size, comments, time.monotonic() - started, checked)


# SQLite


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("the SQLite database has no file to back up", {"database_url": "must name a file"})
    return Path(url.database)


def _sqlite_backup(database: Path, target: Path) -> tuple[int, str]:
    if not database.is_file():
        raise BackupError(
            f"there is no database at {database}", {"database_url": "must name an existing file"}
        )
    with _beside(target, ".partial") as partial:
        with (
            closing(sqlite3.connect(database, timeout=30)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            # One step (pages=-1): the whole copy inside one read transaction, a consistent snapshot.
            source.backup(copy)
            comments = _verified(copy, partial)
        os.replace(partial, target)
    _sync_directory(target.parent)
    return comments, "integrity_check ok"


def _sqlite_restore(source: Path, database: Path, *, force: bool) -> str:
    if database.exists() and not force and _in_use(database):
        raise BackupError(
            f"{database} is open in another process (a running server?): stop it first, or restore with "
            "--force and restart every server on it at once",
            {"database_url": "must not be in use"},
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    with _beside(database, ".restoring") as incoming:
        with closing(_open_backup(source)) as backup_db, closing(sqlite3.connect(incoming)) as copy:
            backup_db.backup(copy)
            _verified(copy, source)
        # The old database's write-ahead log must not be replayed into the new file.
        for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(incoming, database)
    _sync_directory(database.parent)
    return "integrity_check ok"


def _open_backup(source: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{source} is not a SQLite database ({exc})",
            {"FILE": MADE_BY_BACKUP},
        ) from exc
    return conn


def _verified(copy: sqlite3.Connection, name: Path) -> int:
    """The copy's comment count, once it has proved whole and a Rejoinder database; in DELETE mode."""
    copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, with no -wal beside it
    problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(
            f"{name} failed its integrity check: {'; '.join(problems[:5])}", {"FILE": "must be intact"}
        )
    try:
        (comments,) = copy.execute("SELECT count(*) FROM comments").fetchone()
    except sqlite3.OperationalError as exc:
        raise BackupError(
            f"{name} is not a Rejoinder database ({exc})",
            {"FILE": MADE_BY_BACKUP},
        ) from exc
    return int(comments)


def _in_use(database: Path) -> bool:
    """Whether another connection has the database open: SQLite refuses to leave WAL mode then."""
    try:
        with closing(sqlite3.connect(database, timeout=0, isolation_level=None)) as probe:
            mode = probe.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        return True
    return str(mode).lower() != "delete"


@contextmanager
def _beside(path: Path, suffix: str) -> Iterator[Path]:
    """A scratch file next to ``path`` (same filesystem, so renaming it is atomic), removed on failure."""
    scratch = path.with_name(path.name + suffix)
    scratch.unlink(missing_ok=True)
    try:
        yield scratch
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# PostgreSQL


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL pg_dump understands, without the password (which goes in the environment, not ``ps``)."""
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain, env


def _tool(name: str, command: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client tools (Debian: apt install "
            f"postgresql-client, the same major version as the server) or run it yourself: {command}",
            {name: "must be on PATH"},
        )
    return found


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()}", {})


def _pg_dump(url: URL, target: Path) -> tuple[int, str]:
    plain, env = _libpq(url)
    pg_dump = _tool("pg_dump", f"pg_dump --format=custom --file={target} '{plain}'")
    pg_restore = _tool("pg_restore", f"pg_restore --list {target}")
    with _beside(target, ".partial") as partial:
        _run([pg_dump, "--format=custom", f"--file={partial}", f"--dbname={plain}"], env)
        _run([pg_restore, "--list", str(partial)], env)  # reads the whole table of contents back
        os.replace(partial, target)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            comments = comment_count(conn)
    finally:
        engine.dispose()
    return comments, "pg_restore --list ok; comments counted on the live database"


def _pg_restore(url: URL, source: Path, *, force: bool) -> str:
    plain, env = _libpq(url)
    pg_restore = _tool(
        "pg_restore",
        f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname='{plain}' {source}",
    )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            others = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if others and not force:
        raise BackupError(
            f"{others} other sessions are connected to the database (a running server?): stop them first, "
            "or restore with --force and restart every server at once",
            {"database_url": "must not be in use"},
        )
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={plain}",
            str(source),
        ],
        env,
    )
    return "pg_restore ok"


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KiB"
