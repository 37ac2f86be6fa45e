"""What happened, as events: written to the outbox in the transaction that made the change, delivered after
it commits (see ``bus.py``). Pure: the types and their JSON form, no I/O.

An event crosses process boundaries (the outbox, Redis), so it carries only what readers may see of a
comment: never its e-mail address, client address or user agent. Subscribers that need more read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rejoinder.model import Author, Comment, CommentStatus, Verified


@dataclass(frozen=True)
class Event:
    """Base of every event; ``topic`` is its name in the outbox and on the wire."""

    @classmethod
    def topic(cls) -> str:
        return cls.__name__


@dataclass(frozen=True)
class SiteChanged(Event):
    """A site was created or its name, origins or settings changed: memos of sites drop it."""

    site_key: str


@dataclass(frozen=True)
class CachesOutdated(Event):
    """Something changed that no finer event describes: every process empties its read cache."""

    reason: str


@dataclass(frozen=True)
class ThreadChanged(Event):
    """Something readers of a thread would see differently now."""

    site_key: str
    thread_url: str


@dataclass(frozen=True)
class CommentChanged(ThreadChanged):
    """A comment as it is now committed (its public part)."""

    comment: Comment
    site_id: int = 0


@dataclass(frozen=True)
class CommentPosted(CommentChanged):
    # SimHash of the text, for the near-duplicate index (None: too short to have one).
    fingerprint: int | None = None


@dataclass(frozen=True)
class CommentEdited(CommentChanged):
    pass


@dataclass(frozen=True)
class CommentDeleted(CommentChanged):
    pass


@dataclass(frozen=True)
class CommentLiked(CommentChanged):
    pass


@dataclass(frozen=True)
class CommentModerated(CommentChanged):
    """A moderator approved, spammed, un-spammed or deleted the comment."""

    decision: str = ""  # moderation.Decision's value
    fingerprint: int | None = None


@dataclass(frozen=True)
class CommentReported(Event):
    """A reader reported a published comment and it stays published (a report that holds it is a
    ``CommentModerated``): nothing readers see changes, moderators hear of it."""

    site_key: str
    site_id: int
    comment: Comment
    reason: str


@dataclass(frozen=True)
class SubscriptionRequested(Event):
    """An address not yet confirmed on the site asked for notifications: it is sent a confirmation."""

    site_key: str
    recipient_id: int


TOPICS: dict[str, type[Event]] = {
    cls.topic(): cls
    for cls in (
        SiteChanged,
        CachesOutdated,
        ThreadChanged,
        CommentChanged,
        CommentPosted,
        CommentEdited,
        CommentDeleted,
        CommentLiked,
        CommentModerated,
        CommentReported,
        SubscriptionRequested,
    )
}


def public(comment: Comment) -> Comment:
    """The comment as readers may see it: no body source, e-mail, client address or user agent."""
    if not (comment.body or comment.author.email or comment.remote_addr or comment.user_agent):
        return comment
    return dataclasses.replace(
        comment,
        body="",
        author=Author(comment.author.name, "", comment.author.website),
        remote_addr="",
        user_agent="",
    )


def encode(event: Event) -> dict[str, Any]:
    """The event's JSON form (its topic travels beside it)."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        data[f.name] = _encode_comment(value) if isinstance(value, Comment) else value
    return data


def decode(topic: str, data: dict[str, Any]) -> Event:
    """The event ``encode`` made; KeyError for a topic this version does not know."""
    cls = TOPICS[topic]
    values = dict(data)
    if "comment" in values:
        values["comment"] = _decode_comment(values["comment"])
    return cls(**values)


def _encode_comment(comment: Comment) -> dict[str, Any]:
    comment = public(comment)
    return {
        "id": comment.id,
        "thread_id": comment.thread_id,
        "parent_id": comment.parent_id,
        "root_id": comment.root_id,
        "name": comment.author.name,
        "website": comment.author.website,
        "html": comment.html,
        "status": comment.status.value,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "likes": comment.likes,
        "version": comment.version,
        "edited_by_moderator": comment.edited_by_moderator,
        "pinned": comment.pinned,
        "identity_id": comment.identity_id,
        "verified": comment.verified.as_json() if comment.verified else None,
    }


def _decode_comment(data: dict[str, Any]) -> Comment:
    return Comment(
        id=data["id"],
        thread_id=data["thread_id"],
        parent_id=data["parent_id"],
        root_id=data["root_id"],
        author=Author(data["name"], "", data["website"]),
        body="",
        html=data["html"],
        status=CommentStatus(data["status"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        edited_at=datetime.fromisoformat(data["edited_at"]) if data["edited_at"] else None,
        likes=data["likes"],
        version=data["version"],
        edited_by_moderator=data.get("edited_by_moderator", False),
        pinned=data.get("pinned", False),
        identity_id=data.get("identity_id"),
        verified=Verified.from_json(data.get("verified")),
    )
