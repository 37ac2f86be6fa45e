"""Everything a service needs, built once per server: settings, database, events, cache, signer, filter."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from rejoinder.cache import ReadCache
from rejoinder.events import CommentChanged, EventBus, ThreadChanged
from rejoinder.live import LiveHub
from rejoinder.model import Site
from rejoinder.settings import Settings
from rejoinder.snapshots import apply_to_cache
from rejoinder.spam.service import SpamFilter
from rejoinder.store.db import Database
from rejoinder.store.secrets import get_or_create_secret
from rejoinder.tokens import Signer


@dataclass
class Context:
    settings: Settings
    db: Database
    events: EventBus
    cache: ReadCache
    signer: Signer
    spam: SpamFilter
    live: LiveHub
    # (when read, origins of all sites): CORS preflights come before any site is named
    allowed_origins: tuple[float, frozenset[str]] | None = None
    # site key -> (when read, site): every write needs its site, and sites change rarely
    sites: dict[str, tuple[float, Site]] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Context:
        """Connect to an already migrated database and wire the subscribers."""
        db = Database(settings.database_url)
        secret = settings.secret_key
        if not secret:
            with db.write() as conn:
                secret = get_or_create_secret(conn, "secret_key", secrets.token_urlsafe(32))
        cache = ReadCache(max_bytes=settings.cache_max_mb * 1024 * 1024)
        events = EventBus()
        events.subscribe(ThreadChanged, lambda event: apply_to_cache(cache, event))
        live = LiveHub(db, settings.sse_max_connections, settings.sse_keep_alive_seconds)
        events.subscribe(CommentChanged, live.on_event)
        return cls(
            settings=settings,
            db=db,
            events=events,
            cache=cache,
            signer=Signer(secret),
            spam=SpamFilter(secret),
            live=live,
        )

    def close(self) -> None:
        self.live.close()
        self.db.dispose()
