"""PostgreSQL: a batch of likes whose one statement committed on its own (the likes and their events'
outbox rows) before another write of the same batch failed. The batch runs again piece by piece: the
likes are found made, and their events are neither written nor handed on a second time."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, insert

from rejoinder.context import Context
from rejoinder.events import CommentLiked
from rejoinder.store import likes as like_store
from rejoinder.store import outbox
from rejoinder.store.db import POSTGRES_SMALL_COMMITTERS
from rejoinder.store.schema import server_secrets
from tests.helpers import post
from tests.test_pglikes_one_round_trip import liker

pytestmark = pytest.mark.usefixtures("steady_rate_windows")

LIKES = 3


def held(started: list[bool], release: threading.Event) -> Any:
    """A small write that holds its committer until ``release``."""

    def work(conn: Connection) -> None:
        started.append(True)
        release.wait(10)

    return work


def taken_name(conn: Connection) -> None:
    """A write that breaks a constraint: a secret's name is its primary key, and this one is taken."""
    conn.execute(insert(server_secrets).values(name="taken", value="again"))


async def test_likes_committed_before_their_batch_failed_make_their_events_once(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite's likes are written in their batch's transaction, rolled back with it")
    handed: list[CommentLiked] = []
    ctx.events.subscribe(CommentLiked, handed.append)
    comments = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(LIKES + 1)]
    # A first like: the process learns that the site has no like rules, and likes go in their batch's
    # statement from then on.
    assert (await client.put(f"/api/v1/comments/{comments.pop()}/like", headers=liker(99))).status_code == 200
    handed.clear()
    with ctx.db.write() as conn:
        conn.execute(insert(server_secrets).values(name="taken", value="first"))
        since = outbox.newest_id(conn)
    statements: list[tuple[int, int]] = []  # (likes asked, events written) of each like statement
    original = like_store.place_likes

    def noting(conn: Connection, likes: Any, *args: Any, **kw: Any) -> Any:
        placed = original(conn, likes, *args, **kw)
        statements.append((len(likes), sum(p.event_id is not None for p in placed.values())))
        return placed

    monkeypatch.setattr(like_store, "place_likes", noting)

    # Every committer of the small writes held, so that the likes and the failing write queue meanwhile
    # and form one batch together.
    release, started = threading.Event(), []
    holding = []
    for n in range(POSTGRES_SMALL_COMMITTERS):  # one at a time, or the first committer takes two
        holding.append(asyncio.ensure_future(ctx.db.transaction_async(held(started, release), small=True)))
        while len(started) <= n:
            await asyncio.sleep(0.002)
    liking = [
        asyncio.ensure_future(client.put(f"/api/v1/comments/{c}/like", headers=liker(n)))
        for n, c in enumerate(comments)
    ]
    while len(ctx.db._small_writes.queued) < LIKES:
        await asyncio.sleep(0.002)
    failing = asyncio.ensure_future(ctx.db.transaction_async(taken_name, small=True))
    await asyncio.sleep(0.01)
    release.set()
    answers = await asyncio.gather(*liking)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await failing
    await asyncio.gather(*holding)

    assert [answer.json() for answer in answers] == [{"likes": 1, "liked": True}] * LIKES
    # The batch's statement made the likes and their events; run again alone, each like found itself made.
    assert statements == [(LIKES, LIKES)] + [(1, 0)] * LIKES
    ctx.events.drain()
    with ctx.db.read() as conn:
        topics = [topic for _, topic in outbox.after(conn, since, [], 100)]
        counts = conn.exec_driver_sql(
            "SELECT like_count FROM comments WHERE id = ANY(%(ids)s)", {"ids": comments}
        ).scalars()
        assert list(counts) == [1] * LIKES
    assert topics.count(CommentLiked.topic()) == LIKES
    assert sorted(event.comment.id for event in handed) == sorted(comments)
