"""Sites: creating them, their settings, and which browser origins may use their comments."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from limits import parse_many
from sqlalchemy import Connection

from rejoinder.context import ALL_ORIGINS, Context
from rejoinder.errors import Conflict, InvalidInput, UnknownSite
from rejoinder.events import SiteChanged
from rejoinder.model import Site, SiteSettings
from rejoinder.store import sites as store
from rejoinder.urls import origin_of

POW_MODES = ("always", "doubtful", "off")
LANGUAGES = ("en", "uk", "de")  # what mails and their pages are written in
SITE_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def require_site(conn: Connection, key: str) -> Site:
    # A key no site can have is not looked up: PostgreSQL refuses a NUL in a query parameter.
    site = store.get_site(conn, key) if SITE_KEY.fullmatch(key) else None
    if site is None:
        raise UnknownSite(f"no site has the key {key!r}", {"site": "is not a site on this server"})
    return site


def known_site(ctx: Context, conn: Connection, key: str) -> Site:
    """``require_site``, remembered until an event says the site changed (in any process)."""
    hit = ctx.sites.get(key)
    if hit is not None:
        return hit
    generation = ctx.sites.generation
    site = require_site(conn, key)
    ctx.sites.put(key, site, generation)
    return site


def cached_site(ctx: Context, key: str) -> Site:
    """``known_site`` outside a transaction: most calls are answered from memory, without a connection."""
    hit = ctx.sites.get(key)
    if hit is not None:
        return hit
    with ctx.db.read() as conn:
        return known_site(ctx, conn, key)


def forget_sites(ctx: Context, event: SiteChanged) -> None:
    """Subscriber: a site changed somewhere; what this process remembers of sites goes, and cached pages
    too (depth and other settings shape them)."""
    ctx.sites.clear()
    ctx.origins.clear()
    ctx.cache.clear()


def site_settings(ctx: Context, site: Site) -> SiteSettings:
    return SiteSettings.from_stored(
        site.settings,
        max_depth=ctx.settings.default_max_depth,
        edit_window_seconds=ctx.settings.default_edit_window_seconds,
    )


def normalise_origin(origin: str) -> str:
    origin = origin.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+$", origin):
        raise InvalidInput(f"{origin!r} is not an origin", {"origins": "must look like https://example.com"})
    return origin_of(origin)


def create_site(
    ctx: Context, key: str, name: str = "", origins: list[str] | None = None, **settings: Any
) -> Site:
    if not SITE_KEY.fullmatch(key):
        raise InvalidInput(
            "bad site key", {"key": "must be 1-64 lower-case letters, digits, '.', '_' or '-'"}
        )
    allowed = sorted({normalise_origin(o) for o in origins or []})
    # New sites take threads only for their own pages; sites made before this setting keep their ways.
    settings = {"restrict_thread_urls": True} | settings
    _check_settings(settings)
    with ctx.db.write() as conn:
        if store.get_site(conn, key) is not None:
            raise Conflict(f"a site with the key {key!r} exists already", {"key": "is taken"})
        site = store.insert_site(
            conn, key=key, name=name or key, allowed_origins=allowed, settings=settings, now=datetime.now(UTC)
        )
        ctx.events.record(conn, SiteChanged(key))
    return site


def update_site(
    ctx: Context,
    key: str,
    *,
    name: str | None = None,
    add_origins: list[str] | None = None,
    remove_origins: list[str] | None = None,
    **settings: Any,
) -> Site:
    _check_settings(settings)
    with ctx.db.write() as conn:
        site = require_site(conn, key)
        origins = set(site.allowed_origins) | {normalise_origin(o) for o in add_origins or []}
        origins -= {normalise_origin(o) for o in remove_origins or []}
        merged = {**site.settings, **{k: v for k, v in settings.items() if v is not None}}
        store.update_site(
            conn, site.id, name=name or site.name, allowed_origins=sorted(origins), settings=merged
        )
        site = require_site(conn, key)
        ctx.events.record(conn, SiteChanged(key))
    return site


def get_site(ctx: Context, key: str) -> Site:
    with ctx.db.read() as conn:
        return require_site(conn, key)


def list_sites(ctx: Context) -> list[Site]:
    with ctx.db.read() as conn:
        return store.list_sites(conn)


CLIENT_DATA = ("plain", "hashed")


def _check_settings(settings: dict[str, Any]) -> None:
    unknown = set(settings) - set(SiteSettings.__dataclass_fields__)
    if unknown:
        raise InvalidInput("unknown site settings", dict.fromkeys(sorted(unknown), "is not a site setting"))
    problems: dict[str, str] = {}
    depth = settings.get("max_depth")
    if depth is not None and not (isinstance(depth, int) and 2 <= depth <= 20):
        problems["max_depth"] = "must be a whole number between 2 and 20"
    for name in ("spam_hold", "spam_spam", "spam_discard"):
        value = settings.get(name)
        if value is not None and not (isinstance(value, int | float) and 0 < value <= 1):
            problems[name] = "must be a probability above 0 and at most 1"
    share = settings.get("spam_max_fpr")
    if share is not None and not (isinstance(share, int | float) and 0 <= share <= 0.5):
        problems["spam_max_fpr"] = "must be a share between 0 and 0.5"
    for name in ("spam_learn_threshold", "restrict_thread_urls", "requeue_edits"):
        if settings.get(name) is not None and not isinstance(settings[name], bool):
            problems[name] = "must be true or false"
    days = settings.get("ip_retention_days")
    if days is not None and not (isinstance(days, int) and not isinstance(days, bool) and 0 <= days <= 3650):
        problems["ip_retention_days"] = "must be a whole number of days between 0 and 3650"
    if settings.get("client_data") not in (None, *CLIENT_DATA):
        problems["client_data"] = "must be one of " + ", ".join(CLIENT_DATA)
    threshold = settings.get("report_threshold")
    if threshold is not None and not (
        isinstance(threshold, int) and not isinstance(threshold, bool) and 0 <= threshold <= 1000
    ):
        problems["report_threshold"] = "must be a whole number between 0 and 1000"
    for name in ("min_submit_seconds", "spam_retention_days", "edit_window_seconds"):
        value = settings.get(name)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 10**8):
            problems[name] = "must be a number of at least 0"
    if settings.get("pow") not in (None, *POW_MODES):
        problems["pow"] = "must be one of " + ", ".join(POW_MODES)
    for name in ("rate_limit_ip", "rate_limit_identity", "rate_limit_thread"):
        value = settings.get(name)
        if value is not None and not _is_rate_limit(value):
            problems[name] = "must be limits like '6/minute;40/hour', or 'off'"
    for name in ("banned_words", "banned_emails", "banned_ips", "banned_domains"):
        value = settings.get(name)
        if value is not None and not (
            isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        ):
            problems[name] = "must be a list of strings"
    for network in settings.get("banned_ips") or ():
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            problems["banned_ips"] = f"{network!r} is not an address or network"
    if settings.get("language") not in (None, *LANGUAGES):
        problems["language"] = "must be one of " + ", ".join(LANGUAGES)
    feed_url = settings.get("feed_url")
    if feed_url is not None and not (
        isinstance(feed_url, str) and (feed_url == "" or re.match(r"^https?://[^/\s]+(/\S*)?$", feed_url))
    ):
        problems["feed_url"] = "must be an http:// or https:// address, or empty"
    if problems:
        raise InvalidInput("bad site settings", problems)


def _is_rate_limit(value: object) -> bool:
    if value == "off":
        return True
    try:
        return isinstance(value, str) and bool(parse_many(value))
    except ValueError:
        return False


def any_site_allows(ctx: Context, origin: str) -> bool:
    """True if some site lists ``origin``; remembered: preflights arrive before any site is named."""
    allowed = ctx.origins.get(ALL_ORIGINS)
    if allowed is None:
        generation = ctx.origins.generation
        allowed = frozenset(o for site in list_sites(ctx) for o in site.allowed_origins)
        ctx.origins.put(ALL_ORIGINS, allowed, generation)
    return origin.lower() in allowed
