"""The audit log: who did what, when, to what, and the state before and after.

Every service that changes moderation state, settings, bans, accounts or tokens records an entry in the
same transaction as the change, so the log never misses a committed change nor shows a rolled-back one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import Forbidden, InvalidInput, UnknownSite
from rejoinder.model import Moderator
from rejoinder.store import audit as store
from rejoinder.store.audit import AuditEntry
from rejoinder.store.sites import get_site, list_sites

__all__ = ["AuditEntry", "cli_actor", "entries", "record"]

MAX_PAGE = 200


def record(
    conn: Connection,
    actor: Moderator | str,
    action: str,
    *,
    site_id: int | None = None,
    comment_id: int | None = None,
    before: Any = None,
    after: Any = None,
    batch: str | None = None,
) -> None:
    """Write one entry in the caller's transaction."""
    store.insert_entry(
        conn,
        at=datetime.now(UTC),
        actor=actor if isinstance(actor, str) else actor.actor,
        action=action,
        site_id=site_id,
        comment_id=comment_id,
        batch=batch,
        before=before,
        after=after,
    )


def cli_actor() -> Moderator:
    """Whoever runs a ``rejoinder`` command: every site is theirs, and the log names their login."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"
    return Moderator(id=0, email="", roles={}, actor=f"cli:{user}", everywhere=True)


def entries(
    ctx: Context,
    who: Moderator,
    site_key: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    comment_id: int | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """A page of entries, newest first, of the sites ``who`` moderates; the cursor of the next page."""
    before_id = _cursor(cursor)
    limit = max(1, min(limit, MAX_PAGE))
    with ctx.db.read() as conn:
        if site_key is not None:
            # PostgreSQL refuses a NUL in a parameter: a key no site can have is not looked up.
            site = get_site(conn, site_key) if "\0" not in site_key else None
            if site is None:
                raise UnknownSite(
                    f"no site has the key {site_key!r}", {"site": "is not a site on this server"}
                )
            if not who.may(site.key):
                raise Forbidden(f"you do not moderate {site.key}", {"site": "is not one of your sites"})
            site_ids: list[int] | None = [site.id]
        elif who.everywhere:
            site_ids = None
        else:
            site_ids = [site.id for site in list_sites(conn) if who.may(site.key)]
        found = store.list_entries(
            conn, site_ids=site_ids, before_id=before_id, limit=limit + 1, comment_id=comment_id
        )
    more = len(found) > limit
    found = found[:limit]
    return found, (str(found[-1].id) if more and found else None)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput("bad cursor", {"cursor": "must be the next_cursor of a previous page"})
    return int(cursor)
