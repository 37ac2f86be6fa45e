"""Events published after a transaction commits; cache invalidation (and later notifications, live
updates and learning) subscribe to them instead of being called inline from the services."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rejoinder.model import Comment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThreadChanged:
    """Something readers of a thread would see differently now."""

    site_key: str
    thread_url: str


@dataclass(frozen=True)
class CommentChanged(ThreadChanged):
    """A comment as it is now committed."""

    comment: Comment


@dataclass(frozen=True)
class CommentPosted(CommentChanged):
    pass


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


E = TypeVar("E")


class EventBus:
    """Synchronous, in-process dispatch; a failing subscriber is logged and never undoes the write."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[type[Any], Callable[[Any], None]]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._subscribers.append((event_type, handler))

    def publish(self, event: object) -> None:
        for event_type, handler in self._subscribers:
            if isinstance(event, event_type):
                try:
                    handler(event)
                except Exception:
                    log.exception("subscriber %r failed on %r", handler, event)
