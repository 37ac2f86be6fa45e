"""Likes: *Liked by 3 people*. One like per reader id and comment, however often it is sent."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, InvalidInput
from rejoinder.events import CommentLiked
from rejoinder.model import Comment, CommentStatus
from rejoinder.store import comments as comment_store
from rejoinder.store import likes as store
from rejoinder.store import threads as thread_store
from rejoinder.store.sites import get_site_by_id

LIKER_HEADER = "X-Rejoinder-Liker"


@dataclass(frozen=True)
class LikeState:
    likes: int
    liked: bool


def set_like(ctx: Context, comment_id: int, liker: str | None, liked: bool) -> LikeState:
    """Like (``liked=True``) or unlike a comment for one reader; repeating it changes nothing."""
    liker = (liker or "").strip()
    if not 8 <= len(liker) <= 128 or not liker.isascii() or not liker.isprintable():
        raise InvalidInput(
            f"{LIKER_HEADER} must be the reader's random id",
            {LIKER_HEADER: "must be 8-128 printable ASCII characters"},
        )
    key = ctx.signer.reader_key("like", liker)

    def store_it(conn: Connection) -> tuple[Comment, bool, str, str]:
        comment = comment_store.get_comment(conn, comment_id)
        if comment is None or comment.status is not CommentStatus.PUBLISHED:
            raise CommentNotFound(f"there is no comment {comment_id}")
        if liked:
            changed = store.add_like(conn, comment_id, key, datetime.now(UTC))
        else:
            changed = store.remove_like(conn, comment_id, key)
        if changed:
            likes, version = comment_store.add_to_like_count(conn, comment_id, 1 if liked else -1)
            comment = dataclasses.replace(comment, likes=likes, version=version)
        else:  # read again: on PostgreSQL a concurrent like may have committed since the read above
            comment = dataclasses.replace(comment, likes=comment_store.like_count(conn, comment_id))
        thread = thread_store.get_thread(conn, comment.thread_id)
        site = get_site_by_id(conn, thread.site_id)
        return comment, changed, site.key, thread.url

    comment, changed, site_key, thread_url = ctx.db.transaction(store_it)
    if changed:
        ctx.events.publish(CommentLiked(site_key, thread_url, comment))
    return LikeState(likes=comment.likes, liked=liked)
