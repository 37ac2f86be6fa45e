"""Readers' identity: the one-time codes a log-in ends with, the sessions they are exchanged for (the
widget's ``rdr_`` bearer tokens), mailed log-in links, and what a logged-in reader did in a thread.

No cookie is involved: a log-in at a provider (``oauth.py``) or a mailed link ends with a short-lived,
single-use code the widget exchanges for a token it keeps in the site's own storage.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection

from rejoinder import providers
from rejoinder.context import Context
from rejoinder.errors import InvalidInput, InvalidLink, RateLimited, Unauthorized
from rejoinder.model import Identity, Site, Verified
from rejoinder.notify.letters import Letters
from rejoinder.notify.mail import Mail, queue_mail
from rejoinder.sites import cached_site, known_site, site_settings
from rejoinder.store import identity as store
from rejoinder.store import threads as thread_store
from rejoinder.store.sites import get_site_by_id
from rejoinder.threads import thread_url

log = logging.getLogger(__name__)

TOKEN_PREFIX = "rdr_"
CODE_SECONDS = 120
LINK_SECONDS = 30 * 60
LINK_RATE_ADDRESS = "5/hour;20/day"  # mailed links asked for per client address
LINK_RATE_EMAIL = "3/hour;10/day"  # and per e-mail address
EMAIL_TITLE = "e-mail"


def digest(secret: str) -> str:
    """What the store keeps of a secret a reader's browser holds."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ReaderSession:
    token: str
    expires_at: datetime
    identity: Identity


@dataclass(frozen=True)
class Reader:
    """A logged-in reader, as a bearer token proves."""

    identity: Identity
    site_id: int


# -- what a reader is shown --------------------------------------------------------------------------------


def provider_title(ctx: Context, provider: str) -> str:
    if provider == providers.EMAIL_PROVIDER:
        return EMAIL_TITLE
    for found in providers.configured(ctx):
        if found.name == provider:
            return found.display_name
    return provider


def public_identity(ctx: Context, identity: Identity, site: Site) -> dict[str, Any]:
    """IDENTITY of the API: no subject, no address."""
    avatars = site_settings(ctx, site).provider_avatars
    return {
        "provider": identity.provider,
        "provider_name": provider_title(ctx, identity.provider),
        "name": identity.name,
        "profile_url": identity.profile_url,
        "avatar_url": identity.avatar_url if avatars else None,
        "email_verified": identity.email_verified,
    }


def verified_badge(ctx: Context, identity: Identity, site: Site) -> Verified:
    """What a comment by ``identity`` keeps to show readers."""
    avatars = site_settings(ctx, site).provider_avatars
    return Verified(
        provider=identity.provider,
        provider_name=provider_title(ctx, identity.provider),
        profile_url=identity.profile_url,
        avatar_url=identity.avatar_url if avatars else None,
    )


# -- codes and sessions ------------------------------------------------------------------------------------


def issue_code(
    conn: Connection, identity_id: int, site_id: int, now: datetime, claim_hash: str | None = None
) -> str:
    """A one-time code (``CODE_SECONDS``) that the widget exchanges for a session; a popup's log-in
    passes its ``claim_hash`` too (see ``claim_code``)."""
    code = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=CODE_SECONDS)
    store.insert_code(
        conn, code_hash=digest(code), identity_id=identity_id, site_id=site_id, expires_at=expires_at,
        claim_hash=claim_hash,
    )  # fmt: skip
    return code


def claim_hash(widget_state: str, remote_addr: str) -> str:
    """What a log-in in a popup keeps to let the widget that started it claim its code without the popup:
    the widget's random state, from the client address the log-in started from."""
    return digest(f"{widget_state}\n{remote_addr}")


def exchange_code(ctx: Context, site_key: str, code: str) -> ReaderSession:
    """Use up a code; a session on the site it was made for. 401 naming ``code`` if it is not one."""
    bad = Unauthorized("the log-in code is not valid", {"code": "is unknown, used or expired"})
    if not code or len(code) > 200:
        raise bad
    return _session(ctx, site_key, lambda conn: store.take_code(conn, digest(code)), bad)


def claim_code(ctx: Context, site_key: str, widget_state: str, remote_addr: str) -> ReaderSession:
    """Use up the code the log-in a widget started with ``widget_state`` ended with, asked for from the
    address the log-in started from: for when the provider's page cut the popup off from the widget, so
    that no message came. 401 naming ``state`` while there is none yet, and after it was used or expired."""
    bad = Unauthorized(
        "no log-in has finished with this state", {"state": "is unknown, not finished yet, used or expired"}
    )
    if not 16 <= len(widget_state) <= 128:
        raise bad
    site = cached_site(ctx, site_key)
    # Asked every few seconds while the popup is out of reach: a read, until there is something to take.
    with ctx.db.read() as conn:
        code_hash = store.claimed_code(conn, claim_hash(widget_state, remote_addr), site.id)
    if code_hash is None:
        raise bad
    return _session(ctx, site_key, lambda conn: store.take_code(conn, code_hash), bad)


def _session(
    ctx: Context, site_key: str, take: Callable[[Connection], Any], bad: Unauthorized
) -> ReaderSession:
    now = datetime.now(UTC)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=ctx.settings.reader_session_days)
    reader: Identity | None = None
    with ctx.db.write() as conn:
        site = known_site(ctx, conn, site_key)
        found = take(conn)
        if found is not None and found.site_id == site.id and found.expires_at > now:
            store.insert_session(
                conn, identity_id=found.identity_id, site_id=site.id, token_hash=digest(token), now=now,
                expires_at=expires_at,
            )  # fmt: skip
            reader = store.get_identity(conn, found.identity_id)
    # Raised after the commit: a wrong, late or replayed code is used up all the same.
    if reader is None:
        raise bad
    return ReaderSession(token, expires_at, reader)


def bearer_token(authorization: str | None) -> str | None:
    """The ``rdr_`` token of an ``Authorization: Bearer`` header; None for anything else."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX):
        return token
    return None


def reader_of(ctx: Context, token: str, site: Site | None = None) -> Reader:
    """The reader a token is the session of; 401 naming ``Authorization`` if it is unknown, expired,
    revoked, or (given ``site``) made for another site."""
    with ctx.db.read() as conn:
        found = store.session_of(conn, digest(token)) if len(token) <= 200 else None
    if (
        found is None
        or found.expires_at <= datetime.now(UTC)
        or (site is not None and found.site_id != site.id)
    ):
        raise Unauthorized(
            "log in again: this reader token is not valid",
            {"Authorization": "is an unknown or expired reader token"},
        )
    return Reader(found.identity, found.site_id)


def log_out(ctx: Context, token: str) -> None:
    """Revoke a session (again: nothing to do)."""
    with ctx.db.write() as conn:
        store.delete_session(conn, digest(token))


@dataclass(frozen=True)
class ReaderState:
    identity: dict[str, Any]
    liked: list[int]
    mine: list[dict[str, Any]]


def reader_state(ctx: Context, token: str, site_key: str, url: str | None) -> ReaderState:
    """Who the token's reader is and, given a thread, which of its comments they liked and wrote."""
    site = cached_site(ctx, site_key)
    reader = reader_of(ctx, token, site)
    liked: list[int] = []
    mine: list[dict[str, Any]] = []
    if url:
        page = thread_url(url)
        window = timedelta(seconds=site_settings(ctx, site).edit_window_seconds)
        with ctx.db.read() as conn:
            thread = thread_store.find_thread(conn, site.id, page)
            if thread is not None:
                liked = store.liked_in_thread(conn, liker_key(ctx, reader.identity.id), thread.id)
                mine = [
                    {"id": comment_id, "edit_until": created_at + window}
                    for comment_id, created_at in store.own_in_thread(conn, reader.identity.id, thread.id)
                ]
    return ReaderState(public_identity(ctx, reader.identity, site), liked, mine)


def liker_key(ctx: Context, identity_id: int) -> str:
    """What a verified reader's likes are kept under: the same on every device."""
    return ctx.signer.reader_key("like", f"identity:{identity_id}")


def check_guest_email(conn: Connection, email: str, *, taken: bool | None = None) -> None:
    """A guest may not post under an address a verified reader has proved is theirs. ``taken``: whether one
    has, if already asked along with something else (None: ask now)."""
    if not email:
        return
    if taken is None:
        taken = store.verified_email_taken(conn, email.casefold())
    if taken:
        raise InvalidInput(
            "that e-mail address belongs to a verified reader",
            {"author.email": "belongs to a verified reader: log in to use it"},
        )


# -- mailed links ------------------------------------------------------------------------------------------


def email_login(ctx: Context) -> bool:
    """Whether readers may log in by a mailed link: the server sends mail (or writes links to its log)."""
    return ctx.settings.mail_enabled or ctx.settings.login_links_to_log


def on_site(site: Site, url: str) -> bool:
    """Whether ``url`` is a page on one of the site's allowed origins (where a login may return)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return False
    return f"{parts.scheme}://{parts.netloc}".lower() in site.allowed_origins


def request_link(
    ctx: Context, letters: Letters, site_key: str, email: str, return_url: str, remote_addr: str
) -> None:
    """Mail a one-time log-in link to ``email`` (when the server sends mail): the same answer whether or
    not the address is known."""
    site = cached_site(ctx, site_key)
    problems: dict[str, str] = {}
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.casefold()
    except EmailNotValidError as exc:
        problems["email"] = f"is not a valid e-mail address: {exc}"
    if len(return_url) > 2048 or not on_site(site, return_url):
        problems["return_url"] = "must be a page on one of the site's allowed origins"
    if not email_login(ctx):
        problems["email"] = "cannot be used: this server sends no mail"
    if problems:
        raise InvalidInput("the log-in link cannot be sent", problems)
    exceeded = ctx.spam.rate_limits.hit(
        site.id,
        [
            ("login-link-ip", LINK_RATE_ADDRESS, remote_addr),
            ("login-link-email", LINK_RATE_EMAIL, ctx.signer.reader_key("login-link", email)),
        ],
    )
    if exceeded is not None:
        field = "client" if exceeded.scope == "login-link-ip" else "email"
        raise RateLimited(
            f"too many log-in links asked for; try again in {exceeded.retry_after} s",
            {field: f"allows {exceeded.limit}"},
            retry_after=exceeded.retry_after,
        )
    token = secrets.token_urlsafe(32)
    link = f"{ctx.settings.base_url}/auth/email/verify?t={token}"
    now = datetime.now(UTC)
    language = site_settings(ctx, site).language
    letter = letters.render(
        "login",
        language,
        "login_subject",
        site=site.name,
        link=link,
        minutes=str(LINK_SECONDS // 60),
    )
    with ctx.db.write() as conn:
        store.insert_link(
            conn, token_hash=digest(token), site_id=site.id, email=email, return_url=return_url,
            expires_at=now + timedelta(seconds=LINK_SECONDS),
        )  # fmt: skip
        if ctx.settings.mail_enabled:
            # Sent if and only if the link is stored: the mail job commits with it.
            queue_mail(conn, Mail(email, letter.subject, letter.text, letter.html, site_id=site.id))
    if not ctx.settings.mail_enabled:
        log.warning("log-in link for %s (login_links_to_log is on): %s", email, link)


TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


@dataclass(frozen=True)
class LinkFound:
    site_name: str
    email: str
    language: str
    return_origin: str  # where the page's button sends the browser on: its form must be allowed there


def pending_link(ctx: Context, token: str) -> LinkFound:
    """What a mailed link would log in as, without using it up (its page's GET)."""
    with ctx.db.read() as conn:
        found = store.peek_link(conn, digest(token)) if TOKEN_SHAPE.fullmatch(token) else None
        if found is None or found.expires_at <= datetime.now(UTC):
            raise InvalidLink("this log-in link is not valid any more", {"t": "is unknown, used or expired"})
        site = get_site_by_id(conn, found.site_id)
    parts = urlsplit(found.return_url)
    return LinkFound(
        site.name, found.email, site_settings(ctx, site).language, f"{parts.scheme}://{parts.netloc}"
    )


def use_link(ctx: Context, token: str) -> str:
    """Use up a mailed link: the address to send the browser to, ``return_url#rejoinder-login=CODE``."""
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        found = store.take_link(conn, digest(token)) if TOKEN_SHAPE.fullmatch(token) else None
        if found is not None and found.expires_at > now:
            reader = store.upsert_identity(
                conn,
                provider=providers.EMAIL_PROVIDER,
                subject=found.email,
                name=found.email.split("@", 1)[0],
                email=found.email,
                email_verified=True,
                profile_url=None,
                avatar_url=None,
                now=now,
            )
            code = issue_code(conn, reader.id, found.site_id, now)
    if found is None or found.expires_at <= now:
        raise InvalidLink("this log-in link is not valid any more", {"t": "is unknown, used or expired"})
    return f"{found.return_url.split('#', 1)[0]}#rejoinder-login={code}"
