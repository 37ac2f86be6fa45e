"""Whether anything was committed to the database since a poller last looked, for the price of one pragma.

The event bus tails the outbox twice a second and the job runner looks for due jobs every few seconds, in
every process, whether or not anything happened. On SQLite a connection's ``PRAGMA data_version`` changes
whenever any other connection, in this process or another, commits: a poller that saw the same version
last time has nothing new to read. PostgreSQL has no such counter; there the version is unknown and the
pollers read as before.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress


class CommitWatch:
    """One poller's view of the database's commits: a connection of its own that only ever reads the
    pragma (a connection's own commits do not move its version, so it must never write)."""

    def __init__(self, sqlite_path: str | None) -> None:
        self._path = sqlite_path
        self._conn: sqlite3.Connection | None = None

    def version(self) -> int | None:
        """A number that differs from the last one read whenever something was committed in between; None
        when unknown (PostgreSQL, or the file could not be read): then the caller must look."""
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
