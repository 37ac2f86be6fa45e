"""API keys: issuing them (the key is shown once and only its SHA-256 is kept), finding, listing and revoking
them, and checking the admin token of a request.

Admin tokens are server-wide; personal tokens act as the moderator they belong to, on that moderator's
sites only; Akismet keys belong to one site, whose spam filter they ask and teach. Issuing and revoking a
key is audit-logged.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from rejoinder import audit
from rejoinder.context import Context
from rejoinder.errors import Forbidden, InvalidInput, NotFound, Unauthorized, UnknownSite
from rejoinder.model import Moderator, Site
from rejoinder.sites import SITE_KEY, known_site, list_sites, require_site
from rejoinder.store import apikeys as store
from rejoinder.store.apikeys import ApiKey, ApiKeyKind
from rejoinder.urls import BadURL, normalise_url, origin_of

__all__ = [
    "ApiKey",
    "ApiKeyKind",
    "count_call",
    "create_key",
    "find_key",
    "find_site",
    "key_site",
    "list_keys",
    "origin_in",
    "require_admin",
    "revoke_key",
    "usage",
]

MAX_LABEL = 200
# Longer than any key this server issues: anything longer is not looked up at all.
MAX_KEY_LENGTH = 128


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def _new_key(kind: ApiKeyKind) -> str:
    # WordPress's Akismet plugin strips everything but hexadecimal digits from a key pasted into its
    # settings, so Akismet keys are hex (128 bits); admin tokens only ever travel in our own headers.
    return secrets.token_hex(16) if kind is ApiKeyKind.AKISMET else secrets.token_urlsafe(32)


def _kind(kind: ApiKeyKind | str) -> ApiKeyKind:
    try:
        return ApiKeyKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in ApiKeyKind)
        raise InvalidInput(
            f"{kind!r} is not a kind of API key", {"kind": f"must be one of {choices}"}
        ) from None


def create_key(
    ctx: Context,
    kind: ApiKeyKind | str,
    site_key: str | None,
    label: str = "",
    *,
    actor: Moderator | None = None,
    owner: Moderator | None = None,
) -> str:
    """Issue a key and return it: this is the only time it can be seen, as only its hash is stored.

    A personal token needs its ``owner``; ``actor`` is who asks (the command line when not given)."""
    kind = _kind(kind)
    actor = actor or audit.cli_actor()
    label = label.strip()
    if len(label) > MAX_LABEL or not label.isprintable():
        raise InvalidInput("bad label", {"label": f"must be at most {MAX_LABEL} printable characters"})
    if kind is ApiKeyKind.ADMIN and site_key is not None:
        raise InvalidInput("admin tokens are server-wide", {"site": "must not be given for an admin token"})
    if kind is ApiKeyKind.AKISMET and not site_key:
        raise InvalidInput("an Akismet key belongs to one site", {"site": "is required for an Akismet key"})
    if kind is ApiKeyKind.PERSONAL and (owner is None or not owner.id or site_key is not None):
        raise InvalidInput("a personal token belongs to one moderator", {"email": "must name a moderator"})
    if kind is ApiKeyKind.ADMIN and not actor.everywhere:
        raise Forbidden("only the command line issues admin tokens", {"kind": "must be personal"})
    plaintext = _new_key(kind)
    with ctx.db.write() as conn:
        site_id = require_site(conn, site_key).id if site_key else None
        key_id = store.insert_key(
            conn,
            kind=kind,
            key_hash=hash_key(plaintext),
            site_id=site_id,
            label=label,
            now=datetime.now(UTC),
            moderator_id=owner.id if kind is ApiKeyKind.PERSONAL and owner else None,
        )
        after = {"id": key_id, "kind": kind.value, "label": label}
        if owner is not None:
            after["owner"] = owner.email
        audit.record(conn, actor, "token.create", site_id=site_id, after=after)
    return plaintext


def find_key(ctx: Context, kind: ApiKeyKind | str, plaintext: str) -> ApiKey | None:
    """The key of that kind, or None. Looked up in the database every time (one indexed read): a key
    revoked through any process is refused by every process from the next request on."""
    kind = _kind(kind)
    if not plaintext or len(plaintext) > MAX_KEY_LENGTH:
        return None
    with ctx.db.read() as conn:
        return store.find_by_hash(conn, kind, hash_key(plaintext))


def key_site(ctx: Context, key: ApiKey) -> Site:
    """The site an Akismet key belongs to."""
    if key.site_key is None:
        raise InvalidInput("this key belongs to no site", {"key": "must be an Akismet key"})
    with ctx.db.read() as conn:
        return known_site(ctx, conn, key.site_key)


def origin_in(url: str) -> str | None:
    """The origin of an absolute http(s) URL, as sites list their allowed origins; None for anything else."""
    try:
        normalised = normalise_url(url)
    except BadURL:
        return None
    return origin_of(normalised) if normalised.startswith(("http://", "https://")) else None


def find_site(ctx: Context, key_or_url: str) -> Site:
    """The site with that key, or else the one site that allows the origin of that URL."""
    if SITE_KEY.fullmatch(key_or_url):
        with ctx.db.read() as conn:
            try:
                return require_site(conn, key_or_url)
            except UnknownSite:
                pass
    origin = origin_in(key_or_url)
    matches = [site for site in list_sites(ctx) if origin is not None and origin in site.allowed_origins]
    if len(matches) == 1:
        return matches[0]
    rule = "is the key of no site, nor an allowed origin of one"
    if len(matches) > 1:
        rule = f"is an allowed origin of several sites ({', '.join(s.key for s in matches)}): give the key"
    raise UnknownSite(f"no single site for {key_or_url!r}", {"site": rule})


def list_keys(
    ctx: Context,
    kind: ApiKeyKind | str | None = None,
    site_key: str | None = None,
    *,
    owner: Moderator | None = None,
) -> list[ApiKey]:
    with ctx.db.read() as conn:
        site_id = require_site(conn, site_key).id if site_key else None
        owner_id = owner.id if owner is not None else None
        return store.list_keys(conn, None if kind is None else _kind(kind), site_id, owner_id)


def revoke_key(
    ctx: Context,
    key_id: int,
    kind: ApiKeyKind | str | None = None,
    *,
    actor: Moderator | None = None,
    owner: Moderator | None = None,
) -> ApiKey:
    """Delete a key (of ``kind``, and ``owner``'s, if given) for good; every process refuses it from the
    next request on."""
    wanted = None if kind is None else _kind(kind)
    with ctx.db.write() as conn:
        key = store.get_key(conn, key_id)
        if (
            key is None
            or (wanted is not None and key.kind is not wanted)
            or (owner is not None and key.moderator_id != owner.id)
        ):
            what = "API key" if wanted is None else f"{wanted.value} key"
            raise NotFound(f"there is no {what} {key_id}", {"id": f"is not the id of an {what}"})
        store.delete_key(conn, key_id)
        before = {"id": key.id, "kind": key.kind.value, "label": key.label}
        audit.record(
            conn, actor or owner or audit.cli_actor(), "token.revoke", site_id=key.site_id, before=before
        )
    return key


def count_call(ctx: Context, key: ApiKey) -> None:
    ctx.db.transaction(lambda conn: store.count_call(conn, key.id))


def usage(ctx: Context, key: ApiKey) -> int:
    """Calls counted for the key so far (0 once it is revoked)."""
    with ctx.db.read() as conn:
        return store.calls_of(conn, key.id) or 0


def require_admin(ctx: Context, authorization_header: str | None) -> ApiKey:
    """The admin token sent as ``Authorization: Bearer <token>``; ``Unauthorized`` without a valid one."""
    scheme, _, token = (authorization_header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an admin token", {"Authorization": "must be 'Bearer <admin token>'"})
    key = find_key(ctx, ApiKeyKind.ADMIN, token)
    if key is None:
        raise Unauthorized("the admin token is not valid", {"Authorization": "is not a valid admin token"})
    return key
