"""Nesting a page of comments: every published comment once, never deeper than allowed, order kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.model import Author, Comment, CommentStatus
from rejoinder.tree import Node, build_tree

START = datetime(2026, 11, 29, tzinfo=UTC)


def make(id: int, parent: Comment | None, status: CommentStatus) -> Comment:
    root = None if parent is None else (parent.root_id or parent.id)
    return Comment(
        id=id,
        thread_id=1,
        parent_id=parent.id if parent else None,
        root_id=root,
        author=Author("A"),
        body="",
        html="",
        status=status,
        created_at=START + timedelta(seconds=id),
        edited_at=None,
        likes=0,
    )


@st.composite
def threads(draw: st.DrawFn) -> list[Comment]:
    """Comments in posting order; each reply answers an earlier comment."""
    comments: list[Comment] = []
    for id in range(1, draw(st.integers(1, 40)) + 1):
        parent = draw(st.sampled_from([None, *comments])) if comments else None
        status = draw(st.sampled_from([CommentStatus.PUBLISHED] * 4 + [CommentStatus.DELETED]))
        comments.append(make(id, parent, status))
    return comments


def walk(nodes: list[Node], depth: int = 1) -> list[tuple[Comment, int]]:
    return [pair for node in nodes for pair in [(node.comment, depth), *walk(node.replies, depth + 1)]]


@settings(max_examples=300, deadline=None, database=None)
@given(threads(), st.integers(2, 6))
def test_every_published_comment_appears_once_within_the_depth(
    comments: list[Comment], max_depth: int
) -> None:
    top = [c for c in comments if c.root_id is None]
    replies = [c for c in comments if c.root_id is not None]
    placed = walk(build_tree(top, replies, max_depth))
    shown = [c.id for c, _ in placed]
    assert len(shown) == len(set(shown))
    assert all(depth <= max_depth for _, depth in placed)
    # Every published comment shows; a deleted one only as a placeholder with replies hanging below it.
    assert {c.id for c in comments if c.status is CommentStatus.PUBLISHED} <= set(shown)
    for node in _nodes(build_tree(top, replies, max_depth)):
        if node.comment.status is CommentStatus.DELETED:
            assert node.replies, node.comment.id


def _nodes(nodes: list[Node]) -> list[Node]:
    return [n for node in nodes for n in [node, *_nodes(node.replies)]]


@settings(max_examples=200, deadline=None, database=None)
@given(threads(), st.integers(2, 6))
def test_replies_stay_below_an_ancestor_and_in_posting_order(comments: list[Comment], max_depth: int) -> None:
    by_id = {c.id: c for c in comments}

    def ancestors(comment: Comment) -> set[int]:
        found = set()
        while comment.parent_id is not None:
            found.add(comment.parent_id)
            comment = by_id[comment.parent_id]
        return found

    def check(nodes: list[Node]) -> None:
        for node in nodes:
            for reply in node.replies:
                assert node.comment.id in ancestors(reply.comment)
            assert [r.comment.id for r in node.replies] == sorted(r.comment.id for r in node.replies)
            check(node.replies)

    top = [c for c in comments if c.root_id is None]
    check(build_tree(top, [c for c in comments if c.root_id is not None], max_depth))
