"""Domain objects to public JSON. No e-mail or IP address ever passes through here."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

import orjson

from rejoinder.model import Comment, CommentStatus
from rejoinder.threads import ThreadPage
from rejoinder.tree import Node

OPTIONS = orjson.OPT_UTC_Z
# Bytes a kept fragment costs besides its JSON: the bytes object's header, its tuple, the entry (measured
# with bench/memory.py: 688 bytes a fragment in all, for 490 of JSON).
FRAGMENT_OVERHEAD = 200
NO_REPLIES = b',"replies":[]}'  # after a fragment: a comment without replies


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
        "edited_by_moderator": comment.edited_by_moderator,
        "pinned": comment.pinned,
        "verified": _verified(comment),
        "likes": 0 if deleted else comment.likes,
        "status": comment.status.value,
        "replies": [public_comment(node.comment, node.replies) for node in replies or ()],
    }


# A comment's fields a thread page leaves out when they hold the schema's default (``CommentOut``): a guest's
# comment that no moderator pinned or edited, most of every page, is 59 bytes shorter, a seventh of a page
# that every reader's client parses. An answer about one comment (a post, an edit, a like, a live update)
# carries them all: clients merge it into the comment they show, where a missing field would keep an old
# value (a comment unpinned would stay pinned).
PAGE_DEFAULTS = ("edited_by_moderator", "pinned", "verified")  # false, false, null


def page_comment(comment: Comment) -> dict[str, Any]:
    """The comment as a thread page lists it, without its replies: ``public_comment`` less the fields at
    their defaults (``PAGE_DEFAULTS``)."""
    fields = public_comment(comment)
    del fields["replies"]
    for name in PAGE_DEFAULTS:
        if not fields[name]:
            del fields[name]
    return fields


def _verified(comment: Comment) -> dict[str, Any] | None:
    """The badge of a verified reader's comment (its provider, profile and picture), None for a guest's: the
    picture belongs to the badge, so a guest's comment, most of a page, carries one ``null`` for all three."""
    found = comment.verified
    if found is None or comment.status is CommentStatus.DELETED:
        return None
    return {
        "provider": found.provider,
        "provider_name": found.provider_name,
        "profile_url": found.profile_url,
        "avatar_url": found.avatar_url,
    }


class Fragments:
    """Each comment's JSON, kept by id with the version it was made from: a page rebuilt after a write
    is mostly joined, not encoded.

    A comment's version changes with every change to it, so a kept fragment is never out of date; a new
    version replaces the old one, so edits and likes do not pile up copies of a comment. Only the
    fragments used last are kept, up to ``max_bytes``, and only those of pages built with ``keep``: the
    ones that matter are those of threads being written to (their pages are rebuilt), while every other
    page is answered whole from the read cache, which holds the same bytes again.
    """

    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[int, tuple[int, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def of(self, comment: Comment, keep: bool = True) -> bytes:
        """The comment's JSON object without its closing brace, ready for ``,"replies":[…]}``; kept for
        the next page that holds it if ``keep``."""
        kept = self._kept.get(comment.id)
        if kept is not None and kept[0] == comment.version:
            try:  # noqa: SIM105 (contextlib.suppress costs three calls, for every comment of a page made)
                self._kept.move_to_end(comment.id)
            except KeyError:  # dropped by another thread meanwhile: still valid
                pass
            return kept[1]
        fragment = orjson.dumps(page_comment(comment), option=OPTIONS)[:-1]
        if not keep:
            return fragment
        with self._lock:
            old = self._kept.pop(comment.id, None)
            if old is not None:
                self._size -= len(old[1]) + FRAGMENT_OVERHEAD
            self._kept[comment.id] = (comment.version, fragment)
            self._size += len(fragment) + FRAGMENT_OVERHEAD
            while self._size > self.max_bytes and self._kept:
                _, (_, dropped) = self._kept.popitem(last=False)
                self._size -= len(dropped) + FRAGMENT_OVERHEAD
        return fragment


class MadePage(NamedTuple):
    """A thread's page as the read cache keeps it: its JSON and its ETag (``page_etag``)."""

    body: bytes
    etag: str


def thread_page(page: ThreadPage, fragments: Fragments, keep: bool = True) -> MadePage:
    """The page's JSON, joined from its comments' fragments (kept for the next page if ``keep``), and its
    ETag."""
    head = page_head(page.url, page.title, page.comment_count, page.closed)
    parts = [join_part(node, fragments, keep) for node in page.comments]
    tail = page_tail(page.next_cursor)
    digests = b"".join(map(part_digest, parts))
    return MadePage(b"".join((head, b",".join(parts), tail)), page_etag(head, digests, tail))


def page_head(url: str, title: str | None, comment_count: int, closed: bool) -> bytes:
    """A page's JSON up to its first comment: its thread's fields and the opening of its comments."""
    thread = {"url": url, "title": title, "comment_count": comment_count, "closed": closed}
    return b'{"thread":' + dumps(thread) + b',"comments":['


def page_tail(next_cursor: str | None) -> bytes:
    """A page's JSON after its last comment."""
    return b'],"next_cursor":' + dumps(next_cursor) + b"}"


def join_part(node: Node, fragments: Fragments, keep: bool) -> bytes:
    """The JSON of a top-level comment with its replies: one part of a page."""
    fragment = fragments.of(node.comment, keep)
    if not node.replies:
        return fragment + NO_REPLIES
    out = [fragment, b',"replies":[']
    join_nodes(node.replies, fragments, keep, out)
    out.append(b"]}")
    return b"".join(out)


def part_digest(part: bytes) -> bytes:
    """The digest a page's ETag is made of for one of its parts (``page_etag``)."""
    return hashlib.sha256(part).digest()


def page_etag(head: bytes, digests: bytes, tail: bytes) -> str:
    """A page's ETag: a digest of its head, of its parts' digests in order (``part_digest``) and of its tail,
    rather than of its bytes, so that a page patched after a write hashes only the parts it made anew. Still
    a function of the bytes alone, whichever way the page was made, in any process: a reader's
    ``If-None-Match`` matches wherever the same page is sent, and a changed byte changes the tag. The
    lengths come first, so no two pages' inputs run together."""
    framing = b"%d:%d:" % (len(head), len(digests))
    return '"' + hashlib.sha256(framing + head + digests + tail).hexdigest()[:24] + '"'


def join_nodes(
    nodes: list[Node], fragments: Fragments, keep: bool, out: list[bytes] | list[bytes | memoryview]
) -> None:
    """The nodes' JSON, comma-separated, added piece by piece to ``out``."""
    for i, node in enumerate(nodes):
        if i:
            out.append(b",")
        out += [fragments.of(node.comment, keep), b',"replies":[']
        join_nodes(node.replies, fragments, keep, out)
        out.append(b"]}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=OPTIONS)
