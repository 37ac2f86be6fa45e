"""The five queues, what a moderator may do in each, and the keys for it."""

from __future__ import annotations

STATUSES = ("pending", "spam", "reported", "published", "deleted")
# What each queue offers, and the keys for it: "a" lets a comment be shown, "s" calls it spam, "d" deletes.
ACTIONS: dict[str, tuple[str, ...]] = {
    "pending": ("approve", "spam", "delete"),
    "spam": ("ham", "delete"),
    "reported": ("approve", "spam", "delete"),
    "published": ("spam", "delete"),
    "deleted": ("restore",),
}
# Per comment only, never in bulk: a published top-level comment is pinned above its thread, or unpinned.
PIN_ACTIONS: dict[str, tuple[str, ...]] = {"published": ("pin", "unpin")}
KEYS: dict[str, dict[str, str]] = {
    "pending": {"a": "approve", "s": "spam", "d": "delete"},
    "spam": {"a": "ham", "d": "delete"},
    "reported": {"a": "approve", "s": "spam", "d": "delete"},
    "published": {"s": "spam", "d": "delete"},
    "deleted": {"a": "restore"},
}
ACTION_LABELS = {
    "approve": "approve",
    "spam": "spam_action",
    "ham": "ham",
    "delete": "delete",
    "restore": "restore",
    "pin": "pin",
    "unpin": "unpin",
}
FILTERS = ("q", "author", "email", "ip", "url")
