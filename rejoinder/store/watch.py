"""Whether anything was committed to the database since a poller last looked, for the price of one cheap
statement on a connection of the poller's own.

The event bus tails the outbox twice a second and the job runner looks for due jobs every few seconds, in
every process, whether or not anything happened. On SQLite a connection's ``PRAGMA data_version`` changes
whenever any other connection, in this process or another, commits. On PostgreSQL the server's current
snapshot (``pg_current_snapshot()``: the oldest transaction still running, the next transaction id, the
ones running in between) changes whenever a transaction that wrote anything commits or starts writing: a
transaction running at one look is listed in it, and one that got its id after the look moves the next
id. The snapshot is the whole server's, so another database's writes make the poller look too, as it did
every time before. A poller that saw the same version last time has nothing new to read.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from typing import Any, Protocol

from sqlalchemy import Engine

Version = int | str

_SNAPSHOT = "SELECT pg_current_snapshot()::text"


class CommitWatch(Protocol):
    def version(self) -> Version | None:
        """A value that differs from the last one read whenever something was committed in between; None
        when unknown (the database could not be asked): then the caller must look."""

    def close(self) -> None: ...


class SqliteCommitWatch:
    """One poller's view of the database's commits: a connection of its own that only ever reads the
    pragma (a connection's own commits do not move its version, so it must never write)."""

    def __init__(self, path: str | None) -> None:
        self._path = path  # None: no file to watch (a database in memory): the caller looks every time
        self._conn: sqlite3.Connection | None = None

    def version(self) -> Version | None:
        if self._path is None:
            return None
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self.close()  # a new connection next time: its first version is new to the caller, who looks
            return None

    def close(self) -> None:
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


class PostgresCommitWatch:
    """One poller's view of the server's commits: a driver connection of its own, outside the engine's
    pool, in autocommit, that only reads the snapshot. Through the pool each look cost a checkout, a
    transaction and its reset, most of the idle server's CPU."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Any = None  # psycopg.Connection, once connected

    def version(self) -> Version | None:
        dialect = self._engine.dialect
        try:
            if self._conn is None:
                cargs, cparams = dialect.create_connect_args(self._engine.url)
                self._conn = dialect.connect(*cargs, **cparams)
                self._conn.autocommit = True
            return str(self._conn.execute(_SNAPSHOT, prepare=True).fetchone()[0])
        except dialect.loaded_dbapi.Error:
            self.close()  # a new connection next time; until then the caller looks every time
            return None

    def close(self) -> None:
        if self._conn is not None:
            with suppress(self._engine.dialect.loaded_dbapi.Error):
                self._conn.close()
            self._conn = None
