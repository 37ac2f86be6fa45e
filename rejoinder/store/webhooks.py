"""Storage of webhooks and of their deliveries (one row per message and webhook, with how it went)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import webhook_deliveries, webhooks

w, d = webhooks.c, webhook_deliveries.c


@dataclass(frozen=True)
class Webhook:
    id: int
    site_id: int
    url: str
    secret: str
    events: list[str]
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    message_id: str
    event_type: str
    payload: dict[str, Any]
    status: str  # pending, delivered or failed
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    attempted_at: datetime | None


def _webhook(row: Any) -> Webhook:
    return Webhook(row.id, row.site_id, row.url, row.secret, list(row.events), row.created_at)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id,
        row.webhook_id,
        row.message_id,
        row.event_type,
        row.payload,
        row.status,
        row.attempts,
        row.response_status,
        row.last_error,
        row.created_at,
        row.attempted_at,
    )


def add_webhook(
    conn: Connection, site_id: int, url: str, secret: str, events: list[str], now: datetime
) -> Webhook:
    values = {"site_id": site_id, "url": url, "secret": secret, "events": events, "created_at": now}
    webhook_id = conn.execute(webhooks.insert().values(**values).returning(w.id)).scalar_one()
    return Webhook(webhook_id, site_id, url, secret, events, now)


def site_webhooks(conn: Connection, site_id: int) -> list[Webhook]:
    return [
        _webhook(row) for row in conn.execute(select(webhooks).where(w.site_id == site_id).order_by(w.id))
    ]


def get_webhook(conn: Connection, webhook_id: int) -> Webhook | None:
    row = conn.execute(select(webhooks).where(w.id == webhook_id)).first()
    return _webhook(row) if row else None


def remove_webhook(conn: Connection, webhook_id: int) -> bool:
    return bool(conn.execute(delete(webhooks).where(w.id == webhook_id)).rowcount)


def add_delivery(
    conn: Connection,
    webhook_id: int,
    message_id: str,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
) -> int | None:
    """A new delivery's id; None if this message was already given to this webhook."""
    statement = (
        insert_ignore(conn, webhook_deliveries)
        .values(
            webhook_id=webhook_id,
            message_id=message_id,
            event_type=event_type,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
        )
        .returning(d.id)
    )
    return conn.execute(statement).scalar()


def get_delivery(conn: Connection, delivery_id: int) -> Delivery | None:
    row = conn.execute(select(webhook_deliveries).where(d.id == delivery_id)).first()
    return _delivery(row) if row else None


def record_attempt(
    conn: Connection,
    delivery_id: int,
    status: str,
    response_status: int | None,
    error: str | None,
    now: datetime,
) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(d.id == delivery_id)
        .values(
            status=status,
            attempts=d.attempts + 1,
            response_status=response_status,
            last_error=error,
            attempted_at=now,
        )
    )


def recent_deliveries(conn: Connection, site_id: int, limit: int) -> list[Delivery]:
    query = (
        select(webhook_deliveries)
        .join_from(webhook_deliveries, webhooks, w.id == d.webhook_id)
        .where(w.site_id == site_id)
        .order_by(d.created_at.desc(), d.id.desc())
        .limit(limit)
    )
    return [_delivery(row) for row in conn.execute(query)]


def blank_comments(conn: Connection, comment_ids: list[int]) -> int:
    """Strip what the authors of these comments wrote or were called from the deliveries about them
    (erasure): the log keeps that a message went, not what it said. How many deliveries."""
    blanked = 0
    for start in range(0, len(comment_ids), 100):
        # Message ids start with the comment's id (``msg_<id>_<version>_<kind>``).
        about = [d.message_id.like(f"msg\\_{i}\\_%", escape="\\") for i in comment_ids[start : start + 100]]
        for row in conn.execute(select(d.id, d.payload).where(or_(*about))).all():
            payload = row.payload
            comment = payload.get("data", {}).get("comment", {})
            comment.update(author={"name": "", "website": None}, html="")
            conn.execute(update(webhook_deliveries).where(d.id == row.id).values(payload=payload))
            blanked += 1
    return blanked
