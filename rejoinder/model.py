"""Domain types shared by the services and the store: what a site, a thread and a comment are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# A domain type too, declared with its rules and help text in sitesettings.py.
from rejoinder.sitesettings import SiteSettings as SiteSettings


class CommentStatus(StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"
    SPAM = "spam"
    DELETED = "deleted"


class CommentKind(StrEnum):
    COMMENT = "comment"
    # Kept from imported blogs: notices of other pages linking here, hidden from readers by default.
    PINGBACK = "pingback"
    TRACKBACK = "trackback"


# Statuses a public thread read fetches; deleted ones stay only as placeholders above live replies.
VISIBLE_STATUSES = (CommentStatus.PUBLISHED, CommentStatus.DELETED)


class SortOrder(StrEnum):
    OLDEST = "oldest"
    NEWEST = "newest"
    TOP = "top"


class Role(StrEnum):
    ADMIN = "admin"  # a site's settings and moderators, and everything a moderator does
    MODERATOR = "moderator"  # the site's comments: queue, decisions, edits, bans


@dataclass(frozen=True)
class Moderator:
    """Someone acting on sites: a moderator account, or (``everywhere``) a server-wide admin token or the
    command line. ``actor`` is how the audit log names them."""

    id: int  # 0 when not an account
    email: str
    roles: dict[str, Role]  # site key -> role
    totp: bool = False
    actor: str = ""
    everywhere: bool = False  # every site, as its admin

    def role_on(self, site_key: str) -> Role | None:
        return Role.ADMIN if self.everywhere else self.roles.get(site_key)

    def may(self, site_key: str, role: Role = Role.MODERATOR) -> bool:
        mine = self.role_on(site_key)
        return mine is not None and (role is Role.MODERATOR or mine is Role.ADMIN)


@dataclass(frozen=True)
class Ban:
    """One banned e-mail address, client address, network (CIDR) or link domain on a site."""

    id: int
    site_id: int
    kind: str  # "email", "ip", "network" or "domain"
    value: str
    reason: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None  # None: until lifted


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
    edited_by_moderator: bool = False  # readers are shown "edited by a moderator"
    pinned: bool = False  # a moderator put this top-level comment above the others
    identity_id: int | None = None  # the verified reader who wrote it; None: a guest
    verified: Verified | None = None  # what readers are shown of that identity


@dataclass(frozen=True)
class PageKey:
    """Where a page of top-level comments ends: the sort key of its last comment."""

    sort: SortOrder
    created_at: datetime
    id: int
    likes: int = 0


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # attempts used up: the dead-letter list, kept until retried


@dataclass(frozen=True)
class Job:
    """A piece of background work as stored in the ``jobs`` table."""

    id: int
    kind: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int  # attempts started so far, the running one included
    max_attempts: int
    run_at: datetime
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    dedupe_key: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Verified:
    """What a comment shows of the verified reader who wrote it: the badge and the provider."""

    provider: str
    provider_name: str
    profile_url: str | None = None
    avatar_url: str | None = None  # kept only when the site shows providers' pictures

    def as_json(self) -> dict[str, str | None]:
        return {
            "provider": self.provider,
            "provider_name": self.provider_name,
            "profile_url": self.profile_url,
            "avatar_url": self.avatar_url,
        }

    @classmethod
    def from_json(cls, data: Any) -> Verified | None:
        if not isinstance(data, dict) or not data.get("provider"):
            return None
        return cls(
            str(data["provider"]),
            str(data.get("provider_name") or data["provider"]),
            data.get("profile_url"),
            data.get("avatar_url"),
        )


@dataclass(frozen=True)
class Identity:
    """A reader who proved who they are: at a login provider, or by a link mailed to an address
    (provider ``"email"``)."""

    id: int
    provider: str  # the configured provider's name ("github"), or "email"
    subject: str  # the provider's id for the account; the address for "email"
    name: str
    email: str  # lower-cased; "" when the provider gave none
    email_verified: bool
    profile_url: str | None
    avatar_url: str | None

    @property
    def ban_value(self) -> str:
        """What a ban of kind ``identity`` names: ``provider:subject``."""
        return f"{self.provider}:{self.subject}"
