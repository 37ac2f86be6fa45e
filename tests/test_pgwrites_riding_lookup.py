"""The posts' lane on PostgreSQL: the lookup of the writes that queue while a batch is committing rides in
that batch's one statement, so that the next batch makes one round trip, not two. What they store, and
what each writer hears, is what writes looked up on their own store and hear: each comment committed with
its outbox row and its count, a refused piece answered alone, a failed statement's batch committed piece
by piece and the batch after it looked up again. On SQLite, where no statement is a round trip, the same
posts store the same."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from rejoinder.comments import Client, NewComment, PostedComment, post_comment, post_comment_async
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.model import Author
from rejoinder.store import comments as comment_store
from rejoinder.store.db import POSTGRES_COMMITTERS

URL = "https://blog.example/riding"
QUEUED = 6
LOOKUP = "nextval(pg_get_serial_sequence('comments', 'id'))"


def new(body: str, n: int = 0, parent_id: int | None = None) -> NewComment:
    author = Author(f"Ada {n}", f"ada{n}@example.org")
    return NewComment(site="test", url=URL, title="Riding", body=body, author=author, parent_id=parent_id)


@contextmanager
def lookups_held(ctx: Context, held: int, release: threading.Event) -> Iterator[dict[str, list[str]]]:
    """The first ``held`` lookups sent wait for ``release`` in their committer thread (PostgreSQL), so
    that writes queue behind busy committers; every statement sent is collected by kind: ``lookups``
    (a lookup on its own), ``riding`` (writes and the next batch's lookup), ``writes`` (writes alone)."""
    seen: dict[str, list[str]] = {"lookups": [], "riding": [], "writes": []}
    lock = threading.Lock()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        writes = "INSERT INTO comments" in statement
        kind = "riding" if writes and LOOKUP in statement else "writes" if writes else None
        if kind is None and LOOKUP in statement:
            kind = "lookups"
        if kind is None:
            return
        with lock:
            seen[kind].append(statement)
            wait = kind == "lookups" and len(seen["lookups"]) <= held
        if wait:
            release.wait(10)

    event.listen(ctx.db.writer, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        release.set()
        event.remove(ctx.db.writer, "before_cursor_execute", note)


async def queued_behind_busy_committers(
    ctx: Context, firsts: list[NewComment], queued: list[NewComment]
) -> tuple[dict[str, list[str]], list[PostedComment | BaseException]]:
    """Post ``firsts`` one batch a committer, each held at its lookup, then ``queued`` behind them;
    release them all. What was sent, and what each writer of ``queued`` heard."""
    release = threading.Event()
    with lookups_held(ctx, len(firsts), release) as seen:
        busy = []
        for n, first in enumerate(firsts, start=1):
            busy.append(asyncio.ensure_future(post_comment_async(ctx, first, Client())))
            while len(seen["lookups"]) < n:
                await asyncio.sleep(0.002)
        waiting = [asyncio.ensure_future(post_comment_async(ctx, q, Client())) for q in queued]
        await asyncio.sleep(0.05)  # every one of them queued
        release.set()
        heard = await asyncio.gather(*waiting, return_exceptions=True)
        await asyncio.gather(*busy)
    return seen, heard


def stored_together(ctx: Context) -> list[tuple[int, int, int]]:
    """Each comment's id, the transaction that wrote it and the one that wrote its outbox row."""
    query = text(
        "SELECT c.id, c.xmin::text::bigint, o.xmin::text::bigint FROM comments c"
        " JOIN outbox o ON o.topic = 'CommentPosted'"
        " AND (o.payload -> 'comment' ->> 'id')::bigint = c.id ORDER BY c.id"
    )
    with ctx.db.read() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def count_and_comments(ctx: Context) -> tuple[int, int, int]:
    with ctx.db.read() as conn:
        count = conn.execute(text("SELECT comment_count FROM threads")).scalar_one()
        rows = conn.execute(text("SELECT count(*) FROM comments")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM outbox WHERE topic = 'CommentPosted'")).scalar_one()
    return count, rows, events


@pytest.fixture
def pg(ctx: Context, site: str) -> Context:
    if ctx.db.backend == "sqlite":
        pytest.skip("SQLite runs the loop's batches on the loop itself: no statement is a round trip")
    return ctx


async def test_the_queued_batch_is_looked_up_in_the_statement_of_the_batch_before(pg: Context) -> None:
    top = post_comment(pg, new("opens the thread"), Client()).comment
    firsts = [new(f"first {n}", n) for n in range(POSTGRES_COMMITTERS)]
    queued = [new(f"queued {n}", 10 + n, parent_id=top.id if n % 2 else None) for n in range(QUEUED)]

    seen, heard = await queued_behind_busy_committers(pg, firsts, queued)

    # One lookup on its own for each held batch; the queued batch's rode in one of their statements, and
    # its own statement carried no lookup (nothing queued behind it).
    assert len(seen["lookups"]) == POSTGRES_COMMITTERS
    assert len(seen["riding"]) == 1
    assert len(seen["writes"]) == POSTGRES_COMMITTERS
    posted = [p for p in heard if isinstance(p, PostedComment)]
    assert len(posted) == QUEUED
    for n, p in enumerate(posted):
        assert p.comment.parent_id == (top.id if n % 2 else None)
        with pg.db.read() as conn:
            row = comment_store.get_comment(conn, p.comment.id)
        assert row is not None and row.body == f"queued {n}" and row.thread_id == top.thread_id
    # Every comment with its count and its outbox row, the row written by the comment's own transaction.
    assert count_and_comments(pg) == (1 + POSTGRES_COMMITTERS + QUEUED,) * 3
    together = stored_together(pg)
    assert len(together) == 1 + POSTGRES_COMMITTERS + QUEUED
    assert all(comment_xid == outbox_xid for _, comment_xid, outbox_xid in together)
    assert len({xid for comment_id, xid, _ in together if comment_id in {p.comment.id for p in posted}}) == 1


async def test_a_refused_piece_of_a_batch_looked_up_ahead_is_answered_alone(pg: Context) -> None:
    top = post_comment(pg, new("opens the thread"), Client()).comment
    firsts = [new(f"first {n}", n) for n in range(POSTGRES_COMMITTERS)]
    missing = top.id + 1_000_000
    queued = [new(f"queued {n}", 10 + n, parent_id=missing if n == 2 else None) for n in range(QUEUED)]

    seen, heard = await queued_behind_busy_committers(pg, firsts, queued)

    assert len(seen["riding"]) == 1
    refused = [h for h in heard if isinstance(h, BaseException)]
    assert len(refused) == 1 and isinstance(heard[2], InvalidInput)
    assert heard[2].fields == {"parent_id": "must be a comment in the same thread"}
    assert count_and_comments(pg) == (POSTGRES_COMMITTERS + QUEUED,) * 3


async def test_when_the_statement_carrying_a_lookup_fails_the_next_batch_is_looked_up_again(
    pg: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_comment(pg, new("opens the thread"), Client())
    json_row = comment_store._json_row

    def breaking(row: dict[str, Any]) -> dict[str, Any]:
        as_json = json_row(row)
        if row["body"].startswith("the bad one"):  # a status too long for its column: the statement fails
            as_json["status"] = "x" * 100
        return as_json

    monkeypatch.setattr(comment_store, "_json_row", breaking)
    firsts = [new(f"the bad one {n}", n) for n in range(POSTGRES_COMMITTERS)]
    queued = [new(f"queued {n}", 10 + n) for n in range(QUEUED)]

    release = threading.Event()
    with lookups_held(pg, len(firsts), release) as seen:
        busy = []
        for n, first in enumerate(firsts, start=1):
            busy.append(asyncio.ensure_future(post_comment_async(pg, first, Client())))
            while len(seen["lookups"]) < n:
                await asyncio.sleep(0.002)
        waiting = [asyncio.ensure_future(post_comment_async(pg, q, Client())) for q in queued]
        await asyncio.sleep(0.05)
        release.set()
        heard = await asyncio.gather(*waiting)
        failed = await asyncio.gather(*busy, return_exceptions=True)

    assert all(isinstance(f, BaseException) for f in failed)  # each bad one's writer hears of its own
    assert seen["riding"]  # the queued batch's lookup was sent with a failing statement...
    assert len(heard) == QUEUED  # ...and asked again on its own: every queued comment committed
    assert count_and_comments(pg) == (1 + QUEUED,) * 3
    assert all(comment_xid == outbox_xid for _, comment_xid, outbox_xid in stored_together(pg))


async def test_posts_behind_a_busy_writer_store_the_same_on_either_backend(ctx: Context, site: str) -> None:
    top = post_comment(ctx, new("opens the thread"), Client()).comment

    async def wave(w: int) -> list[PostedComment]:
        return await asyncio.gather(
            *(post_comment_async(ctx, new(f"wave {w} post {n}", n, top.id if n % 3 else None), Client())
              for n in range(8))
        )  # fmt: skip

    posted = [p for w in range(3) for p in await wave(w)]
    assert len({p.comment.id for p in posted}) == 24
    assert count_and_comments(ctx) == (25, 25, 25)
    with ctx.db.read() as conn:
        for p in posted:
            row = comment_store.get_comment(conn, p.comment.id)
            assert row is not None and row.parent_id == p.comment.parent_id
