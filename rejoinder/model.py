"""Domain types shared by the services and the store: what a site, a thread and a comment are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CommentStatus(StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"
    SPAM = "spam"
    DELETED = "deleted"


# Statuses a public thread read fetches; deleted ones stay only as placeholders above live replies.
VISIBLE_STATUSES = (CommentStatus.PUBLISHED, CommentStatus.DELETED)


class SortOrder(StrEnum):
    OLDEST = "oldest"
    NEWEST = "newest"
    TOP = "top"


@dataclass(frozen=True)
class SiteSettings:
    """Per-site behaviour; missing values fall back to the server-wide defaults."""

    max_depth: int
    edit_window_seconds: int
    moderation: bool = False  # hold every new comment for a moderator
    require_name_email: bool = False
    privacy_url: str = ""

    @classmethod
    def from_stored(cls, stored: dict[str, Any], *, max_depth: int, edit_window_seconds: int) -> SiteSettings:
        known = {k: v for k, v in stored.items() if k in cls.__dataclass_fields__}
        return cls(**{"max_depth": max_depth, "edit_window_seconds": edit_window_seconds, **known})


@dataclass(frozen=True)
class Site:
    id: int
    key: str
    name: str
    allowed_origins: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Thread:
    id: int
    site_id: int
    url: str
    title: str
    created_at: datetime
    closed: bool
    comment_count: int


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str = ""
    website: str = ""


@dataclass(slots=True)  # not frozen: thousands are built per cold read, and frozen init is twice as slow
class Comment:
    id: int
    thread_id: int
    parent_id: int | None
    root_id: int | None
    author: Author
    body: str
    html: str
    status: CommentStatus
    created_at: datetime
    edited_at: datetime | None
    likes: int
    remote_addr: str = ""
    user_agent: str = ""
    version: int = 1  # bumped by every change: the newer of two copies is the one to keep


@dataclass(frozen=True)
class PageKey:
    """Where a page of top-level comments ends: the sort key of its last comment."""

    sort: SortOrder
    created_at: datetime
    id: int
    likes: int = 0
