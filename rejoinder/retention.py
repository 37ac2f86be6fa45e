"""Retention: spam is kept for the site's retention period so a moderator can still rescue it, then purged."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from rejoinder.context import Context
from rejoinder.store import spam as store

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 3600


@dataclass(frozen=True)
class Purged:
    comments: int
    tokens: int


def purge(ctx: Context) -> Purged:
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        removed = Purged(store.purge_discarded(conn, now), store.forget_expired_tokens(conn, now))
    if removed.comments:
        ctx.cache.clear()  # purged spam was never visible, but a snapshot may still count its replies
    return removed


async def purge_periodically(ctx: Context) -> None:
    """Run by the server for as long as it lives; a failed round is logged and retried next hour."""
    while True:
        try:
            removed = await asyncio.to_thread(purge, ctx)
            if removed.comments:
                log.info("purged %d spam comments past their retention period", removed.comments)
        except Exception:
            log.exception("purging expired spam failed")
        await asyncio.sleep(PURGE_EVERY_SECONDS)
