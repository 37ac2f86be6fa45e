"""Likes: *Liked by 3 people*. One like per reader id and comment, however often it is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, InvalidInput, RateLimited
from rejoinder.events import CommentLiked
from rejoinder.model import Comment, CommentStatus
from rejoinder.store import comments as comment_store
from rejoinder.store import likes as store

LIKER_HEADER = "X-Rejoinder-Liker"


@dataclass(frozen=True)
class LikeState:
    likes: int
    liked: bool


def set_like(
    ctx: Context, comment_id: int, liker: str | None, liked: bool, client_address: str = ""
) -> LikeState:
    """Like (``liked=True``) or unlike a comment for one reader; repeating it changes nothing. Likes are
    counted against ``like_rate_limit`` per ``client_address``."""
    store_it, finish = _plan_like(ctx, comment_id, liker, liked, client_address)
    return finish(ctx.db.transaction(store_it))


async def set_like_async(
    ctx: Context, comment_id: int, liker: str | None, liked: bool, client_address: str = ""
) -> LikeState:
    """``set_like`` for the event loop: on SQLite the write joins the loop's group commit."""
    store_it, finish = _plan_like(ctx, comment_id, liker, liked, client_address)
    return finish(await ctx.db.transaction_async(store_it))


def _plan_like(
    ctx: Context, comment_id: int, liker: str | None, liked: bool, client_address: str
) -> tuple[Callable[[Connection], Comment], Callable[[Comment], LikeState]]:
    liker = (liker or "").strip()
    if not 8 <= len(liker) <= 128 or not liker.isascii() or not liker.isprintable():
        raise InvalidInput(
            f"{LIKER_HEADER} must be the reader's random id",
            {LIKER_HEADER: "must be 8-128 printable ASCII characters"},
        )
    # Reader ids are made up by the client: the address is what bounds how many one sender can cast.
    # Checked before the transaction, so a flood is refused without queueing for the writer.
    exceeded = ctx.spam.rate_limits.hit(0, [("like", ctx.settings.like_rate_limit, client_address)])
    if exceeded is not None:
        what, fields = "too many likes from this address", {"client": f"allows {exceeded.limit}"}
        ctx.refusals.remember(client_address, "like", exceeded.retry_after, what, fields)
        raise RateLimited(
            f"{what}; try again in {exceeded.retry_after} s", fields, retry_after=exceeded.retry_after
        )
    key = ctx.signer.reader_key("like", liker)

    def store_it(conn: Connection) -> Comment:
        placed = comment_store.get_comment_placed(conn, comment_id)
        if placed is None or placed[0].status is not CommentStatus.PUBLISHED:
            raise CommentNotFound(
                f"there is no comment {comment_id}", {"comment_id": "is not a published comment"}
            )
        comment, thread_url, site_key = placed
        if liked:
            changed = store.add_like(conn, comment_id, key, datetime.now(UTC))
        else:
            changed = store.remove_like(conn, comment_id, key)
        if changed:
            likes, version = comment_store.add_to_like_count(conn, comment_id, 1 if liked else -1)
            comment = dataclasses.replace(comment, likes=likes, version=version)
            ctx.events.record(conn, CommentLiked(site_key, thread_url, comment))
        else:  # read again: on PostgreSQL a concurrent like may have committed since the read above
            comment = dataclasses.replace(comment, likes=comment_store.like_count(conn, comment_id))
        return comment

    def finish(comment: Comment) -> LikeState:
        return LikeState(likes=comment.likes, liked=liked)

    return store_it, finish
