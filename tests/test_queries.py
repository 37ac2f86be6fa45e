"""How many SQL statements a read costs: a constant, however many comments or URLs it covers; and what a
new comment costs: on PostgreSQL a constant number for its whole group commit, on SQLite a few statements
of its own and one that its group shares."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from rejoinder import threads
from rejoinder.comments import Client, NewComment, post_comment, post_comment_async
from rejoinder.context import Context
from rejoinder.model import Author
from tests.helpers import flatten, read, statement_rows

SMALL = "https://blog.example/small"
LARGE = "https://blog.example/large"
# The site, the thread, and every visible comment in one go (kept as a snapshot for later pages).
THREAD_READ_STATEMENTS = 3
# For threads too large to keep whole: the site, the thread, its pinned comments (on the first page), a
# page of top-level comments, their replies.
LARGE_THREAD_READ_STATEMENTS = 5
# Transaction control, which the counts leave out; on SQLite each comment of a group commit has a savepoint
# besides (a refusal of its own undoes only it: store/db.py), two statements in the process.
TRANSACTION_CONTROL = {
    "BEGIN",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT REJOINDER_PIECE",
    "RELEASE REJOINDER_PIECE",
    "ROLLBACK TO REJOINDER_PIECE",
}
# A guest's new comment on a thread that exists. On PostgreSQL, where a statement is a round trip, a group
# commit's comments are looked up together (their threads, whether a guest's address is a verified
# reader's, their ids) and their rows, their threads' counts and their events' outbox rows are written at
# the commit in one statement for the whole group. On SQLite each comment looks its thread up, asks who
# can hear of it (so that the event bus's thread has nothing to do for a comment no one hears of) and is
# inserted on its own; the counts and the outbox rows (one multi-row INSERT) are a statement each for the
# group.
POST_STATEMENTS = {"postgresql": 0, "sqlite": 3}
GROUP_STATEMENTS = {"postgresql": 2, "sqlite": 2}
# A comment posted alone through the thread-side queue (``post_comment``), which likes and API keys share:
# its kept writes one statement each there, on both backends.
ALONE_STATEMENTS = {"postgresql": 4, "sqlite": 5}


@contextmanager
def statements_run(ctx: Context) -> Iterator[list[str]]:
    """Collect the SQL statements run on the store while the block runs.

    Transaction control is left out: SQLite's BEGIN goes through a cursor and PostgreSQL's does not, so
    leaving it in would only make the two backends differ.
    """
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper() not in TRANSACTION_CONTROL:
            seen.append(statement)

    for engine in ctx.db.engines:  # on PostgreSQL the reader is the writer: listen once
        event.listen(engine, "before_cursor_execute", note)
    try:
        with _sent_to_psycopg(ctx, lambda _driver, statement, _parameters: seen.append(statement)):
            yield seen
    finally:
        for engine in ctx.db.engines:
            event.remove(engine, "before_cursor_execute", note)


@contextmanager
def _sent_to_psycopg(ctx: Context, note: Callable[[Any, str, Any], None]) -> Iterator[None]:
    """PostgreSQL: note the statements sent to psycopg straight (a like's, a post's) with their parameters,
    which SQLAlchemy does not see; SQLAlchemy itself runs its statements through cursors, so nothing is
    noted twice."""
    if ctx.db.backend != "postgresql":
        yield
        return
    import psycopg

    sent = psycopg.Connection.execute

    def execute(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        note(self, str(query), args[0] if args else kwargs.get("params"))
        return sent(self, query, *args, **kwargs)

    psycopg.Connection.execute = execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.Connection.execute = sent  # type: ignore[method-assign]


@contextmanager
def committed_transactions(ctx: Context) -> Iterator[list[list[tuple[str, int]]]]:
    """Collect the statements of each write transaction that commits while the block runs (whichever
    thread runs it), one list per transaction, each with the number of rows it was run for (several for an
    executemany); transaction control left out as above."""
    done: list[list[tuple[str, int]]] = []
    running: dict[int, list[tuple[str, int]]] = {}
    drivers: dict[int, int] = {}  # the driver's connection -> SQLAlchemy's
    lock = threading.Lock()

    def begin(conn: Any) -> None:
        with lock:
            running[id(conn)] = []
            drivers[id(conn.connection.driver_connection)] = id(conn)

    def sent(driver: Any, statement: str, parameters: Any) -> None:  # straight to psycopg, in ``conn``'s
        with lock:
            if (statements := running.get(drivers.get(id(driver), 0))) is not None:
                statements.append((statement, statement_rows(parameters, False)))

    def note(conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        with lock:
            if id(conn) in running and statement.strip().upper() not in TRANSACTION_CONTROL:
                running[id(conn)].append((statement, statement_rows(parameters, many)))

    def commit(conn: Any) -> None:
        with lock:
            if (statements := running.pop(id(conn), None)) is not None:
                done.append(statements)

    def rollback(conn: Any) -> None:
        with lock:
            running.pop(id(conn), None)

    hooks = {"begin": begin, "before_cursor_execute": note, "commit": commit, "rollback": rollback}
    for name, hook in hooks.items():
        event.listen(ctx.db.writer, name, hook)
    try:
        with _sent_to_psycopg(ctx, sent):
            yield done
    finally:
        for name, hook in hooks.items():
            event.remove(ctx.db.writer, name, hook)


def comments_inserted(transaction: list[tuple[str, int]]) -> int:
    return sum(rows for statement, rows in transaction if "INSERT INTO comments " in statement)


def a_comment(body: str) -> NewComment:
    return NewComment(
        site="test", url=SMALL, title="Seeded", body=body, author=Author("Ada", "ada@example.org")
    )


async def test_a_comment_costs_a_few_statements_of_its_own_and_its_group_shares_the_rest(
    ctx: Context, site: str
) -> None:
    own, shared = POST_STATEMENTS[ctx.db.backend], GROUP_STATEMENTS[ctx.db.backend]
    post_comment(ctx, a_comment("the first opens the thread"), Client())
    with committed_transactions(ctx) as done:
        post_comment(ctx, a_comment("alone"), Client())
    assert [len(t) for t in done if comments_inserted(t)] == [ALONE_STATEMENTS[ctx.db.backend]]

    with committed_transactions(ctx) as done:
        await asyncio.gather(
            *(post_comment_async(ctx, a_comment(f"together {i}"), Client()) for i in range(12))
        )
    groups = [t for t in done if comments_inserted(t)]
    assert sum(map(comments_inserted, groups)) == 12 and len(groups) < 12  # some were committed together
    assert [len(t) for t in groups] == [own * comments_inserted(t) + shared for t in groups]
    with ctx.db.read() as conn:
        assert conn.execute(text("SELECT comment_count FROM threads")).scalar_one() == 14


def seed_thread(ctx: Context, url: str, *, top_level: int, reply_chains: int, chain_length: int) -> int:
    """Post ``top_level`` comments and, under the first ``reply_chains`` of them, chains of replies to
    replies ``chain_length`` deep; return how many comments that makes."""

    def post(body: str, parent_id: int | None = None) -> int:
        new = NewComment(
            site="test", url=url, title="Seeded", body=body, parent_id=parent_id, author=Author("Ada")
        )
        return post_comment(ctx, new, Client()).comment.id

    def reply_chain(root_id: int) -> None:
        parent_id = root_id
        for depth in range(2, chain_length + 2):
            parent_id = post(f"a reply at depth {depth}", parent_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        roots = list(pool.map(lambda i: post(f"top-level comment {i}"), range(top_level)))
        list(pool.map(reply_chain, roots[:reply_chains]))
    return top_level + reply_chains * chain_length


async def statements_for_thread_read(client: httpx.AsyncClient, ctx: Context, url: str, expected: int) -> int:
    ctx.cache.clear()  # otherwise the middleware answers from memory and the database is never asked
    ctx.sites.clear()  # and the site would be remembered from the writes
    with statements_run(ctx) as seen:
        page = await read(client, url, limit=1000)
    assert len(flatten(page["comments"])) == page["thread"]["comment_count"] == expected
    return len(seen)


async def test_reading_a_thread_costs_the_same_for_10_and_1000_comments(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    # 20 % replies, in chains five deep: depth 6 is past the default maximum of 5, so the tree flattens too.
    small = seed_thread(ctx, SMALL, top_level=8, reply_chains=1, chain_length=2)
    large = seed_thread(ctx, LARGE, top_level=800, reply_chains=40, chain_length=5)
    assert (small, large) == (10, 1000)

    for_small = await statements_for_thread_read(client, ctx, SMALL, small)
    for_large = await statements_for_thread_read(client, ctx, LARGE, large)
    assert for_small == for_large == THREAD_READ_STATEMENTS


async def test_threads_too_large_to_keep_whole_are_paged_in_sql_at_constant_cost(
    client: httpx.AsyncClient, ctx: Context, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "SNAPSHOT_MAX_COMMENTS", 5)
    small = seed_thread(ctx, SMALL, top_level=8, reply_chains=1, chain_length=2)
    large = seed_thread(ctx, LARGE, top_level=800, reply_chains=40, chain_length=5)
    for_small = await statements_for_thread_read(client, ctx, SMALL, small)
    for_large = await statements_for_thread_read(client, ctx, LARGE, large)
    assert for_small == for_large == LARGE_THREAD_READ_STATEMENTS


async def test_later_pages_and_reads_after_a_write_come_from_the_snapshot(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    seed_thread(ctx, SMALL, top_level=8, reply_chains=1, chain_length=2)
    await statements_for_thread_read(client, ctx, SMALL, 10)
    post_comment(ctx, NewComment(site="test", url=SMALL, body="one more", author=Author("Bo")), Client())
    with statements_run(ctx) as seen:
        first = await read(client, SMALL, limit=3)
        second = await read(client, SMALL, limit=3, cursor=first["next_cursor"])
        whole = await read(client, SMALL, limit=1000)
    assert seen == []
    assert whole["thread"]["comment_count"] == len(flatten(whole["comments"])) == 11
    assert [c["id"] for c in first["comments"] + second["comments"]] == [c["id"] for c in whole["comments"]][
        :6
    ]


async def test_reading_an_unknown_thread_stops_after_looking_for_it(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    ctx.cache.clear()
    ctx.sites.clear()
    with statements_run(ctx) as seen:
        page = await read(client, "https://blog.example/nobody-commented")
    assert page["comments"] == []
    assert len(seen) == 2  # the site, the thread


async def test_counts_for_many_urls_are_one_query_after_the_site_lookup(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    commented = [f"https://blog.example/post-{n}" for n in range(5)]
    for n, url in enumerate(commented):
        seed_thread(ctx, url, top_level=n + 1, reply_chains=0, chain_length=0)
    statements = {}
    for how_many in (1, 20, 200):
        urls = (commented + [f"https://blog.example/quiet-{n}" for n in range(how_many)])[:how_many]
        with statements_run(ctx) as seen:
            response = await client.get("/api/v1/counts", params={"site": site, "url": urls})
        assert response.status_code == 200, response.text
        assert response.json()["counts"] == {
            url: commented.index(url) + 1 if url in commented else 0 for url in urls
        }
        statements[how_many] = len(seen)
    assert statements == {1: 2, 20: 2, 200: 2}  # the site lookup, then one query for every URL


async def test_counts_asked_again_come_from_memory_until_a_write_changes_them(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    seed_thread(ctx, SMALL, top_level=3, reply_chains=0, chain_length=0)
    urls = [SMALL, LARGE]  # LARGE has no thread yet
    first = await client.get("/api/v1/counts", params={"site": site, "url": urls})
    assert first.json()["counts"] == {SMALL: 3, LARGE: 0}
    with statements_run(ctx) as seen:
        again = await client.get("/api/v1/counts", params={"site": site, "url": urls})
    assert again.json()["counts"] == {SMALL: 3, LARGE: 0} and seen == []
    post_comment(ctx, NewComment(site="test", url=LARGE, body="first here", author=Author("Bo")), Client())
    post_comment(ctx, NewComment(site="test", url=SMALL, body="one more", author=Author("Bo")), Client())
    after = await client.get("/api/v1/counts", params={"site": site, "url": urls})
    assert after.json()["counts"] == {SMALL: 4, LARGE: 1}
