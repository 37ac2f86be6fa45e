"""The likes a committer takes together: on PostgreSQL those of comments on sites without like rules are made
in one statement, a second like of the same comment in its own; each like is counted once, answered with
its count and has its event in the outbox. Both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from rejoinder import likes
from rejoinder.context import Context
from rejoinder.events import CommentLiked, decode
from rejoinder.store import likes as like_store
from rejoinder.store import outbox
from rejoinder.store.comments import get_comment, like_count
from tests.helpers import post
from tests.test_queries import statements_run

pytestmark = pytest.mark.usefixtures("steady_rate_windows")

BATCH_STATEMENT = "json_array_elements(%(likes)s::json)"


async def comments_of(client: httpx.AsyncClient, count: int) -> list[int]:
    return [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(count)]


def liked_events(ctx: Context, since: int) -> list[CommentLiked]:
    with ctx.db.read() as conn:
        newer = outbox.after(conn, since, [], 100)
        ids = [event_id for event_id, topic in newer if topic == CommentLiked.topic()]
        found = outbox.payloads(conn, ids)
    events = [decode(CommentLiked.topic(), found[event_id]) for event_id in ids]
    assert all(isinstance(event, CommentLiked) for event in events)
    return events  # type: ignore[return-value]


async def test_likes_sent_together_are_each_counted_once_with_their_events(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    first, second, third, warm = await comments_of(client, 4)
    await likes.set_like_async(ctx, warm, "reader-000000", True)  # the site is known to have no rules
    with ctx.db.read() as conn:
        since = outbox.newest_id(conn)
    asked = [(first, 1), (first, 2), (second, 1), (second, 1), (third, 3), (third + 1000, 1)]
    with statements_run(ctx) as seen:
        answers = await asyncio.gather(
            *(likes.set_like_async(ctx, comment, f"reader-{n:06d}", True) for comment, n in asked),
            return_exceptions=True,
        )
    states = [(answer.likes, answer.liked) for answer in answers if isinstance(answer, likes.LikeState)]
    assert sorted(states[:2]) == [(1, True), (2, True)]  # the second like of a comment saw the first
    assert states[2:] == [(1, True), (1, True), (1, True)]  # liked twice: counted once
    assert type(answers[-1]).__name__ == "CommentNotFound"
    with ctx.db.read() as conn:
        assert [like_count(conn, comment) for comment in (first, second, third)] == [2, 1, 1]
    events = liked_events(ctx, since)
    assert sorted((event.comment.id, event.comment.likes) for event in events) == [
        (first, 1), (first, 2), (second, 1), (third, 1)
    ]  # fmt: skip
    if backend == "postgres":
        together = [statement for statement in seen if BATCH_STATEMENT in statement]
        # Six likes in batches of the two committers: fewer statements than likes, as some went together.
        assert 0 < len(together) < len(asked), seen


async def test_the_batch_statement_writes_only_for_the_sites_asked(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite's likes are two statements through its driver")
    first, second = await comments_of(client, 2)
    with ctx.db.read() as conn:
        comment = get_comment(conn, first)
        assert comment is not None
        site_id = conn.exec_driver_sql(
            "SELECT site_id FROM threads WHERE id = %(id)s", {"id": comment.thread_id}
        ).scalar_one()
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        read_only = like_store.place_likes(conn, [(first, "key-a"), (second, "key-a")], now, [site_id + 1])
    assert [(placed.changed, placed.comment.likes) for placed in read_only.values()] == [(False, 0)] * 2
    with ctx.db.write() as conn:
        placed = like_store.place_likes(conn, [(first, "key-a"), (second + 1000, "key-a")], now, [site_id])
    assert list(placed) == [first]  # a comment that is not there is not answered
    assert (placed[first].changed, placed[first].comment.likes, placed[first].site_id) == (True, 1, site_id)
    with pytest.raises(ValueError, match="counted once"), ctx.db.write() as conn:
        like_store.place_likes(conn, [(first, "key-b"), (first, "key-c")], now, [site_id])
    with ctx.db.read() as conn:
        assert like_count(conn, first) == 1
