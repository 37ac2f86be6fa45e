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


class Fragments:
    """Each comment's JSON, kept by id with the version it was made from: a page rebuilt after a write
    is mostly joined, not encoded.

    A comment's version changes with every change to it, so a kept fragment is never out of date; a new
    version replaces the old one, so edits and likes do not pile up copies of a comment.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._kept: dict[int, tuple[int, bytes]] = {}

    def of(self, comment: Comment) -> bytes:
        """The comment's JSON object without its closing brace, ready for ``,"replies":[…]}``."""
        kept = self._kept.get(comment.id)
        if kept is not None and kept[0] == comment.version:
            return kept[1]
        fields = public_comment(comment)
        del fields["replies"]
        fragment = orjson.dumps(fields, option=OPTIONS)[:-1]
        if len(self._kept) >= self.max_entries:
            self._kept.clear()  # rare, and cheap to refill
        self._kept[comment.id] = (comment.version, fragment)
        return fragment


def thread_page(page: ThreadPage, fragments: Fragments) -> bytes:
    thread = {
        "url": page.url,
        "title": page.title,
        "comment_count": page.comment_count,
        "closed": page.closed,
    }
    out = [b'{"thread":', dumps(thread), b',"comments":[']
    _join(page.comments, fragments, out)
    out += [b'],"next_cursor":', dumps(page.next_cursor), b"}"]
    return b"".join(out)


def _join(nodes: list[Node], fragments: Fragments, out: list[bytes]) -> None:
    for i, node in enumerate(nodes):
        if i:
            out.append(b",")
        out += [fragments.of(node.comment), b',"replies":[']
        _join(node.replies, fragments, out)
        out.append(b"]}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=OPTIONS)
