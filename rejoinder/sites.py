"""Sites: creating them, their settings, and which browser origins may use their comments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from rejoinder import audit
from rejoinder.context import ALL_ORIGINS, Context
from rejoinder.errors import Conflict, InvalidInput, UnknownSite
from rejoinder.events import CachesOutdated, SiteChanged
from rejoinder.model import Moderator, Site, SiteSettings
from rejoinder.sitesettings import check, upgraded
from rejoinder.store import identity as identity_store
from rejoinder.store import sites as store
from rejoinder.urls import origin_of

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
    ctx.sites_without_like_rules.clear()
    ctx.origins.clear()
    ctx.bans.clear()
    ctx.cache.clear()


def site_settings(ctx: Context, site: Site) -> SiteSettings:
    """The site's settings over the server's defaults, worked out once per ``Site`` as read."""
    kept = ctx.site_rules.get(site.id)
    if kept is not None and kept[0] is site:
        return kept[1]
    rules = SiteSettings.from_stored(
        site.settings,
        max_depth=ctx.settings.default_max_depth,
        edit_window_seconds=ctx.settings.default_edit_window_seconds,
    )
    ctx.site_rules[site.id] = (site, rules)
    return rules


def normalise_origin(origin: str) -> str:
    origin = origin.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+$", origin):
        raise InvalidInput(f"{origin!r} is not an origin", {"origins": "must look like https://example.com"})
    return origin_of(origin)


def create_site(
    ctx: Context,
    key: str,
    name: str = "",
    origins: list[str] | None = None,
    *,
    actor: Moderator | None = None,
    **settings: Any,
) -> Site:
    if not SITE_KEY.fullmatch(key):
        raise InvalidInput(
            "bad site key", {"key": "must be 1-64 lower-case letters, digits, '.', '_' or '-'"}
        )
    allowed = sorted({normalise_origin(o) for o in origins or []})
    # New sites take threads only for their own pages; sites made before this setting keep their ways.
    settings = check({"restrict_thread_urls": True} | settings)
    with ctx.db.write() as conn:
        if store.get_site(conn, key) is not None:
            raise Conflict(f"a site with the key {key!r} exists already", {"key": "is taken"})
        site = store.insert_site(
            conn, key=key, name=name or key, allowed_origins=allowed, settings=settings, now=datetime.now(UTC)
        )
        after = {"key": key, "name": site.name, "allowed_origins": allowed, **settings}
        audit.record(conn, actor or audit.cli_actor(), "site.create", site_id=site.id, after=after)
        ctx.events.record(conn, SiteChanged(key))
    return site


def update_site(
    ctx: Context,
    key: str,
    *,
    name: str | None = None,
    add_origins: list[str] | None = None,
    remove_origins: list[str] | None = None,
    origins: list[str] | None = None,
    actor: Moderator | None = None,
    **settings: Any,
) -> Site:
    """Change a site; the audit log records what changed, as ``actor`` (the command line if not given)."""
    settings = check(settings)
    with ctx.db.write() as conn:
        site = require_site(conn, key)
        allowed = set(site.allowed_origins) if origins is None else {normalise_origin(o) for o in origins}
        allowed |= {normalise_origin(o) for o in add_origins or []}
        allowed -= {normalise_origin(o) for o in remove_origins or []}
        merged = {**upgraded(site.settings), **settings}
        store.update_site(
            conn, site.id, name=name or site.name, allowed_origins=sorted(allowed), settings=merged
        )
        updated = require_site(conn, key)
        turned_off = site.settings.get("provider_avatars") and not updated.settings.get("provider_avatars")
        # Pictures are loaded from the providers by readers' browsers: once the owner turns them off, no
        # comment may still name one.
        if turned_off and identity_store.forget_avatars(conn, site.id):
            ctx.events.record(conn, CachesOutdated("providers' pictures turned off"))
        before, after = _changes(site, updated)
        if before or after:
            audit.record(
                conn,
                actor or audit.cli_actor(),
                "settings.change",
                site_id=site.id,
                before=before,
                after=after,
            )
        ctx.events.record(conn, SiteChanged(key))
    return updated


def _changes(old: Site, new: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    """What changed between two versions of a site: (before, after), by setting name."""
    was = {**old.settings, "name": old.name, "allowed_origins": list(old.allowed_origins)}
    now = {**new.settings, "name": new.name, "allowed_origins": list(new.allowed_origins)}
    changed = [k for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
    return {k: was.get(k) for k in changed}, {k: now.get(k) for k in changed}


def get_site(ctx: Context, key: str) -> Site:
    with ctx.db.read() as conn:
        return require_site(conn, key)


def list_sites(ctx: Context) -> list[Site]:
    with ctx.db.read() as conn:
        return store.list_sites(conn)


def any_site_allows(ctx: Context, origin: str) -> bool:
    """True if some site lists ``origin``; remembered: preflights arrive before any site is named."""
    allowed = ctx.origins.get(ALL_ORIGINS)
    if allowed is None:
        generation = ctx.origins.generation
        allowed = frozenset(o for site in list_sites(ctx) for o in site.allowed_origins)
        ctx.origins.put(ALL_ORIGINS, allowed, generation)
    return origin.lower() in allowed


def any_site_allows_in_memory(ctx: Context, origin: str) -> bool | None:
    """``any_site_allows`` without I/O: None when the origins are not remembered (or may be out of date)."""
    allowed = ctx.origins.get(ALL_ORIGINS)
    return None if allowed is None else origin.lower() in allowed
