"""Everything a service needs, built once per server: settings, database, events, cache, signer, filter."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from rejoinder import monitoring
from rejoinder.cache import ReadCache
from rejoinder.events import EventBus, ThreadChanged
from rejoinder.metrics import Metrics
from rejoinder.model import Site
from rejoinder.readiness import Readiness
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
    # What /metrics exports and what /readyz checks (wired in monitoring.py).
    metrics: Metrics = field(default_factory=Metrics)
    readiness: Readiness = field(default_factory=Readiness)
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
        ctx = cls(
            settings=settings,
            db=db,
            events=events,
            cache=cache,
            signer=Signer(secret),
            spam=SpamFilter(secret),
        )
        monitoring.watch(ctx)
        return ctx

    def close(self) -> None:
        self.db.dispose()
