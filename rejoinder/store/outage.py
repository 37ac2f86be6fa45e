"""Telling a storage outage (database unreachable, disk full) from a bug.

An outage is the server's problem, not the request's, and it passes: the web layer answers 503 with
``Retry-After`` for these instead of 500, so clients retry and nothing they sent is reported as broken.
"""

from __future__ import annotations

import errno
import sqlite3

import sqlalchemy.exc

# SQLite reports these as OperationalError with a message, not a code the driver exposes portably.
_SQLITE_OUTAGES = (
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
    "database is locked",
    "attempt to write a readonly database",
)
# PostgreSQL's SQLSTATE classes 08 (connection exception), 53 (insufficient resources: disk full, out of
# memory, too many connections) and 57P (operator intervention: shutdown, cannot connect now).
_POSTGRES_OUTAGE_STATES = ("08", "53", "57P")
_OS_OUTAGES = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
# PostgreSQL's disk_full; "could not extend file" is how it says so when a table or index needs a page.
_POSTGRES_DISK_FULL = "53100"


def outage(exc: BaseException) -> str | None:
    """A short reason when ``exc`` means storage is unavailable for now; None for anything else."""
    if isinstance(exc, sqlalchemy.exc.TimeoutError):
        return "no database connection is free"
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return "the database connection was lost"
        return _driver_outage(exc.orig)
    if isinstance(exc, OSError) and exc.errno in _OS_OUTAGES:
        return "the disk is full or failing"
    return None


def _driver_outage(orig: BaseException | None) -> str | None:
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "the database file cannot be written" if any(m in message for m in _SQLITE_OUTAGES) else None
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and state.startswith(_POSTGRES_OUTAGE_STATES):
        return "the database is unavailable"
    if type(orig).__name__ == "OperationalError" and state is None:
        return "the database is unreachable"  # psycopg: connection refused, before any SQLSTATE exists
    return None


def postgres_disk_full(exc: BaseException) -> str | None:
    """PostgreSQL's own message when ``exc`` (or the driver error it wraps) says its disk is full."""
    orig = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    if getattr(orig, "sqlstate", None) == _POSTGRES_DISK_FULL:
        return str(orig).strip().splitlines()[0] if str(orig).strip() else "disk full"
    return None
