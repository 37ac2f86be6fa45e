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


@dataclass(frozen=True)
class SiteSettings:
    """Per-site behaviour; missing values fall back to the server-wide defaults."""

    max_depth: int
    edit_window_seconds: int
    moderation: bool = False  # hold every new comment for a moderator
    requeue_edits: bool = True  # with moderation: an edited comment waits for a moderator again
    require_name_email: bool = False
    privacy_url: str = ""  # the owner's own data page; empty: the one Rejoinder generates
    # Commenters' network addresses and user agents are erased this many days after posting (and at once
    # when the author deletes the comment); "hashed" keeps only keyed hashes of them from the start.
    ip_retention_days: int = 30
    client_data: str = "plain"
    # Threads only for pages on the site's own origins (new sites have it on; see sites.create_site).
    restrict_thread_urls: bool = False
    spam_filter: bool = True
    # The spam filter (off: every comment is published, or held when moderation is on).
    # Spam probabilities at which a comment is held, sent to spam, or discarded:
    spam_hold: float = 0.5
    spam_spam: float = 0.9
    spam_discard: float = 0.995
    # Once moderators have decided enough comments of each kind, spam_spam gives way to the threshold
    # their decisions call for: the best-sorting one that sends at most spam_max_fpr of the comments
    # they approved to spam (spam/threshold.py).
    spam_learn_threshold: bool = True
    spam_max_fpr: float = 0.015
    spam_retention_days: int = 30  # discarded comments stay in the spam folder this long
    pow: str = "doubtful"  # proof of work: "always", "doubtful" (only when held otherwise) or "off"
    min_submit_seconds: float = 3.0  # quicker than this after the form was shown looks like a bot
    rate_limit_ip: str = "6/minute;40/hour"  # comments per client address
    rate_limit_identity: str = "6/minute;40/hour"  # per e-mail address (or name)
    rate_limit_thread: str = "60/minute"  # per thread, from everyone
    banned_words: tuple[str, ...] = ()
    banned_emails: tuple[str, ...] = ()
    banned_ips: tuple[str, ...] = ()  # addresses or networks (CIDR)
    banned_domains: tuple[str, ...] = ()  # in links, e-mail addresses and websites
    language: str = "en"  # of the mails readers get, and of the pages their links open (en, uk or de)
    feed_url: str = ""  # the site's own RSS or Atom feed: new posts in it are mailed to subscribers
    report_threshold: int = 3  # readers' reports that hold a published comment for a moderator; 0: never

    @classmethod
    def from_stored(cls, stored: dict[str, Any], *, max_depth: int, edit_window_seconds: int) -> SiteSettings:
        known: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in stored.items()
            if k in cls.__dataclass_fields__
        }
        return cls(**{"max_depth": max_depth, "edit_window_seconds": edit_window_seconds, **known})


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
