"""Everything a service needs, built once per process: settings, database, the event bus and its fan-out
to other processes, the read cache, memos of sites, the signer and the spam filter's state.

Every piece of state shared by requests lives here, and each is either the database's (the truth) or a
replica in this process's memory that events keep current; ``docs/design.md`` has the table. Use
``wiring.open_context`` to build one: it also wires the subscribers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rejoinder.addresses import Networks, TrustedProxies
from rejoinder.bus import EventBus
from rejoinder.cache import ReadCache
from rejoinder.filterstate import SpamFilter, SpamMemos
from rejoinder.jobs import JobQueue
from rejoinder.live import LiveHub
from rejoinder.memo import IdSet, Memo, Results
from rejoinder.metrics import Metrics
from rejoinder.model import Ban, Site, SiteSettings
from rejoinder.readiness import Readiness
from rejoinder.refusals import Refusals
from rejoinder.settings import Settings
from rejoinder.store.db import Database
from rejoinder.tokens import Signer

ALL_ORIGINS = "*"
# Threads rendering long Markdown (new comments, previews, authors' and moderators' edits; see
# ``rendering.render_in``): a render is CPU under the GIL, so more would not render faster, and a flood of
# slow Markdown waits for these two, never for the threads the rest of the server shares (the event
# loop's executor: likes' and rate limits' round trips; Starlette's thread pool: sync endpoints, reads).
RENDER_THREADS = 2


def _render_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="rejoinder-render")


@dataclass
class Context:
    settings: Settings
    db: Database
    events: EventBus
    cache: ReadCache
    signer: Signer
    spam: SpamFilter
    spam_memos: SpamMemos  # what verdicts read of the store, remembered per site
    jobs: JobQueue
    live: LiveHub  # this process's open live-update streams
    # The settings' networks as parsed when the context is built: who may name a request's client (every
    # request asks, web/client.py) and who may read /metrics.
    proxies: TrustedProxies
    metrics_allow: Networks
    # site key -> site: every write needs its site, and sites change rarely (SiteChanged empties it)
    sites: Memo[str, Site] = field(default_factory=Memo)
    # site id -> its bans, expired ones included (checked at use): every post checks them; SiteChanged
    # empties it like the sites' memo.
    bans: Memo[int, tuple[Ban, ...]] = field(default_factory=Memo)
    # site id -> (the site as read, its settings over the defaults): every like and post needs them. Kept
    # for that very Site object only, so a site read anew (after SiteChanged) has them worked out again.
    site_rules: dict[int, tuple[Site, SiteSettings]] = field(default_factory=dict)
    # ids of sites whose spam filter is off, and with it their like rules: a like on their comments is
    # written by the statement that finds the comment (likes.py). SiteChanged empties it like the sites'.
    sites_without_like_rules: IdSet = field(default_factory=IdSet)
    # the origins of all sites, under ALL_ORIGINS: CORS preflights come before any site is named
    origins: Memo[str, frozenset[str]] = field(default_factory=Memo)
    # The login providers added from the command line (another process), read again when older than
    # LOGIN_PROVIDERS_SECONDS: (when read, the rows as providers.LoginProvider).
    login_providers: Memo[str, tuple[float, tuple[Any, ...]]] = field(default_factory=Memo)
    # An OpenID Connect issuer's discovery document and keys, by issuer: (when read, document, JWKS).
    discovery: Memo[str, tuple[float, dict[str, Any], dict[str, Any]]] = field(default_factory=Memo)
    # What /metrics exports and what /readyz checks (wired in monitoring.py).
    metrics: Metrics = field(default_factory=Metrics)
    readiness: Readiness = field(default_factory=Readiness)
    # addresses refused for too many likes or previews, until their Retry-After: refused again at the door
    refusals: Refusals = field(default_factory=Refusals)
    # a guest's e-mail address as typed -> (as ``email_validator`` writes it, or why it refused it): every
    # guest's post checks one, and the check is 20-40 µs of the event loop's time (``comments.py``)
    email_checks: Results[str, tuple[str, str | None]] = field(default_factory=Results)
    # Where long Markdown is rendered (RENDER_THREADS): its threads are started at the first such comment.
    renders: ThreadPoolExecutor = field(default_factory=_render_threads)

    def close(self) -> None:
        # Renders still queued are dropped (their posts fail, unanswered); one under way finishes.
        self.renders.shutdown(wait=True, cancel_futures=True)
        self.live.close()
        self.events.stop()
        self.db.dispose()
