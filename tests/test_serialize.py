"""Public JSON: pages joined from kept per-comment fragments read exactly as if encoded whole."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import orjson

from rejoinder.model import Author, Comment, CommentStatus
from rejoinder.threads import ThreadPage
from rejoinder.tree import Node, build_tree
from rejoinder.web.serialize import FRAGMENT_OVERHEAD, Fragments, page_comment, thread_page

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def comment(id: int, parent: int | None = None, root: int | None = None, **changes: object) -> Comment:
    made = Comment(
        id=id,
        thread_id=1,
        parent_id=parent,
        root_id=root,
        author=Author("Ada", "ada@example.org"),
        body="secret source",
        html=f"<p>{id}</p>",
        status=CommentStatus.PUBLISHED,
        created_at=NOW + timedelta(seconds=id),
        edited_at=None,
        likes=id % 3,
        remote_addr="192.0.2.1",
    )
    return dataclasses.replace(made, **changes)


def page_of(comments: list[Comment]) -> ThreadPage:
    top = [c for c in comments if c.root_id is None]
    replies = [c for c in comments if c.root_id is not None]
    return ThreadPage("https://blog.example/a", "A", len(comments), False, build_tree(top, replies, 5), "cur")


def encoded_whole(page: ThreadPage) -> object:
    return {
        "thread": {
            "url": page.url,
            "title": page.title,
            "comment_count": page.comment_count,
            "closed": False,
        },
        "comments": [listed(n) for n in page.comments],
        "next_cursor": "cur",
    }


def listed(node: Node) -> dict[str, object]:
    """A comment as a page lists it, encoded on its own: its flags left out at their defaults."""
    return {**page_comment(node.comment), "replies": [listed(reply) for reply in node.replies]}


def test_a_joined_page_equals_the_page_encoded_whole() -> None:
    comments = [
        comment(1),
        comment(2, 1, 1),
        comment(3, 2, 1),
        comment(4),
        comment(5, 4, 4),
        comment(6, status=CommentStatus.DELETED),
        comment(7, 6, 6),
    ]
    page = page_of(comments)
    fragments = Fragments()
    assert orjson.loads(thread_page(page, fragments).body) == orjson.loads(
        orjson.dumps(encoded_whole(page), option=orjson.OPT_UTC_Z)
    )
    assert thread_page(page, fragments) == thread_page(page, Fragments())  # kept fragments change nothing


def test_a_new_version_of_a_comment_is_encoded_again_and_no_private_field_leaks() -> None:
    fragments = Fragments()
    first = thread_page(page_of([comment(1)]), fragments).body
    liked = thread_page(page_of([comment(1, likes=9, version=2)]), fragments).body
    assert orjson.loads(first)["comments"][0]["likes"] == 1
    assert orjson.loads(liked)["comments"][0]["likes"] == 9
    for body in (first, liked):
        assert b"ada@example.org" not in body and b"192.0.2.1" not in body and b"secret source" not in body


def test_fragments_keep_the_last_used_within_their_budget() -> None:
    fragments = Fragments(max_bytes=2_000)
    comments = [comment(i) for i in range(1, 41)]
    whole = thread_page(page_of(comments), Fragments())
    assert thread_page(page_of(comments), fragments) == whole  # a budget changes no answer
    kept = fragments._kept
    assert 0 < sum(len(f) + FRAGMENT_OVERHEAD for _, f in kept.values()) <= 2_000
    assert list(kept)[-1] == 40  # the last used stay
    fragments.of(comments[-3])  # used again: now the newest, not the next to go
    assert list(kept)[-1] == 38


def test_a_page_built_without_keep_keeps_no_fragment_and_reads_the_same() -> None:
    page = page_of([comment(1), comment(2, 1, 1), comment(3)])
    fragments = Fragments()
    assert thread_page(page, fragments, keep=False) == thread_page(page, Fragments())
    assert not fragments._kept
