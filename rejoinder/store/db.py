"""Engines and transactions for SQLite (WAL, one writer) and PostgreSQL.

Services open ``db.read()`` or ``db.write()``; a write commits when its block ends, and only then may
the service report success. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` on a
single pooled connection, so writers queue in-process instead of failing with "database is locked".
The busiest writes go through ``db.transaction(work)``, which commits the work of every writer waiting
at that moment in one transaction and one fsync (group commit), on SQLite and on PostgreSQL alike.

What the pieces of work of a group commit read before they write can be asked for the whole group at
once: a piece names a ``LookAhead`` and its own question (``transaction(work, ahead=(lookup, question))``),
and every lookup is run once, with every question of the batch, before the first piece runs. On
PostgreSQL each statement is a round trip the whole batch waits for, so the batch's round trips no longer
grow with its size.

Whatever a transaction notes with ``after_commit(conn, item)`` (the events it wrote to the outbox) is
handed to ``Database.on_commit`` once the transaction has committed, and dropped if it rolls back. Writes
whose results nobody in the transaction reads (counters, outbox rows) can wait with ``at_commit`` until
just before the commit, so that a group of writers makes them in one statement instead of one each.

On PostgreSQL a batch of the posts' lane makes two round trips where it made six: its lookups run on
their own (autocommit: no ``BEGIN`` before them), and the writes kept for its commit, each given as a
``Part``, go in one statement of ``WITH`` clauses that commits on its own as well, unless a piece of the
batch ran statements of its own (its transaction then begins with that statement and commits as usual).
Every answer from PostgreSQL waits for the GIL in its committer thread beside a loop serving readers, so
each round trip saved is a wait saved.

A piece that refuses on its own account (a ``RejoinderError``: a comment that must first pay a proof of
work, a reply to a held comment) is its writer's answer, and no one else's. In a batch of the loop's
writes on SQLite it is undone alone, to a savepoint, and the rest commit as if it had not come; elsewhere
the batch is committed again without it. It is never run a second time, nor does it make the other
pieces each commit alone, as a failure of the database's does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import anyio
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    RootTransaction,
    Select,
    create_engine,
    event,
    false,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError

from rejoinder.errors import ConfigurationError, RejoinderError
from rejoinder.store.commit_pace import CommitPace
from rejoinder.store.dialect import on_psycopg, on_sqlite, postgres_statement
from rejoinder.store.outage import postgres_disk_full
from rejoinder.store.settling import SETTLED_AT_ONCE, WriterFuture
from rejoinder.store.watch import CommitWatch, PostgresCommitWatch, SqliteCommitWatch

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # a 2xx means the comment survives a power cut, not just a crash
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)
# Each connection kept SQLite's default 2 MiB page cache, 16 MiB resident for eight readers once warm, for
# pages the operating system caches anyway: a reader loads a thread once, then the read cache answers. The
# writer's filled up too as the database grew; a write touches a few pages of each index, and a page
# that left the cache is read again from the operating system's.
SQLITE_CACHE_PRAGMAS = ("PRAGMA cache_size=-512",)  # KiB
# The writer never checkpoints the WAL in its COMMIT (SQLite's default, once 1,000 pages have gathered):
# the loop's batches COMMIT on the loop, and a checkpoint, which copies those pages into the database file
# and waits for its fsync, took 10-70 ms on a busy machine. ``Database.checkpoint`` does it in a thread.
SQLITE_WRITER_PRAGMAS = ("PRAGMA wal_autocheckpoint=0",)
# How often the WAL is checkpointed while writes come: at most this much of them gathers in it.
CHECKPOINT_EVERY_SECONDS = 0.5
# SQLite readers of one process: the ``sqlite_readers`` setting's default, as is for the tools that open
# the database once (migrations, restores). Each holds its own copy of the schema
# (~140 KiB) and a page cache (up to 512 KiB); their statements run on at most as many cores as the
# machine has, and the read cache answers most reads without them.
SQLITE_READERS = 4


# SQLite: how long the loop's batch runs statements before it lets the loop answer readers. A batch of 32
# posts is 10-40 ms of statements; cut into slices of this length, readers wait one slice, not the batch.
# With the server's loop the bound (32 writers beside 32 readers, a whole core), every turn a reader waits
# holds a slice of statements and a slice of posts' starts (``web/turns.py``): slices of 4 ms put the
# readers at p99 65-81 ms beside 876-1,015 writes/s, of 1 ms at 40-45 ms beside 652-740 (docs/benchmarks.md,
# "SQLite readers beside 32 writers: the writes' slices of a turn").
LOOP_SLICE_SECONDS = 0.001

# SQLite: a COMMIT of the loop's batch (its fsync) that takes no longer than this runs on the loop. In a
# thread it cost the batch's writers two hand-offs of the GIL, each up to the interpreter's switch interval
# (5 ms) while the loop answers readers, and a turn of the loop: ten times a local disk's fsync. While most
# of the recent ones are slower (a busy or remote disk: ``CommitPace``), the loop's COMMITs go to a thread
# for a while, where the loop answers readers while the disk works; then the loop tries again. 0: every
# COMMIT in a thread. Not a slice's length: a COMMIT cannot be cut, and a local disk's stays well within
# 4 ms (p99 0.5-0.7 ms of the loop's CPU beside 32 writers) where a busy disk's does not (fsync p90 8 ms).
QUICK_COMMIT_SECONDS = 0.004
SLOW_COMMITS_IN_THREAD_SECONDS = 10.0

# Batches of the event loop's writes committing at once on PostgreSQL: one. The posts arriving while a batch
# commits form the next one, so a batch's costs are shared: its thread's wake-ups, its two round trips
# (each waking a PostgreSQL backend, then the committer), its publish. On a quiet machine of two cores,
# shared with the harness's client and PostgreSQL, those wake-ups are what a write waits for, and one
# committer gave more writes with 8 and 32 writers, and more answers to the readers beside them, than two
# (docs/benchmarks.md, "one committer on a quiet machine"). On a machine whose cores its neighbours took
# (a load of 5-8), a batch took ~22 ms and two did better with 32 writers: the figure is sized for a
# machine that runs its own server. With four, a batch held 1.1-1.4 posts at 8 writers.
POSTGRES_COMMITTERS = 1
# The same for small writes (``transaction_async(small=True)``: a like, one statement of its own). Their
# cost is the transaction's, not their statements' (BEGIN, COMMIT, the outbox row, the thread hand-off,
# the publish to other processes): with four committers at c8 each batch held one like; with fewer, the
# likes arriving while a batch commits form the next one, and cost that once between them. One committer
# made the fewest transactions (0.3 a like), but on a busy machine each of its round trips waited for the
# GIL in turn and the rate fell by a third; two overlap those waits (0.55 a like).
POSTGRES_SMALL_COMMITTERS = 2
# PostgreSQL: a committed batch of posts' writers go on in the turn of the loop that settles them
# (``WriterFuture``) while at most this many posts are in flight, and a turn later, as any future's, when
# more are. With 8 writers beside readers the turns saved are a share of each write (their rate is their
# latency's); with 32, whose batches are large, going on at once took the readers' share of the loop
# instead (docs/benchmarks.md, "writers that go on in the turn that settles them, while few are in
# flight"). Small writes (likes) always go on a turn later: their rate follows how many share a
# transaction, and a liker back sooner makes smaller batches.
SETTLE_AT_ONCE_IN_FLIGHT = 8
# A pooled PostgreSQL connection unused for this long is pinged before use (a restarted server or a cut
# network leaves it dead); a busy one is not: a ping is a round trip, and every transaction paid one.
POSTGRES_PING_AFTER_IDLE = 2.0  # seconds

log = logging.getLogger(__name__)
T = TypeVar("T")
_AFTER_COMMIT = "rejoinder.after_commit"
_AT_COMMIT = "rejoinder.at_commit"
_AS_PARTS = "rejoinder.as_parts"
_IN_ONE_STATEMENT = "rejoinder.in_one_statement"
Flush = Callable[[Connection, list[Any]], None]
# Answers many pieces' questions in one statement, each into its question (a mutable object of the
# lookup's own), or leaves them unanswered (the piece then asks on its own).
LookAhead = Callable[[Connection, list[Any]], None]


class Heard(Protocol):
    """What a batch's writers wait for after its commit before they hear of it: a publication to other
    processes, sent by the committer, whose answer the writers' event loop reads (``held_answers``)."""

    def when_heard(self, then: Callable[[], None]) -> None:
        """On the event loop: call ``then`` on it once the others have the news (at once if they have)."""


def backend_of(url: str) -> str:
    """The backend a database URL names, as ``Database.backend`` says it: "sqlite", "postgresql"."""
    return make_url(url).get_backend_name()


def after_commit(conn: Connection, item: Any) -> None:
    """Hand ``item`` to ``Database.on_commit`` once this transaction commits (never if it rolls back)."""
    conn.info[_AFTER_COMMIT].append(item)


@dataclass(frozen=True)
class Part:
    """The writes of one kind kept for the commit (``at_commit``), as one part of a single statement.

    ``statement`` is an INSERT or UPDATE built once, taking every row in bind parameters whose names no
    other part uses (``params``); one that returns ids (``RETURNING id``) names ``returned``, which is
    given them in ascending order: the order they were taken from the table's sequence."""

    statement: Any
    params: dict[str, Any]
    returned: Callable[[list[int]], None] | None = None


AsPart = Callable[[Connection, list[Any]], Part]


def at_commit(
    conn: Connection,
    flush: Callable[[Connection, list[T]], None],
    as_part: Callable[[Connection, list[T]], Part] | None = None,
) -> list[T] | None:
    """The list of this transaction's items that ``flush(conn, items)`` writes in one go just before the
    commit (in the transaction: if it fails, the transaction fails), or None outside a transaction of
    ``Database`` (write then and there). For writes that nothing later in the transaction reads: a group
    commit of 30 comments then costs one outbox statement instead of 30 round trips. ``as_part``: the
    same writes as a ``Part``, for a batch that writes all its kinds in one statement (PostgreSQL)."""
    pending: dict[Flush, list[Any]] | None = conn.info.get(_AT_COMMIT)
    if pending is None:
        return None
    if as_part is not None:
        conn.info[_AS_PARTS].setdefault(flush, as_part)
    return pending.setdefault(flush, [])


def forget(conn: Connection, key: str) -> None:
    """Drop ``key`` from the connection's info while a transaction rolls back. A connection lost midway
    is left alone: asking for its info would raise in place of the error that lost it, and its info is
    cleared anyway when it reconnects."""
    if not conn.invalidated:
        conn.info.pop(key, None)


def _begin(conn: Connection, *, in_one_statement: bool = False) -> list[Any]:
    """Start a transaction's lists (per DBAPI connection: set anew by every transaction); what it notes
    for after the commit. ``in_one_statement``: its kept writes go in one statement where they can."""
    noted: list[Any] = []
    conn.info[_AFTER_COMMIT] = noted
    conn.info[_AT_COMMIT] = {}
    conn.info[_AS_PARTS] = {}
    conn.info[_IN_ONE_STATEMENT] = in_one_statement
    return noted


def _flush(conn: Connection) -> None:
    """Make the writes kept for the commit, in the order their kinds were first kept: in one statement if
    the transaction asked for it and every kind can be a part of one."""
    pending: dict[Flush, list[Any]] = conn.info.pop(_AT_COMMIT, {})
    as_parts: dict[Flush, AsPart] = conn.info.pop(_AS_PARTS, {})
    kinds = [(flush, items) for flush, items in pending.items() if items]
    one_statement = conn.info.pop(_IN_ONE_STATEMENT, False) and conn.dialect.name == "postgresql"
    if one_statement and kinds and all(flush in as_parts for flush, _ in kinds):
        parts = [as_parts[flush](conn, items) for flush, items in kinds]
        # Nothing ran yet in the transaction: the statement commits on its own, no BEGIN nor COMMIT.
        with _on_their_own(conn):
            _write_parts(conn, parts)
        return
    for flush, items in kinds:
        flush(conn, items)


def _combined(parts: list[Part]) -> Select[Any]:
    """``WITH part_0 AS (…), part_1 AS (…) SELECT`` the ids the parts return, each tagged with its part's
    position. PostgreSQL runs every data-modifying ``WITH`` once and to the end, read or not."""
    return _combined_statement(tuple((part.statement, part.returned is not None) for part in parts))


# A pure function of module-level statements (compared by identity), so its cache never goes stale; bounded
# all the same (a batch's parts are a handful of statements, so a few dozen shapes at most).
@functools.lru_cache(maxsize=64)
def _combined_statement(shape: tuple[tuple[Any, bool], ...]) -> Select[Any]:
    ctes = [statement.cte(f"part_{n}") for n, (statement, _) in enumerate(shape)]
    returning = [
        select(literal_column(str(n), Integer).label("part"), cte.c.id)
        for n, ((_, returns), cte) in enumerate(zip(shape, ctes, strict=True))
        if returns
    ]
    main: Any = (
        union_all(*returning) if len(returning) > 1
        else returning[0] if returning
        else select(literal_column("0", Integer).label("part")).where(false())
    )  # fmt: skip
    return main.add_cte(*ctes)


def _write_parts(conn: Connection, parts: list[Part]) -> None:
    """The parts as one statement, sent to psycopg prepared (``on_psycopg``): one every batch of writes,
    whose execution through SQLAlchemy cost more CPU than its parameters' JSON."""
    params: dict[str, Any] = {}
    for part in parts:
        assert not params.keys() & part.params.keys(), "two parts of one statement share a parameter"
        params.update(part.params)
    if len(parts) == 1:  # no WITH needed
        (part,) = parts
        statement = postgres_statement(part.statement)
        cursor = on_psycopg(conn, statement.sql, statement.parameters(params))
        if part.returned is not None:
            part.returned(sorted(int(event_id) for (event_id,) in cursor.fetchall()))
        return
    combined = postgres_statement(_combined(parts))
    returned: dict[int, list[int]] = {}
    for n, event_id in on_psycopg(conn, combined.sql, combined.parameters(params)).fetchall():
        returned.setdefault(n, []).append(int(event_id))
    for n, part in enumerate(parts):
        if part.returned is not None:
            part.returned(sorted(returned.get(n, [])))


@contextmanager
def _on_their_own(conn: Connection, wanted: bool = True) -> Iterator[None]:
    """PostgreSQL, before any statement of the transaction has run: the block's statements each commit on
    their own (psycopg's autocommit), so the first costs no ``BEGIN`` round trip and, if it is the
    transaction's last, needs no ``COMMIT`` either. Elsewhere, or once a statement has run, nothing
    changes. Only for statements that may commit alone: a read, or the transaction's one write."""
    dbapi = conn.connection.dbapi_connection if wanted and conn.dialect.name == "postgresql" else None
    if dbapi is None or dbapi.info.transaction_status.name != "IDLE":
        yield
        return
    dbapi.autocommit = True
    try:
        yield
    finally:
        try:
            dbapi.autocommit = False
        except Exception:  # a connection lost meanwhile: it must not go back to the pool as it is
            if not conn.invalidated:
                conn.invalidate()


def committed_on_its_own(conn: Connection) -> bool:
    """Whether the statements run on ``conn`` so far have committed already: on PostgreSQL, each on its own
    (``_on_their_own``), so that no transaction is open. False inside a transaction, and on SQLite."""
    if conn.dialect.name != "postgresql":
        return False
    dbapi = conn.connection.dbapi_connection
    return dbapi is not None and dbapi.info.transaction_status.name == "IDLE"


@dataclass
class _Lane:
    """PostgreSQL: the event loop's writes waiting for a committer, and the threads committing them.

    A committer thread takes every write queued, commits them, hands the writers their results on their
    loop, and takes what queued meanwhile, until nothing is left: the loop only queues writes and settles
    them. A batch handed from a task on the loop to a thread, and the thread's end back to the task, had
    cost each batch a wait for the GIL and a turn of a loop busy with readers before its first statement,
    and another turn before its writers heard (docs/benchmarks.md, "PostgreSQL writes beside readers")."""

    committers: int  # batches of this lane committing at once, at most
    # Its writers go on in the turn that settles their batch while at most this many writes are in flight.
    settle_at_once_in_flight: int = 0
    # PostgreSQL: its batches' lookups and kept writes each a round trip that commits on its own.
    few_round_trips: bool = False
    # Each write with its writer's future and loop; appended on the loop, taken by committers (``lock``).
    queued: list[_Queued] = field(default_factory=list)
    committing: int = 0  # committer threads started and not yet finished (``lock``)
    in_flight: int = 0  # writes queued and not yet handed back to their writers (``lock``)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Its committers' threads, made at the first batch. A committer is a plain executor job: anyio's
    # ``to_thread`` (a capacity limiter, a cancel scope, checkpoints that each cost a turn of the loop, a
    # ``queue.Queue`` whose condition variable is Python) cost a like more CPU than its statement did
    # (docs/benchmarks.md, "PostgreSQL likes: the hand-off").
    threads: ThreadPoolExecutor | None = None

    def executor(self) -> ThreadPoolExecutor:
        if self.threads is None:
            self.threads = ThreadPoolExecutor(self.committers, thread_name_prefix="rejoinder-commit")
        return self.threads

    def queue(self, entry: _Queued) -> bool:
        """Queue a write; whether a committer must be started for it (fewer than ``committers`` run)."""
        with self.lock:
            self.queued.append(entry)
            self.in_flight += 1
            if self.committing >= self.committers:
                return False
            self.committing += 1
            return True

    def withdraw(self, entry: _Queued) -> None:
        """Undo ``queue`` of a write whose committer could not be started."""
        with self.lock:
            self.committing -= 1
            if entry in self.queued:
                self.queued.remove(entry)
                self.in_flight -= 1

    def take(self) -> list[_Queued]:
        """Every queued write, for a committer's next batch; none left: the committer ends (in the same
        step as its last look at the queue, so a write queued after it starts a committer of its own).

        All of them, not a share for each committer: the others are busy with their own batches, and the
        writes left for them waited for one of those to finish before they even began."""
        with self.lock:
            batch, self.queued = self.queued, []
            if not batch:
                self.committing -= 1
            return batch

    def hand_back(self, batch: list[_Queued]) -> bool:
        """A committed batch goes back to its writers: whether few enough writes were in flight, this batch's
        included, for them to go on at once (``settle_at_once_in_flight``)."""
        with self.lock:
            few = self.in_flight <= self.settle_at_once_in_flight
            self.in_flight -= len(batch)
            return few


@dataclass
class _Work(Generic[T]):
    run: Callable[[Connection], T]
    ahead: tuple[LookAhead, Any] | None = None
    done: bool = False
    result: T | None = None
    error: BaseException | None = None


# A write of a lane (PostgreSQL), with the future its writer awaits and the loop that future belongs to.
_Queued = tuple[_Work[Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


def _run(work: _Work[T], conn: Connection) -> T:
    """Run a piece of a batch. A refusal of its own (``RejoinderError``) is noted as its writer's answer
    before it fails the batch: the batch then knows which piece it was, and runs it no more."""
    try:
        return work.run(conn)
    except RejoinderError as refused:
        work.error = refused
        raise


_PIECE = "rejoinder_piece"  # the savepoint of a piece of a batch on SQLite (``_refusable``)


def _refusable(conn: Connection, work: _Work[T]) -> T | None:
    """SQLite: run a piece of a batch of several so that its own refusal (``RejoinderError``) undoes only
    its writes, to a savepoint, and what it kept for the commit or noted for after it; the refusal is its
    writer's answer and the batch goes on (None for its result). A savepoint is two statements in the
    process; without it, one comment asked for a proof of work rolled back its whole batch, whose other
    pieces then ran a second time, each with a COMMIT of its own. Any other failure fails the batch."""
    noted: list[Any] = conn.info[_AFTER_COMMIT]
    kept: dict[Flush, list[Any]] = conn.info[_AT_COMMIT]
    noted_before, kept_before = len(noted), {flush: len(items) for flush, items in kept.items()}
    on_sqlite(conn, f"SAVEPOINT {_PIECE}", ())
    try:
        result = _run(work, conn)
    except RejoinderError:
        on_sqlite(conn, f"ROLLBACK TO {_PIECE}", ())
        on_sqlite(conn, f"RELEASE {_PIECE}", ())
        del noted[noted_before:]
        for flush, items in kept.items():
            del items[kept_before.get(flush, 0) :]
        return None
    on_sqlite(conn, f"RELEASE {_PIECE}", ())
    return result


def _look_ahead(conn: Connection, batch: list[_Work[Any]]) -> None:
    """Run each lookup the batch's pieces asked for once, with all of their questions."""
    asked: dict[LookAhead, list[Any]] = {}
    for work in batch:
        if work.ahead is not None:
            lookup, question = work.ahead
            asked.setdefault(lookup, []).append(question)
    for lookup, questions in asked.items():
        lookup(conn, questions)


class Database:
    """The store of one server: a reader and a writer engine (the same one on PostgreSQL)."""

    def __init__(self, url: str, *, echo: bool = False, sqlite_readers: int = SQLITE_READERS) -> None:
        self.url = url
        parsed = make_url(url)
        self.backend = backend_of(url)
        if self.backend == "sqlite":
            pragmas = SQLITE_PRAGMAS + SQLITE_CACHE_PRAGMAS
            self.writer = _sqlite_engine(
                url, begin="BEGIN IMMEDIATE", pool_size=1, echo=echo, pragmas=pragmas + SQLITE_WRITER_PRAGMAS
            )
            self.reader = _sqlite_engine(
                url, begin="BEGIN", pool_size=sqlite_readers, echo=echo, pragmas=pragmas
            )
        elif self.backend == "postgresql":
            if parsed.drivername == "postgresql":
                url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
            self.writer = self.reader = create_engine(url, pool_size=10, max_overflow=10, echo=echo)
            _ping_when_idle(self.writer, POSTGRES_PING_AFTER_IDLE)
            event.listen(self.writer, "handle_error", self._note_disk_full)
        else:
            raise ConfigurationError(f"unsupported database {url!r}: use sqlite:/// or postgresql+psycopg://")
        self._queued: list[_Work[Any]] = []
        self._queue_lock = threading.Lock()
        self._committer = threading.Lock()
        # SQLite: writes queued by the event loop (only ever touched from the loop's thread).
        self._on_loop: list[tuple[_Work[Any], asyncio.Future[Any]]] = []
        # PostgreSQL: the loop's writes queue in these instead, by size (``transaction_async``).
        self._writes = _Lane(
            POSTGRES_COMMITTERS, few_round_trips=True, settle_at_once_in_flight=SETTLE_AT_ONCE_IN_FLIGHT
        )
        # Likes make their batch's statement on its own too: it writes their outbox rows (``store/likes.py``).
        self._small_writes = _Lane(POSTGRES_SMALL_COMMITTERS, few_round_trips=True)
        # SQLite: tasks committing batches of the loop's writes, and checkpoints (held, or the loop may let a
        # task vanish).
        self._drainers: set[asyncio.Task[None]] = set()
        self._draining_on_loop = False  # SQLite: a task is committing the loop's writes
        # SQLite: whether the loop's batches COMMIT on the loop or, while the disk is slow, in a thread.
        self._commit_pace = CommitPace(SLOW_COMMITS_IN_THREAD_SECONDS)
        self._batch_thread: ThreadPoolExecutor | None = None  # SQLite: see ``_loop_batch_thread``
        self._checkpointing = threading.Lock()
        self._last_checkpoint = time.monotonic()  # when the last checkpoint began
        # SQLite: set while the loop's batch waits (in a thread) for the writer. Threads writing on their
        # own (the event bus, the job runner) then let it go first: a thread that writes one transaction
        # after another would otherwise take the connection back each time before the waiting batch
        # woke up, and every writer on the loop waited seconds behind the bus's backlog.
        self._batch_waiting = False
        self._batch_turn = threading.Condition()
        self._ahead = threading.local()  # ``ahead`` true: this thread's writes do not give way
        self._held = threading.local()  # ``answers``: a committer's batch's ``held_answers``
        # Called with what committed transactions noted (see ``after_commit``); set by the context.
        self.on_commit: Callable[[list[Any]], None] | None = None
        # PostgreSQL: what it said when it last refused a write for lack of disk, until a probe writes.
        self.disk_full: str | None = None

    @property
    def engines(self) -> tuple[Engine, ...]:
        return (self.writer,) if self.writer is self.reader else (self.writer, self.reader)

    def watch_commits(self) -> CommitWatch:
        """A cheap way for a poller to learn that nothing was committed since it last looked."""
        if self.backend == "sqlite":
            return SqliteCommitWatch(make_url(self.url).database)
        return PostgresCommitWatch(self.reader)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self, *, in_one_statement: bool = False) -> Iterator[Connection]:
        """A transaction that commits when the block ends without an exception. ``in_one_statement``: the
        writes kept for its commit are one statement where they can be (``Part``)."""
        if self._batch_waiting and not getattr(self._ahead, "ahead", False):
            with self._batch_turn:
                self._batch_turn.wait_for(lambda: not self._batch_waiting)
        with self.writer.begin() as conn:
            noted = _begin(conn, in_one_statement=in_one_statement)
            try:
                yield conn
                _flush(conn)
            finally:
                forget(conn, _AT_COMMIT)  # a rolled-back transaction's are dropped with it
        if noted and self.on_commit is not None:
            self.on_commit(noted)
        if self._checkpoint_due():
            self.checkpoint()  # in this thread, as SQLite's own checkpoint would have been

    def held_answers(self) -> list[Heard] | None:
        """In a committer thread of a lane: the list where what the current batch's writers must wait for
        after its commit goes (``Heard``), so that the committer need not wait for it and goes on to the
        next batch; None elsewhere: whoever commits waits for it there and then."""
        answers: list[Heard] | None = getattr(self._held, "answers", None)
        return answers

    @contextmanager
    def ahead_of_batches(self) -> Iterator[None]:
        """Inside the block, this thread's ``write`` does not give way to a batch of the loop's writes that
        waits for the writer: for background work that has fallen too far behind to wait any longer."""
        self._ahead.ahead = True
        try:
            yield
        finally:
            self._ahead.ahead = False

    def transaction(
        self, work: Callable[[Connection], T], *, ahead: tuple[LookAhead, Any] | None = None
    ) -> T:
        """Run ``work(conn)`` in a write transaction that has committed when this returns.

        Whoever gets to commit takes every queued piece of work along, so eight waiting writers cost one
        transaction and one fsync instead of eight. If one piece fails, the batch is rolled back and each
        piece runs again on its own, so a failure only ever affects its own writer (a deadlock between
        two batches on PostgreSQL included). On SQLite writers are one at a time anyway. ``ahead``: a
        lookup and this piece's question to it, answered for the whole batch before any piece runs.
        """
        mine: _Work[T] = _Work(work, ahead)
        with self._queue_lock:
            self._queued.append(mine)
        with self._committer:
            if not mine.done:
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self._commit(batch)
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    async def transaction_async(
        self,
        work: Callable[[Connection], T],
        *,
        ahead: tuple[LookAhead, Any] | None = None,
        small: bool = False,
    ) -> T:
        """``transaction`` for code on the event loop.

        SQLite is a library, not a server: its statements are CPU, so they run right on the loop, with no
        thread hand-offs; so does the COMMIT while the disk is quick (``QUICK_COMMIT_SECONDS``), and only
        while it is slow does the COMMIT go to a thread, so that the loop answers readers meanwhile. Every
        write queued during one turn of the loop, or while the batch before was committing, is committed
        together (group commit). PostgreSQL's network round trips go to committer
        threads instead (``_Lane``): what queues while every committer is busy is the next batch of the
        first one free, which takes it without a turn of the loop, so a batch costs no thread hand-off
        and its writers one turn of the loop. Up to ``POSTGRES_COMMITTERS`` batches are in flight at
        once (one: the writes arriving meanwhile share the next batch's costs); ``small`` writes (a
        statement or two of their own) queue apart, for ``POSTGRES_SMALL_COMMITTERS``, since a
        transaction costs them more than their statements.
        """
        loop = asyncio.get_running_loop()
        if self.backend != "sqlite":
            future: WriterFuture[T] = WriterFuture(loop=loop)  # may go on in the turn that settles it
            lane = self._small_writes if small else self._writes
            entry: _Queued = (_Work(work, ahead), future, loop)
            if lane.queue(entry):
                try:
                    lane.executor().submit(self._drain_in_thread, lane)
                except BaseException:  # no thread to be had (the store is closing): not queued after all
                    lane.withdraw(entry)
                    raise
            result = await future
            if future.at_once:
                SETTLED_AT_ONCE.set(True)
            return result
        on_loop: asyncio.Future[T] = loop.create_future()
        self._on_loop.append((_Work(work, ahead), on_loop))
        if not self._draining_on_loop:
            self._draining_on_loop = True
            drainer = loop.create_task(self._drain_on_loop())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        return await on_loop

    async def _drain_on_loop(self) -> None:
        """SQLite: commit the loop's queue, batch after batch, until it is empty."""
        try:  # started with call_soon: every writer queued in this turn of the loop is in the first batch
            while self._on_loop:
                batch, self._on_loop = self._on_loop, []
                try:  # not cancellable while the thread runs: a batch is settled once it has committed
                    await self._commit_on_loop([work for work, _ in batch])
                finally:
                    _settle(batch)
        finally:
            self._draining_on_loop = False

    async def _commit_on_loop(self, batch: list[_Work[Any]]) -> None:
        """``_commit`` with the statements on the loop, in slices, and the COMMIT on the loop or, while
        the disk is slow, in a thread: readers are answered meanwhile, and the writers arriving meanwhile
        form the next batch."""
        conn = await self._take_writer()
        try:
            noted: list[Any] = []
            try:
                with conn:
                    transaction = conn.begin()
                    noted = _begin(conn)
                    try:
                        _look_ahead(conn, batch)
                        results = await _in_slices(conn, batch)
                        _flush(conn)
                    except BaseException:
                        forget(conn, _AT_COMMIT)
                        transaction.rollback()
                        raise
                    await self._commit_loop_batch(transaction)
            except BaseException:
                # A piece that refused has its answer; alone, it would be refused again.
                left = [work for work in batch if work.error is None]
                if left:
                    # Each piece alone is a COMMIT and an fsync each: in a thread, or the loop would wait
                    # for every one of them.
                    limiter = anyio.CapacityLimiter(1)
                    await anyio.to_thread.run_sync(self._commit_each, left, limiter=limiter)
                return
        finally:
            self._committer.release()
        for work, result in zip(batch, results, strict=True):
            work.result, work.done = result, True
        if self._checkpoint_due():
            self._last_checkpoint = time.monotonic()  # one at a time: the loop does not wait for it
            checkpointing = asyncio.get_running_loop().create_task(self._checkpoint_in_thread())
            self._drainers.add(checkpointing)
            checkpointing.add_done_callback(self._drainers.discard)
        if noted and self.on_commit is not None:
            try:
                self.on_commit(noted)
            except Exception:  # committed all the same: the writers hear so, and the queue keeps draining
                log.exception("handing on what a committed transaction noted failed")

    async def _commit_loop_batch(self, transaction: RootTransaction) -> None:
        """COMMIT the loop's batch: on the loop while the disk mostly answers within
        ``QUICK_COMMIT_SECONDS``, otherwise in a thread, so that readers are answered while the disk works."""
        if not self._commit_pace.on_loop(QUICK_COMMIT_SECONDS, time.monotonic()):
            await _to_the_end(self._loop_batch_thread().submit(transaction.commit))
            return
        started = time.perf_counter()
        transaction.commit()
        self._commit_pace.note(time.perf_counter() - started, QUICK_COMMIT_SECONDS, time.monotonic())

    def _checkpoint_due(self) -> bool:
        since = time.monotonic() - self._last_checkpoint
        return self.backend == "sqlite" and since >= CHECKPOINT_EVERY_SECONDS

    def checkpoint(self) -> None:
        """SQLite: copy the WAL's committed pages into the database file, so that the WAL starts again from
        its beginning. PASSIVE: it waits for no reader and no writer, and copies what it can. A failure
        (a full disk) is logged: the pages stay in the WAL, committed, and the next checkpoint tries again."""
        if not self._checkpointing.acquire(blocking=False):
            return  # another thread is at it
        try:
            self._last_checkpoint = time.monotonic()
            # A reader's connection, outside any transaction: the writer stays free for the next batch.
            raw = self.reader.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.fetchall()
                cursor.close()
            finally:
                raw.close()
        except Exception:
            log.warning("the WAL's checkpoint failed; trying again later", exc_info=True)
        finally:
            self._checkpointing.release()

    async def _checkpoint_in_thread(self) -> None:
        await anyio.to_thread.run_sync(self.checkpoint, limiter=anyio.CapacityLimiter(1))

    async def _take_writer(self) -> Connection:
        """The single writer (``_committer``, then the writer's one connection) for the loop's batch.

        Taken on the loop only when both are free; otherwise a thread waits for them. Other threads write
        too (the event bus marks events delivered, jobs are claimed), each holding the connection through
        its own COMMIT and fsync: waiting for it on the loop stopped every reader for that long.
        """
        if self._committer.acquire(blocking=False):
            if self.writer.pool.checkedout() == 0:  # type: ignore[attr-defined]  # QueuePool
                try:
                    return self.writer.connect()
                except BaseException:
                    self._committer.release()
                    raise
            self._committer.release()
        return await _to_the_end(self._loop_batch_thread().submit(self._wait_for_writer))

    def _loop_batch_thread(self) -> ThreadPoolExecutor:
        """SQLite: the thread where the loop's batch waits for the writer, or for its COMMIT while the disk
        is slow. Its own (the shared threads may all be waiting for this very writer: sync endpoints calling
        ``transaction``), and a plain executor job: anyio's ``to_thread`` cost the batch a turn of the loop
        before the thread started (its checkpoint), and the loop a hand-off through a Python condition."""
        if self._batch_thread is None:
            self._batch_thread = ThreadPoolExecutor(1, thread_name_prefix="rejoinder-loop-batch")
        return self._batch_thread

    def _wait_for_writer(self) -> Connection:
        self._committer.acquire()
        # Only the holder of ``_committer`` sets this: a thread in ``transaction`` never waits for it.
        with self._batch_turn:
            self._batch_waiting = True
        try:
            return self.writer.connect()
        except BaseException:
            self._committer.release()
            raise
        finally:
            with self._batch_turn:
                self._batch_waiting = False
                self._batch_turn.notify_all()

    def _drain_in_thread(self, lane: _Lane) -> None:
        """A committer: commit the lane's queued writes, batch after batch, until none is left. Each
        batch's writers are handed their results on their loop as soon as it has committed."""
        try:
            while batch := lane.take():
                # Answers read on the writers' loop: one loop, as every server has (else waited for here).
                held: list[Heard] | None = [] if len({loop for _, _, loop in batch}) == 1 else None
                self._held.answers = held
                try:
                    self._commit([work for work, _, _ in batch], lane.few_round_trips)
                finally:
                    self._held.answers = None
                    _settle_on_loops(batch, held or [], at_once=lane.hand_back(batch))
        except BaseException:  # never raised by a batch (``_commit`` keeps each writer's error): a bug
            with lane.lock:
                lane.committing -= 1
            raise

    def _commit(self, batch: list[_Work[Any]], few_round_trips: bool = False) -> None:
        """Commit the batch in one transaction; again without a piece that refused on its own account
        (its writer has its answer; the pieces before it run again), or each piece in its own if anything
        else fails. ``few_round_trips`` (PostgreSQL): the lookups commit on their own, the kept writes are
        one statement."""
        pieces = batch
        try:
            while True:
                try:
                    with self.write(in_one_statement=few_round_trips) as conn:
                        with _on_their_own(conn, few_round_trips):
                            _look_ahead(conn, pieces)
                        results = [_run(work, conn) for work in pieces]
                except BaseException as exc:
                    if len(pieces) == 1:
                        pieces[0].error = exc
                        return
                    if isinstance(exc, RejoinderError) and any(work.error is exc for work in pieces):
                        pieces = [work for work in pieces if work.error is None]
                        continue
                    self._commit_each(pieces, few_round_trips)
                    return
                for work, result in zip(pieces, results, strict=True):
                    work.result = result
                return
        finally:
            for work in batch:
                work.done = True

    def _commit_each(self, batch: list[_Work[Any]], few_round_trips: bool = False) -> None:
        """After a batch failed: each piece in its own transaction, so a failure is only its writer's."""
        for work in batch:
            try:
                with self.write(in_one_statement=few_round_trips) as conn:
                    with _on_their_own(conn, few_round_trips):
                        _look_ahead(conn, [work])
                    work.result = work.run(conn)
            except BaseException as alone:
                work.error = alone
            finally:
                work.done = True

    def ping(self) -> None:
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))

    def probe_disk(self) -> str | None:
        """PostgreSQL: whether it can still give a table a new page, asked only after a write was refused
        for lack of disk (``disk_full``); its message if not, None once it can (which clears it).

        The disk is the database server's, perhaps on another machine: what this server can see is its
        answers. A probe makes a table in the database's default tablespace and writes one row, which must
        extend a file (as a full disk refuses), then rolls back, which removes the file again.
        """
        if self.disk_full is None:
            return None
        probe = f"rejoinder_disk_probe_{os.getpid()}"
        try:
            with self.writer.connect() as conn:
                transaction = conn.begin()
                try:
                    conn.execute(text(f"CREATE TABLE {probe} (filler text)"))
                    conn.execute(text(f"INSERT INTO {probe} VALUES (repeat('x', 100))"))
                finally:
                    transaction.rollback()
        except DBAPIError as exc:
            said = postgres_disk_full(exc)
            if said is None:
                raise
            self.disk_full = said
            return said
        self.disk_full = None
        return None

    def _note_disk_full(self, context: ExceptionContext) -> None:
        said = postgres_disk_full(context.original_exception)
        if said is not None:
            self.disk_full = said

    def dispose(self) -> None:
        for lane in (self._writes, self._small_writes):
            if lane.threads is not None:
                lane.threads.shutdown(wait=True)  # a batch in a thread finishes its commit first
                lane.threads = None
        if self._batch_thread is not None:
            self._batch_thread.shutdown(wait=True)
            self._batch_thread = None
        for engine in self.engines:
            engine.dispose()


async def _in_slices(conn: Connection, batch: list[_Work[Any]]) -> list[Any]:
    """Run the batch's work in one transaction, letting the loop run between slices of
    ``LOOP_SLICE_SECONDS``: the transaction (and its one fsync) stays whole, the loop's pauses short. A
    piece of several that refuses is undone alone (``_refusable``)."""
    results: list[Any] = []
    several = len(batch) > 1
    started = time.perf_counter()
    for work in batch:
        results.append(_refusable(conn, work) if several else _run(work, conn))
        if time.perf_counter() - started > LOOP_SLICE_SECONDS:
            await asyncio.sleep(0)
            started = time.perf_counter()
    return results


async def _to_the_end(job: Future[T]) -> T:
    """Wait for a committer's job. A cancellation (the server stopping) waits for the job to end too, then
    is raised: a batch is settled once it has committed (or, dropped before it started, not at all), never
    while its thread still runs."""
    try:
        return await asyncio.wrap_future(job)
    except asyncio.CancelledError:
        while not job.done():
            with suppress(asyncio.CancelledError):
                await asyncio.shield(asyncio.wrap_future(job))
        raise


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Ping a connection taken from the pool after ``seconds`` unused; a dead one is replaced at once.

    The connections of a busy server are in use all the time, and an outage ends them with an error that
    makes the pool drop every connection it holds (SQLAlchemy invalidates the pool on a disconnect), so
    the ping is only for connections that sat idle through one."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is not None and time.monotonic() - since > seconds:
            try:
                alive = engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError(str(exc)) from exc  # the pool replaces it and tries again
            if not alive:
                raise DisconnectionError("the connection did not answer a ping")


_IDLE_SINCE = "rejoinder.idle_since"


def _settle_on_loops(batch: list[_Queued], held: list[Heard], *, at_once: bool = False) -> None:
    """From a committer thread: ``_settle`` the batch's writers on their loop (one, unless several loops
    share this store), once what they wait for after the commit is ``held`` there; ``at_once``: they go on
    in that very turn (``SETTLE_AT_ONCE_IN_FLIGHT``). A loop already closed has no writer left to tell."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Work[Any], asyncio.Future[Any]]]] = {}
    for work, future, loop in batch:
        by_loop.setdefault(loop, []).append((work, future))
    for loop, writers in by_loop.items():
        with suppress(RuntimeError):  # the loop is closed
            if held:
                loop.call_soon_threadsafe(_settle_when_heard, writers, held, at_once)
            else:
                loop.call_soon_threadsafe(_settle, writers, at_once)


def _settle_when_heard(
    batch: list[tuple[_Work[Any], asyncio.Future[Any]]], held: list[Heard], at_once: bool = False
) -> None:
    """On the writers' loop: ``_settle`` them once every one of ``held`` is heard; in this very callback
    when the answers are in already, as they mostly are by the time the loop runs it."""
    left = len(held)

    def one_heard() -> None:
        nonlocal left
        left -= 1
        if left == 0:
            _settle(batch, at_once)

    try:
        for heard in held:
            heard.when_heard(one_heard)
    except Exception:  # the commit stands: its writers hear of it, the others learn from the outbox
        log.exception("waiting for the news of a commit to reach other processes failed")
        _settle(batch, at_once)


def _settle(batch: list[tuple[_Work[Any], asyncio.Future[Any]]], at_once: bool = False) -> None:
    """Hand each writer on the loop its result or its own error. ``at_once``: a committer's writers
    (``WriterFuture``) go on in this turn of the loop, unless this runs inside a task (a task's step cannot
    run inside another's); otherwise in the next, as any future's."""
    at_once = at_once and asyncio.current_task() is None
    for work, future in batch:
        if future.done():
            continue  # the client went away (the work is committed all the same), or it heard already
        error = work.error
        if error is None and not work.done:
            error = RuntimeError("the write was interrupted before it could commit")
        if at_once and isinstance(future, WriterFuture):
            future.settle_now(work.result, error)
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(work.result)


def _sqlite_engine(
    url: str, *, begin: str, pool_size: int, echo: bool, pragmas: tuple[str, ...] = SQLITE_PRAGMAS
) -> Engine:
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
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: every batch of the loop's writes begins here, and SQLAlchemy's execution
        # path cost more than the statement.
        on_sqlite(conn, begin, ())

    return engine
