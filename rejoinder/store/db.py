"""Engines and transactions for SQLite (WAL, one writer) and PostgreSQL.

Services open ``db.read()`` or ``db.write()``; a write commits when its block ends, and only then may
the service report success. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` on a
single pooled connection, so writers queue in-process instead of failing with "database is locked".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from rejoinder.errors import ConfigurationError

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # a 2xx means the comment survives a power cut, not just a crash
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


class Database:
    """The store of one server: a reader and a writer engine (the same one on PostgreSQL)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite":
            self.writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1, echo=echo)
            self.reader = _sqlite_engine(url, begin="BEGIN", pool_size=8, echo=echo)
        elif self.backend == "postgresql":
            if parsed.drivername == "postgresql":
                url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
            self.writer = self.reader = create_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, echo=echo
            )
        else:
            raise ConfigurationError(f"unsupported database {url!r}: use sqlite:/// or postgresql+psycopg://")

    @property
    def engines(self) -> tuple[Engine, ...]:
        return (self.writer,) if self.writer is self.reader else (self.writer, self.reader)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends without an exception."""
        with self.writer.begin() as conn:
            yield conn

    def ping(self) -> None:
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


def _sqlite_engine(url: str, *, begin: str, pool_size: int, echo: bool) -> Engine:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError("SQLite needs a file path, e.g. sqlite:///rejoinder-data/rejoinder.db")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        echo=echo,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine
