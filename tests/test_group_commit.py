"""Group commit (``Database.transaction`` and ``transaction_async``), on SQLite and PostgreSQL alike:
concurrent writers share one transaction, a failing piece fails only its own writer, whatever was
acknowledged is committed, and what a transaction notes for after the commit is handed on exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import anyio
import pytest
from sqlalchemy import Connection, event, insert, select
from sqlalchemy.exc import IntegrityError

from rejoinder.comments import Client, NewComment, post_comment_async
from rejoinder.context import Context
from rejoinder.model import Author
from rejoinder.store.db import LOOP_SLICE_SECONDS, Database, after_commit
from rejoinder.store.schema import comments, server_secrets
from tests.helpers import ARTICLE

WRITERS = 24


def stored_names(db: Database) -> set[str]:
    with db.read() as conn:
        names = conn.execute(select(server_secrets.c.name).where(server_secrets.c.name.like("piece-%")))
        return set(names.scalars())


def piece(name: str, *, twice: bool = False) -> Any:
    """Work that inserts one row and notes its name; ``twice`` breaks the primary key, as a real failure
    inside the database does (on PostgreSQL it aborts the whole transaction)."""

    def work(conn: Connection) -> str:
        after_commit(conn, name)
        conn.execute(insert(server_secrets).values(name=name, value="v"))
        if twice:
            conn.execute(insert(server_secrets).values(name=name, value="again"))
        return name

    return work


class Transactions:
    """Counts the commits and rollbacks of the writer engine, and collects what ``on_commit`` receives."""

    def __init__(self, db: Database) -> None:
        self.commits = self.rollbacks = 0
        self.handed_on: list[Any] = []
        self._lock = threading.Lock()
        event.listen(db.writer, "commit", self._commit)
        event.listen(db.writer, "rollback", self._rollback)
        db.on_commit = self._on_commit

    def _commit(self, _conn: Connection) -> None:
        self.commits += 1

    def _rollback(self, _conn: Connection) -> None:
        self.rollbacks += 1

    def _on_commit(self, items: list[Any]) -> None:
        with self._lock:
            self.handed_on.extend(items)


@pytest.fixture
def db(ctx: Context) -> Database:
    return ctx.db


async def test_writers_on_the_loop_share_transactions(db: Database) -> None:
    seen = Transactions(db)
    names = [f"piece-{i}" for i in range(WRITERS)]
    results = await asyncio.gather(*(db.transaction_async(piece(name)) for name in names))
    assert results == names
    # SQLite commits the loop's queue at once; PostgreSQL shares it out among a few committers.
    assert seen.commits == 1 if db.backend == "sqlite" else seen.commits <= WRITERS // 2
    assert stored_names(db) == set(names)
    assert sorted(seen.handed_on) == sorted(names)


async def test_a_failing_piece_fails_only_its_writer(db: Database) -> None:
    seen = Transactions(db)
    names = [f"piece-{i}" for i in range(WRITERS)]
    bad = names[WRITERS // 2]
    results = await asyncio.gather(
        *(db.transaction_async(piece(name, twice=name == bad)) for name in names), return_exceptions=True
    )
    assert isinstance(results[WRITERS // 2], IntegrityError)
    acknowledged = [r for r in results if isinstance(r, str)]
    assert acknowledged == [name for name in names if name != bad]
    # The batch rolled back, then every piece of it ran on its own (the other batches, on PostgreSQL,
    # committed as they were).
    assert seen.rollbacks >= 2
    assert seen.commits == WRITERS - 1 if db.backend == "sqlite" else seen.commits <= WRITERS - 1
    assert stored_names(db) == set(acknowledged)
    # What the rolled-back batch noted was dropped; what each committed piece noted went on once.
    assert Counter(seen.handed_on) == Counter(acknowledged)


async def test_a_domain_error_after_writing_undoes_only_that_piece(db: Database) -> None:
    seen = Transactions(db)

    def refused(conn: Connection) -> str:
        piece("piece-refused")(conn)
        raise LookupError("no such comment")

    results = await asyncio.gather(
        db.transaction_async(piece("piece-a")),
        db.transaction_async(refused),
        db.transaction_async(piece("piece-b")),
        return_exceptions=True,
    )
    assert results[0] == "piece-a" and results[2] == "piece-b"
    assert isinstance(results[1], LookupError)
    assert stored_names(db) == {"piece-a", "piece-b"}
    assert Counter(seen.handed_on) == Counter(["piece-a", "piece-b"])


async def test_writes_keep_coming_while_a_batch_commits(db: Database) -> None:
    """Writers that arrive while a batch is committing make the next batch; none is left waiting."""
    seen = Transactions(db)
    names = [f"piece-{i}" for i in range(WRITERS * 4)]

    async def write(i: int) -> str:
        await asyncio.sleep(0.001 * (i % 8))
        return await db.transaction_async(piece(names[i]))

    assert await asyncio.gather(*(write(i) for i in range(len(names)))) == names
    assert seen.commits < len(names)
    assert stored_names(db) == set(names)
    assert Counter(seen.handed_on) == Counter(names)


def test_threads_share_commits_and_fail_alone(db: Database) -> None:
    seen = Transactions(db)
    names = [f"piece-{i}" for i in range(WRITERS)]
    bad = names[3]
    results: dict[str, object] = {}
    start = threading.Barrier(len(names))

    def write(name: str) -> None:
        start.wait()
        try:
            results[name] = db.transaction(piece(name, twice=name == bad))
        except IntegrityError as exc:
            results[name] = exc

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results.pop(bad), IntegrityError)
    assert results == {name: name for name in names if name != bad}
    assert seen.commits <= len(results)  # counted before the read below (one engine on PostgreSQL)
    assert stored_names(db) == set(results)
    assert Counter(seen.handed_on) == Counter(results.keys())


async def test_loop_and_threads_write_together(db: Database) -> None:
    """The loop's batches and ``transaction`` from worker threads share one committer."""
    seen = Transactions(db)
    on_loop = [f"piece-loop-{i}" for i in range(WRITERS)]
    in_threads = [f"piece-thread-{i}" for i in range(WRITERS)]
    results = await asyncio.gather(
        *(db.transaction_async(piece(name)) for name in on_loop),
        *(asyncio.to_thread(db.transaction, piece(name)) for name in in_threads),
    )
    assert sorted(results) == sorted(on_loop + in_threads)
    assert stored_names(db) == set(on_loop + in_threads)
    assert Counter(seen.handed_on) == Counter(on_loop + in_threads)


async def test_the_loop_answers_while_a_batch_waits_for_the_disk(db: Database) -> None:
    """SQLite: the COMMIT (the fsync) is waited for off the loop, and the writers that arrive meanwhile
    all go into the next batch."""
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL commits every batch in a worker thread")
    seen = Transactions(db)
    slow_disk = 0.3

    def slow_commit(_conn: Connection) -> None:
        time.sleep(slow_disk)

    event.listen(db.writer, "commit", slow_commit)
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.ensure_future(ticker())
    first = asyncio.ensure_future(db.transaction_async(piece("piece-first")))
    await asyncio.sleep(0.1)  # the first batch is committing now
    later = [f"piece-later-{i}" for i in range(WRITERS)]
    results = await asyncio.gather(first, *(db.transaction_async(piece(name)) for name in later))
    ticking.cancel()
    assert max(gaps) < slow_disk / 2  # the loop went on running while the disk was busy
    assert results == ["piece-first", *later]
    assert seen.commits == 2  # the writers that came during the first commit shared the second
    assert Counter(seen.handed_on) == Counter(["piece-first", *later])


async def test_the_loop_answers_while_another_thread_holds_the_writer(db: Database) -> None:
    """SQLite: a thread writing with ``db.write()`` (the event bus marking events delivered, a job being
    claimed) holds the one writer connection through its COMMIT; the loop's next batch waits for it in a
    thread, not on the loop, and commits once it is free."""
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL commits every batch in a worker thread")
    Transactions(db)
    held = 0.4
    holding = threading.Event()

    def write_slowly() -> None:
        with db.write() as conn:
            conn.execute(insert(server_secrets).values(name="piece-thread", value="v"))
            holding.set()
            time.sleep(held)  # as a COMMIT waiting for a slow disk would

    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.ensure_future(ticker())
    thread = threading.Thread(target=write_slowly)
    thread.start()
    await asyncio.to_thread(holding.wait)
    result = await db.transaction_async(piece("piece-loop"))
    ticking.cancel()
    thread.join()
    assert result == "piece-loop"
    assert max(gaps) < held / 2  # the loop went on running while the writer was taken
    assert stored_names(db) == {"piece-thread", "piece-loop"}


async def test_a_batch_commits_while_every_worker_thread_is_taken(db: Database) -> None:
    """Sync endpoints in the thread pool may all be waiting for the writer: the loop's COMMIT must not need
    one of their threads, or nothing would ever move again."""
    Transactions(db)
    limiter = anyio.to_thread.current_default_thread_limiter()
    holders = [object() for _ in range(int(limiter.total_tokens))]
    for holder in holders:
        await limiter.acquire_on_behalf_of(holder)
    try:
        assert await asyncio.wait_for(db.transaction_async(piece("piece-alone")), timeout=10) == "piece-alone"
    finally:
        for holder in holders:
            limiter.release_on_behalf_of(holder)
    assert stored_names(db) == {"piece-alone"}


class LoopPauses:
    """The longest time the loop's thread spent between two turns of a ticker task, as CPU time of that
    thread: a neighbour's process taking the core does not count, a long callback on the loop does."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        last = time.thread_time()
        while True:
            await asyncio.sleep(0)
            now = time.thread_time()
            self.longest = max(self.longest, now - last)
            last = now

    def stop(self) -> float:
        self._task.cancel()
        return self.longest


QUEUED_POSTS = 120


async def test_a_large_batch_of_posts_holds_the_loop_a_slice_at_a_time(ctx: Context, site: str) -> None:
    """A batch of many queued posts never holds the loop for long: on SQLite its statements run on the
    loop in slices of ``LOOP_SLICE_SECONDS`` with the loop's other work between them (still one
    transaction), on PostgreSQL in worker threads. Readers wait a slice, not a batch."""
    db = ctx.db
    ctx.events.start()  # as in a server: mail and webhooks are noted in the bus's thread, not on the loop
    first_commit = threading.Event()

    def slow_first_commit(_conn: Connection) -> None:
        if not first_commit.is_set():
            first_commit.set()
            time.sleep(0.3)  # meanwhile every other post queues for the next batch

    event.listen(db.writer, "commit", slow_first_commit)
    batch_commits: list[str] = []
    event.listen(db.writer, "commit", lambda _conn: batch_commits.append(threading.current_thread().name))

    async def post(i: int) -> int:
        new = NewComment(site=site, url=ARTICLE, body=f"Comment {i} with *emphasis*", author=Author(f"R{i}"))
        return (await post_comment_async(ctx, new, Client())).comment.id

    posting = [asyncio.ensure_future(post(0))]
    await asyncio.to_thread(first_commit.wait)
    pauses = LoopPauses()  # from here: the first post warmed up the parser and the statements' cache
    for i in range(1, QUEUED_POSTS + 1):
        posting.append(asyncio.ensure_future(post(i)))
        await asyncio.sleep(0)  # one post planned per turn, as requests arrive
    ids = await asyncio.gather(*posting)
    longest = pauses.stop()
    with db.read() as conn:
        stored = set(conn.execute(select(comments.c.id).where(comments.c.id.in_(ids))).scalars())
    assert stored == set(ids)
    if db.backend == "sqlite":  # the queued posts shared a commit (the bus's own writes are its thread's)
        assert len([name for name in batch_commits if name != "rejoinder-events"]) <= 4, batch_commits
    assert longest < LOOP_SLICE_SECONDS + 0.010, f"the loop was held {1000 * longest:.1f} ms at once"


async def test_a_batch_gets_the_writer_from_a_thread_that_writes_on_and_on(db: Database) -> None:
    """SQLite: the event bus's thread may write transaction after transaction (three a post, with a
    backlog). The loop's batch, waiting for the one writer connection, gets it after the transaction in
    progress, instead of the thread taking it back each time before the waiting batch wakes up."""
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL gives each writer a connection of its own")
    Transactions(db)
    stop = threading.Event()
    written = 0

    def write_busily() -> None:
        nonlocal written
        while not stop.is_set():
            with db.write() as conn:
                conn.execute(insert(server_secrets).values(name=f"piece-thread-{written}", value="v"))
            written += 1

    thread = threading.Thread(target=write_busily)
    thread.start()
    try:
        while written < 20:
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        result = await asyncio.wait_for(db.transaction_async(piece("piece-loop")), timeout=30)
        waited = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
    assert result == "piece-loop"
    assert waited < 1.0, f"the batch waited {waited:.1f} s for the writer"
