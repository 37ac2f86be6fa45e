"""Commenters' own requests to export or erase their data: they prove the e-mail address their comments
are signed with by a mailed single-use link, whose page's button then does what ``rejoinder privacy
export|erase`` does for a moderator (the same data, the same audit entries, with the commenter as actor).

The request gets the same answer whether or not anything is kept under the address (only a known
address gets mail), and is limited per client address and per e-mail address like mailed log-in links.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from email_validator import EmailNotValidError, validate_email

from rejoinder import privacy
from rejoinder.context import Context
from rejoinder.errors import InvalidInput, InvalidLink, RateLimited
from rejoinder.identity import TOKEN_SHAPE, digest
from rejoinder.notify.letters import Letters
from rejoinder.notify.mail import Mail, queue_mail
from rejoinder.sites import cached_site, site_settings
from rejoinder.store import privacy as store
from rejoinder.store.sites import get_site_by_id

log = logging.getLogger(__name__)

LINK_SECONDS = 60 * 60
RATE_ADDRESS = "5/hour;20/day"  # requests per client address
RATE_EMAIL = "3/hour;10/day"  # and per e-mail address: the form cannot flood one mailbox


class Action(StrEnum):
    EXPORT = "export"
    ERASE = "erase"


def offered(ctx: Context) -> bool:
    """Whether commenters can ask for themselves: only when the server sends mail (the proof)."""
    return ctx.settings.mail_enabled


def request(ctx: Context, letters: Letters, site_key: str, email: str, action: str, remote_addr: str) -> None:
    """Mail a one-time link that exports or erases ``email``'s data, if anything is kept under it; the
    same outcome for the caller either way."""
    site = cached_site(ctx, site_key)
    problems: dict[str, str] = {}
    address = ""
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        problems["email"] = f"is not a valid e-mail address: {exc}"
    if action not in Action.__members__.values():
        problems["action"] = "must be 'export' or 'erase'"
    if not offered(ctx):
        problems["email"] = "cannot be used: this server sends no mail, ask the site's owner"
    if problems:
        raise InvalidInput("the request cannot be sent", problems)
    exceeded = ctx.spam.rate_limits.hit(
        site.id,
        [
            ("privacy-request-ip", RATE_ADDRESS, remote_addr),
            ("privacy-request-email", RATE_EMAIL, ctx.signer.reader_key("privacy-request", address)),
        ],
    )
    if exceeded is not None:
        field = "client" if exceeded.scope == "privacy-request-ip" else "email"
        raise RateLimited(
            f"too many requests; try again in {exceeded.retry_after} s",
            {field: f"allows {exceeded.limit}"},
            retry_after=exceeded.retry_after,
        )
    token = secrets.token_urlsafe(32)
    language = site_settings(ctx, site).language
    letter = letters.render(
        f"privacy_{action}",
        language,
        f"privacy_{action}_subject",
        site=site.name,
        link=f"{ctx.settings.base_url}/privacy/{quote(site.key)}/confirm?t={token}",
        minutes=str(LINK_SECONDS // 60),
    )
    with ctx.db.write() as conn:
        if not store.holds_email(conn, address):
            return  # nothing to export or erase: no mail, and the caller cannot tell
        store.insert_request(
            conn, token_hash=digest(token), site_id=site.id, email=address, action=action,
            expires_at=datetime.now(UTC) + timedelta(seconds=LINK_SECONDS),
        )  # fmt: skip
        queue_mail(conn, Mail(address, letter.subject, letter.text, letter.html, site_id=site.id))


@dataclass(frozen=True)
class Pending:
    site_name: str
    site_key: str
    email: str
    action: Action
    language: str


def pending(ctx: Context, site_key: str, token: str) -> Pending:
    """What a link would do, without using it up (its page's GET: mail scanners open links)."""
    with ctx.db.read() as conn:
        found = store.peek_request(conn, digest(token)) if TOKEN_SHAPE.fullmatch(token) else None
        if found is None or found.expires_at <= datetime.now(UTC):
            raise _used_up()
        site = get_site_by_id(conn, found.site_id)
    if site.key != site_key:
        raise _used_up()
    return Pending(site.name, site.key, found.email, Action(found.action), site_settings(ctx, site).language)


@dataclass(frozen=True)
class Done:
    action: Action
    language: str
    export: dict[str, Any] | None = None
    erased: privacy.Erased | None = None


def carry_out(ctx: Context, site_key: str, token: str) -> Done:
    """Use up a link and do what it was asked for: the export's data, or what the erasure removed. The
    link names the site it was asked on; under another site's address it is used up and refused."""
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        found = store.take_request(conn, digest(token)) if TOKEN_SHAPE.fullmatch(token) else None
        site = get_site_by_id(conn, found.site_id) if found is not None else None
    # Checked after the commit: a late or replayed link is used up all the same.
    if found is None or site is None or site.key != site_key or found.expires_at <= now:
        raise _used_up()
    language = site_settings(ctx, site).language
    actor = privacy.commenter_actor(ctx, found.email)
    if found.action == Action.EXPORT:
        return Done(Action.EXPORT, language, export=privacy.export_by_email(ctx, found.email, actor))
    return Done(Action.ERASE, language, erased=privacy.erase_by_email(ctx, found.email, actor))


def purge_expired(ctx: Context, now: datetime | None = None) -> int:
    """Forget links past their hour; how many."""
    with ctx.db.write() as conn:
        return store.purge_expired_requests(conn, now or datetime.now(UTC))


def _used_up() -> InvalidLink:
    return InvalidLink("this link is not valid any more", {"t": "is unknown, used or expired"})
