"""Likes: *Liked by 3 people*. One like per reader id and comment, however often it is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, InvalidInput
from rejoinder.events import CommentLiked
from rejoinder.model import Comment, CommentStatus
from rejoinder.store import comments as comment_store
from rejoinder.store import likes as store

LIKER_HEADER = "X-Rejoinder-Liker"


@dataclass(frozen=True)
class LikeState:
    likes: int
    liked: bool


def set_like(ctx: Context, comment_id: int, liker: str | None, liked: bool) -> LikeState:
    """Like (``liked=True``) or unlike a comment for one reader; repeating it changes nothing."""
    store_it, finish = _plan_like(ctx, comment_id, liker, liked)
    return finish(ctx.db.transaction(store_it))


async def set_like_async(ctx: Context, comment_id: int, liker: str | None, liked: bool) -> LikeState:
    """``set_like`` for the event loop: on SQLite the write joins the loop's group commit."""
    store_it, finish = _plan_like(ctx, comment_id, liker, liked)
    return finish(await ctx.db.transaction_async(store_it))


def _plan_like(
    ctx: Context, comment_id: int, liker: str | None, liked: bool
) -> tuple[Callable[[Connection], Comment], Callable[[Comment], LikeState]]:
    liker = (liker or "").strip()
    if not 8 <= len(liker) <= 128 or not liker.isascii() or not liker.isprintable():
        raise InvalidInput(
            f"{LIKER_HEADER} must be the reader's random id",
            {LIKER_HEADER: "must be 8-128 printable ASCII characters"},
        )
    key = ctx.signer.reader_key("like", liker)

    def store_it(conn: Connection) -> Comment:
        placed = comment_store.get_comment_placed(conn, comment_id)
        if placed is None or placed[0].status is not CommentStatus.PUBLISHED:
            raise CommentNotFound(
                f"there is no comment {comment_id}", {"comment_id": "is not a published comment"}
            )
        comment, thread_url, site_key = placed
        counted = store.change_like(conn, comment_id, key, liked, datetime.now(UTC))
        if counted is not None:
            likes, version = counted
            comment = dataclasses.replace(comment, likes=likes, version=version)
            ctx.events.record(conn, CommentLiked(site_key, thread_url, comment))
        else:  # read again: on PostgreSQL a concurrent like may have committed since the read above
            comment = dataclasses.replace(comment, likes=comment_store.like_count(conn, comment_id))
        return comment

    def finish(comment: Comment) -> LikeState:
        return LikeState(likes=comment.likes, liked=liked)

    return store_it, finish
