"""Replies in the posts' group commit: on PostgreSQL the comment a reply answers is found by the batch's
one lookup, so a batch of replies makes the same two statements as a batch of top-level comments; the
rules a reply must meet are the same on both backends and whether or not it was looked up ahead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from rejoinder.comments import Client, NewComment, post_comment, post_comment_async
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.model import Author, CommentStatus
from rejoinder.store import comments as comment_store
from tests.test_queries import GROUP_STATEMENTS, POST_STATEMENTS, comments_inserted, committed_transactions

URL = "https://blog.example/replies"
# On SQLite, where a statement is no round trip, a reply reads the comment it answers on its own: one
# statement more than a top-level comment.
REPLY_STATEMENTS = {"postgresql": POST_STATEMENTS["postgresql"], "sqlite": POST_STATEMENTS["sqlite"] + 1}
OTHER_URL = "https://blog.example/elsewhere"


def reply(body: str, parent_id: int | None, url: str = URL, n: int = 0) -> NewComment:
    author = Author(f"Ada {n}", f"ada{n}@example.org")
    return NewComment(site="test", url=url, title="Replies", body=body, parent_id=parent_id, author=author)


async def test_a_batch_of_replies_makes_the_statements_of_a_batch_of_comments(
    ctx: Context, site: str
) -> None:
    own, shared = REPLY_STATEMENTS[ctx.db.backend], GROUP_STATEMENTS[ctx.db.backend]
    top = post_comment(ctx, reply("opens the thread", None), Client()).comment
    answer = post_comment(ctx, reply("a first reply", top.id), Client()).comment
    with committed_transactions(ctx) as done:
        posted = await asyncio.gather(
            *(
                post_comment_async(ctx, reply(f"reply {n}", answer.id if n % 2 else top.id, n=n), Client())
                for n in range(8)
            )
        )
    groups = [t for t in done if comments_inserted(t)]
    assert sum(map(comments_inserted, groups)) == 8
    # PostgreSQL: no statement of a reply's own (its parent is in the lookup), so no transaction opened
    # around the lookup's answer either.
    assert [len(t) for t in groups] == [own * comments_inserted(t) + shared for t in groups]
    for n, p in enumerate(posted):
        assert p.comment.parent_id == (answer.id if n % 2 else top.id)
        assert p.comment.root_id == top.id  # a reply to a reply hangs under the conversation's root
        with ctx.db.read() as conn:
            row = comment_store.get_comment(conn, p.comment.id)
        assert row is not None and (row.parent_id, row.root_id) == (p.comment.parent_id, top.id)


@pytest.mark.parametrize("from_the_loop", [False, True])
async def test_a_reply_is_refused_unless_it_answers_a_published_comment_of_its_thread(
    ctx: Context, site: str, from_the_loop: bool
) -> None:
    top = post_comment(ctx, reply("opens the thread", None), Client()).comment
    elsewhere = post_comment(ctx, reply("another thread", None, OTHER_URL), Client()).comment
    held = post_comment(ctx, reply("held back", None), Client()).comment
    with ctx.db.write() as conn:
        comment_store.set_status(conn, held.id, CommentStatus.PENDING, moderated_at=datetime.now(UTC))

    async def post(new: NewComment) -> object:
        if from_the_loop:
            return await post_comment_async(ctx, new, Client())
        return post_comment(ctx, new, Client())

    missing = {"parent_id": "must be a comment in the same thread"}
    for parent_id, fields in [
        (top.id + 1_000_000, missing),
        (elsewhere.id, missing),
        (held.id, {"parent_id": "is not a published comment"}),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await post(reply("a reply", parent_id))
        assert refused.value.fields == fields
    # The refused ones left the batch's others alone.
    together = await asyncio.gather(
        post_comment_async(ctx, reply("fine", top.id, n=1), Client()),
        post_comment_async(ctx, reply("not fine", held.id, n=2), Client()),
        return_exceptions=True,
    )
    assert not isinstance(together[0], BaseException) and together[0].comment.parent_id == top.id
    assert isinstance(together[1], InvalidInput)
