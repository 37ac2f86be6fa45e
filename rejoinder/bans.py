"""Bans: a site refuses comments from an e-mail address, a client address or network, or linking to a
domain, until the ban expires or is lifted. Checked on every post and edit (from a memo of each site's
bans that ``SiteChanged`` empties); a new ban can mark the author's held comments as spam at once."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection

from rejoinder import audit, moderation
from rejoinder.context import Context
from rejoinder.errors import Forbidden, InvalidInput, NotFound
from rejoinder.events import SiteChanged
from rejoinder.model import Author, Ban, CommentStatus, Identity, Moderator, Site
from rejoinder.permissions import require_role
from rejoinder.sites import require_site
from rejoinder.spam.links import domains_in
from rejoinder.store import bans as store
from rejoinder.store import queue as queue_store
from rejoinder.store.queue import QueueQuery
from rejoinder.store.sites import get_site_by_id, list_sites

KINDS = ("email", "ip", "network", "domain", "identity")
# A verified reader as bans name them: provider (its name on this server, or "email") and the provider's id.
IDENTITY_VALUE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}:\S{1,320}")
MAX_REASON = 500
DOMAIN_LABEL = "abcdefghijklmnopqrstuvwxyz0123456789-"


class Banned(Forbidden):
    code = "banned"


@dataclass(frozen=True)
class NewBan:
    ban: Ban
    marked_as_spam: list[int]  # held comments of the banned author, marked as spam with the ban


def normalise(kind: str, value: str) -> str:
    """The value as it is stored and compared; ``InvalidInput`` naming ``value`` if it is not one."""
    value = value.strip()
    try:
        if kind == "email":
            return validate_email(value, check_deliverability=False).normalized.casefold()
        if kind == "ip":
            return str(ipaddress.ip_address(value))
        if kind == "network":
            return str(ipaddress.ip_network(value, strict=False))
    except (EmailNotValidError, ValueError) as exc:
        raise InvalidInput(f"{value!r} is not a {kind}", {"value": f"is not a valid {kind}: {exc}"}) from None
    if kind == "identity":
        if not IDENTITY_VALUE.fullmatch(value):
            raise InvalidInput(
                f"{value!r} is not an identity", {"value": "must be provider:subject, like github:12345"}
            )
        return value
    if kind == "domain":
        domain = value.casefold().removeprefix("*.").rstrip(".")
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = ""
        labels = domain.split(".")
        if len(labels) < 2 or not all(label and set(label) <= set(DOMAIN_LABEL) for label in labels):
            raise InvalidInput(f"{value!r} is not a domain", {"value": "must be a domain like spam.example"})
        return domain
    raise InvalidInput(f"{kind!r} is not a kind of ban", {"kind": "must be one of " + ", ".join(KINDS)})


def create_ban(
    ctx: Context,
    who: Moderator,
    site_key: str,
    kind: str,
    value: str,
    *,
    reason: str = "",
    expires_at: datetime | None = None,
    mark_held_as_spam: bool = False,
) -> NewBan:
    value = normalise(kind, value)
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason too long", {"reason": f"must be at most {MAX_REASON} characters"})
    now = datetime.now(UTC)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise InvalidInput("bad expiry", {"expires_at": "must be a time in the future, with its time zone"})
    with ctx.db.write() as conn:
        site = require_site(conn, site_key)
        require_role(who, site.key)
        ban = store.insert_ban(
            conn, site_id=site.id, kind=kind, value=value, reason=reason, created_by=who.actor, now=now,
            expires_at=expires_at,
        )  # fmt: skip
        audit.record(conn, who, "ban.create", site_id=site.id, after=_ban_json(ban))
        ctx.events.record(conn, SiteChanged(site.key))
        held = _held_by(conn, site, ban) if mark_held_as_spam else []
    marked: list[int] = []
    if held:
        marked = moderation.moderate_many(ctx, who, moderation.Decision.SPAM, held).done
    return NewBan(ban, marked)


def _held_by(conn: Connection, site: Site, ban: Ban) -> list[int]:
    """Ids of the site's held comments the ban covers."""
    email = ban.value if ban.kind == "email" else ""
    ip = ban.value if ban.kind == "ip" else ""
    query = QueueQuery(site_ids=[site.id], status=CommentStatus.PENDING.value, email=email, ip=ip)
    rows = queue_store.queue_rows(conn, queue_store.matching_ids(conn, query, moderation.MAX_BULK))
    return [
        row.id
        for row in rows
        if (ban.kind == "identity" and row.identity_key == ban.value)
        or covers(
            ban, Author(row.author_name, row.author_email, row.author_website), row.remote_addr, row.body
        )
    ]


def lift_ban(ctx: Context, who: Moderator, ban_id: int) -> Ban:
    with ctx.db.write() as conn:
        ban = store.get_ban(conn, ban_id)
        site = get_site_by_id(conn, ban.site_id) if ban else None
        if ban is None or site is None or not who.may(site.key):
            raise NotFound(f"there is no ban {ban_id}", {"id": "is not the id of a ban"})
        store.delete_ban(conn, ban.id)
        audit.record(conn, who, "ban.lift", site_id=site.id, before=_ban_json(ban))
        ctx.events.record(conn, SiteChanged(site.key))
    return ban


def list_bans(ctx: Context, who: Moderator, site_key: str | None = None) -> list[tuple[str, Ban]]:
    """(site key, ban), newest first, of one site or every site ``who`` moderates."""
    with ctx.db.read() as conn:
        if site_key:
            site = require_site(conn, site_key)
            require_role(who, site.key)
            keys = {site.id: site.key}
        else:
            keys = {site.id: site.key for site in list_sites(conn) if who.may(site.key)}
        found = store.list_bans(conn, list(keys)) if keys else []
    return [(keys[ban.site_id], ban) for ban in found]


def check_bans(
    ctx: Context, site: Site, author: Author, remote_addr: str, body: str, reader: Identity | None = None
) -> None:
    """``Banned`` (403, naming what is banned) if a live ban of the site covers this comment (``reader``:
    the verified reader who writes it)."""
    found = ctx.bans.get(site.id)
    if found is None:
        generation = ctx.bans.generation
        with ctx.db.read() as conn:
            found = tuple(store.active_bans(conn, site.id, datetime.now(UTC)))
        ctx.bans.put(site.id, found, generation)
    if not found:
        return
    now = datetime.now(UTC)
    # The comment's link domains, found once for every domain ban (a regex over the text).
    domains = domains_in(body, author.website, author.email) if any(b.kind == "domain" for b in found) else []
    for ban in found:
        if (ban.expires_at is None or ban.expires_at > now) and covers(
            ban, author, remote_addr, body, domains, reader
        ):
            fields = {"email": "author.email", "domain": "body", "identity": "Authorization"}
            field = fields.get(ban.kind, "client")
            raise Banned("you may not comment on this site", {field: f"is banned on this site ({ban.kind})"})


def covers(
    ban: Ban,
    author: Author,
    remote_addr: str,
    body: str,
    domains: list[str] | None = None,
    reader: Identity | None = None,
) -> bool:
    if ban.kind == "identity":
        return reader is not None and reader.ban_value == ban.value
    if ban.kind == "email":
        return bool(author.email) and author.email.casefold() == ban.value
    if ban.kind in ("ip", "network"):
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        return address in ipaddress.ip_network(ban.value, strict=False)
    if domains is None:
        domains = domains_in(body, author.website, author.email)
    return any(d == ban.value or d.endswith("." + ban.value) for d in domains)


def _ban_json(ban: Ban) -> dict[str, object]:
    return {
        "id": ban.id,
        "kind": ban.kind,
        "value": ban.value,
        "reason": ban.reason,
        "expires_at": ban.expires_at.isoformat() if ban.expires_at else None,
    }
