"""Webhooks: a site's new, edited and moderated comments POSTed to the addresses its admins gave,
signed in the Standard Webhooks format (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``:
``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under the secret), retried with backoff.

Each event becomes one delivery row per webhook, keyed by a message id made from the comment's id, its
version and the event type: an event the bus delivers twice is still sent once, and the receiver can
use ``webhook-id`` to drop a retry it has already handled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from rejoinder import __version__
from rejoinder.context import Context
from rejoinder.errors import InvalidInput, NotFound, RejoinderError
from rejoinder.events import CommentChanged, CommentEdited, CommentModerated, CommentPosted
from rejoinder.jobs import enqueue
from rejoinder.model import Job
from rejoinder.sites import get_site
from rejoinder.store import webhooks as store
from rejoinder.store.webhooks import Delivery, Webhook

log = logging.getLogger(__name__)

DELIVER = "webhook.deliver"
MAX_ATTEMPTS = 10
TIMEOUT_SECONDS = 15
EVENT_TYPES = {
    "comment.created": CommentPosted,
    "comment.edited": CommentEdited,
    "comment.moderated": CommentModerated,
}
SECRET_PREFIX = "whsec_"


class WebhookFailed(RejoinderError):
    status = 502
    code = "webhook_failed"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for this message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# -- administration ------------------------------------------------------------------------------------


def add(ctx: Context, site_key: str, url: str, events: list[str] | None = None) -> Webhook:
    """A new webhook for the site (its secret is in the answer: show it to the admin once)."""
    problems: dict[str, str] = {}
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url) or len(url) > 2048:
        problems["url"] = "must be an http:// or https:// address"
    chosen = events or list(EVENT_TYPES)
    if unknown := sorted(set(chosen) - set(EVENT_TYPES)):
        problems["events"] = f"has unknown types {unknown}: use {', '.join(EVENT_TYPES)}"
    if problems:
        raise InvalidInput("bad webhook", problems)
    site = get_site(ctx, site_key)
    with ctx.db.write() as conn:
        return store.add_webhook(conn, site.id, url, new_secret(), sorted(set(chosen)), datetime.now(UTC))


def remove(ctx: Context, site_key: str, webhook_id: int) -> None:
    site = get_site(ctx, site_key)
    with ctx.db.write() as conn:
        found = store.get_webhook(conn, webhook_id)
        if found is None or found.site_id != site.id:
            raise NotFound(
                f"site {site_key} has no webhook {webhook_id}", {"id": "is not a webhook of the site"}
            )
        store.remove_webhook(conn, webhook_id)


def list_webhooks(ctx: Context, site_key: str) -> list[Webhook]:
    site = get_site(ctx, site_key)
    with ctx.db.read() as conn:
        return store.site_webhooks(conn, site.id)


def deliveries(ctx: Context, site_key: str, limit: int = 50) -> list[Delivery]:
    """The site's last deliveries, newest first, with how each went."""
    site = get_site(ctx, site_key)
    with ctx.db.read() as conn:
        return store.recent_deliveries(conn, site.id, limit)


# -- after the commit ----------------------------------------------------------------------------------


def on_events(ctx: Context, events: list[CommentChanged]) -> None:
    """Subscriber (the comment events gathered meanwhile): queue one delivery per webhook of each event's
    site that wants its type. One transaction, each site's webhooks read once."""
    typed = [(event, name) for event in events if (name := _event_type(event)) is not None]
    if not typed:
        return
    # Asked in a read first: a site without webhooks leaves the writer to the posts' batches.
    with ctx.db.read() as conn:
        if not any(store.site_webhooks(conn, site_id) for site_id in {event.site_id for event, _ in typed}):
            return
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        hooks: dict[int, list[Webhook]] = {}
        for event, event_type in typed:
            if event.site_id not in hooks:
                hooks[event.site_id] = store.site_webhooks(conn, event.site_id)
            wanted = [hook for hook in hooks[event.site_id] if event_type in hook.events]
            if not wanted:
                continue
            comment = event.comment
            message_id = f"msg_{comment.id}_{comment.version}_{event_type.split('.')[1]}"
            payload = _payload(event, event_type)
            for hook in wanted:
                delivery_id = store.add_delivery(conn, hook.id, message_id, event_type, payload, now)
                if delivery_id is not None:
                    enqueue(conn, DELIVER, {"delivery_id": delivery_id}, max_attempts=MAX_ATTEMPTS)


def _event_type(event: CommentChanged) -> str | None:
    return next((name for name, cls in EVENT_TYPES.items() if type(event) is cls), None)


def _payload(event: CommentChanged, event_type: str) -> dict[str, Any]:
    comment = event.comment
    return {
        "type": event_type,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": {
            "site": event.site_key,
            "thread_url": event.thread_url,
            "comment": {
                "id": comment.id,
                "parent_id": comment.parent_id,
                "author": {"name": comment.author.name, "website": comment.author.website or None},
                "html": comment.html,
                "status": comment.status.value,
                "created_at": comment.created_at.isoformat(),
                "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
            },
            **({"decision": event.decision} if isinstance(event, CommentModerated) else {}),
        },
    }


def deliver(ctx: Context, job: Job) -> None:
    """Job: POST one delivery; a failure (no answer, or not 2xx) is recorded and retried."""
    delivery_id = int(job.payload["delivery_id"])
    with ctx.db.read() as conn:
        delivery = store.get_delivery(conn, delivery_id)
        hook = store.get_webhook(conn, delivery.webhook_id) if delivery else None
    if delivery is None or hook is None:
        return  # the webhook was removed since
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(datetime.now(UTC).timestamp())
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"Rejoinder/{__version__} (webhooks)",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(hook.secret, delivery.message_id, timestamp, body),
        },
    )
    status: int | None = None
    error: str | None = None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http/https: checked in add)
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = str(getattr(exc, "reason", exc))
    ok = status is not None and 200 <= status < 300
    final = "delivered" if ok else ("failed" if job.attempts >= job.max_attempts else "pending")
    with ctx.db.write() as conn:
        store.record_attempt(conn, delivery.id, final, status, error, datetime.now(UTC))
    if not ok:
        raise WebhookFailed(f"webhook {hook.id} at {hook.url}: {error}")
