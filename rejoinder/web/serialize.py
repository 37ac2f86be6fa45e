"""Domain objects to public JSON. No e-mail or IP address ever passes through here."""

from __future__ import annotations

from typing import Any

import orjson

from rejoinder.model import Comment, CommentStatus
from rejoinder.threads import ThreadPage
from rejoinder.tree import Node

OPTIONS = orjson.OPT_UTC_Z


def public_comment(comment: Comment, replies: list[Node] | None = None) -> dict[str, Any]:
    deleted = comment.status is CommentStatus.DELETED
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author": {
            "name": None if deleted else (comment.author.name or None),
            "website": None if deleted else (comment.author.website or None),
        },
        "html": "" if deleted else comment.html,
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "likes": 0 if deleted else comment.likes,
        "status": comment.status.value,
        "replies": [public_comment(node.comment, node.replies) for node in replies or ()],
    }


def thread_page(page: ThreadPage) -> bytes:
    return orjson.dumps(
        {
            "thread": {
                "url": page.url,
                "title": page.title,
                "comment_count": page.comment_count,
                "closed": page.closed,
            },
            "comments": [public_comment(node.comment, node.replies) for node in page.comments],
            "next_cursor": page.next_cursor,
        },
        option=OPTIONS,
    )


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=OPTIONS)
