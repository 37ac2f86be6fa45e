"""Building the reply tree of a page: pure, no I/O.

Replies deeper than the site's maximum depth hang under their deepest allowed ancestor, in order,
so a long back-and-forth stays readable. A comment that is not published (deleted, held, spam) stays
only as a placeholder above live replies: the replies readers wrote stay readable, and the thread lists
every comment its count counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rejoinder.model import Author, Comment, CommentStatus


@dataclass
class Node:
    comment: Comment
    replies: list[Node] = field(default_factory=list)


def build_tree(top_level: Sequence[Comment], replies: Iterable[Comment], max_depth: int) -> list[Node]:
    """Nest ``replies`` (oldest first) under ``top_level`` (in page order) in at most ``max_depth`` levels.

    The top level is level 1, so ``max_depth=2`` lists every reply flat under its top-level comment.
    """
    nodes: dict[int, Node] = {}
    level: dict[int, int] = {}
    placed_under: dict[int, int] = {}  # where a reply was placed, which may be above its real parent
    roots = []
    for comment in top_level:
        nodes[comment.id] = Node(placeholder(comment))
        level[comment.id] = 1
        roots.append(nodes[comment.id])
    for reply in replies:
        home_id = reply.parent_id
        if home_id is None or home_id not in nodes:
            continue  # its parent is not visible (held or spam), so neither is the reply
        while level[home_id] >= max_depth:
            home_id = placed_under[home_id]
        nodes[reply.id] = Node(placeholder(reply))
        level[reply.id] = level[home_id] + 1
        placed_under[reply.id] = home_id
        nodes[home_id].replies.append(nodes[reply.id])
    return [node for node in roots if _prune(node)]


def placeholder(comment: Comment) -> Comment:
    """A held or spam comment as readers may see it above its replies: a deleted one's placeholder."""
    if comment.status in (CommentStatus.PUBLISHED, CommentStatus.DELETED):
        return comment
    return dataclasses.replace(comment, status=CommentStatus.DELETED, html="", body="", author=Author(""))


def _prune(node: Node) -> bool:
    """Drop placeholders that no longer have a live reply below them; True if ``node`` stays."""
    node.replies = [child for child in node.replies if _prune(child)]
    return node.comment.status is CommentStatus.PUBLISHED or bool(node.replies)
