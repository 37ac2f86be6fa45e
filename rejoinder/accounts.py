"""Moderator accounts: creating and changing them, their per-site roles, passwords (argon2id), the optional
second factor (TOTP, with single-use recovery codes), and checking a login, rate-limited per account and
per client address."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyotp
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection

from rejoinder import audit
from rejoinder.context import Context
from rejoinder.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthorized
from rejoinder.model import Moderator, Role
from rejoinder.permissions import require_role
from rejoinder.sites import require_site
from rejoinder.store import moderators as store

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD = 10
MAX_PASSWORD = 1000  # argon2 hashes any length, but a megabyte "password" is only a way to burn CPU
RECOVERY_CODES = 10
ISSUER = "Rejoinder"
# Login rate limits are not per site: counted under this pseudo-site.
LOGIN_LIMIT_SCOPE = 0


# argon2 (with ALTCHA's proof of work, its only other user) is imported on the first log-in or new
# password, not at start: most processes never check a password. The import and the dummy hash below cost
# 0.5 MiB and 0.4 s of CPU at every start, and the hash's four threads left a malloc arena behind in a
# process that imports the app before capping them (docs/benchmarks.md, "Memory: rate-limit counts by
# window, argon2 and ALTCHA on first use"). Constants made at first use, not state.
@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when no account has the e-mail address, so an unknown address costs as long as a wrong
    password. Made by the first check of any address, so that the first check costs the same either way."""
    return _hasher().hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SecondFactor:
    """Shown once, when TOTP is turned on: the secret (as an otpauth URI for an app) and recovery codes."""

    secret: str
    uri: str
    recovery_codes: list[str]


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"{email!r} is not an e-mail address", {"email": f"is not valid: {exc}"}) from None


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"{role!r} is not a role", {"role": "must be admin or moderator"}) from None


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            "the password is too short or too long",
            {"password": f"must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"},
        )


def _require(conn: Connection, email: str) -> int:
    found = store.moderator_id_of(conn, normalise_email(email))
    if found is None:
        raise NotFound(f"no moderator has the e-mail address {email!r}", {"email": "is not a moderator"})
    return found


def create_user(
    ctx: Context, actor: Moderator, email: str, password: str, site_key: str, role: Role | str
) -> Moderator:
    email, role = normalise_email(email), _role(role)
    _check_password(password)
    password_hash = _hasher().hash(password)
    with ctx.db.write() as conn:
        site = require_site(conn, site_key)
        _may_manage(actor, site.key)
        if store.moderator_id_of(conn, email) is not None:
            raise Conflict(f"{email} is a moderator already", {"email": "is taken"})
        moderator_id = store.insert_moderator(conn, email=email, password_hash=password_hash, now=_now())
        store.set_role(conn, moderator_id, site.id, role)
        audit.record(conn, actor, "user.create", site_id=site.id, after={"email": email, "role": role.value})
        created = store.get_moderator(conn, moderator_id)
    assert created is not None
    return created


def update_user(
    ctx: Context,
    actor: Moderator,
    email: str,
    *,
    site_key: str | None = None,
    role: Role | str | None = None,
    remove_site: str | None = None,
    password: str | None = None,
) -> Moderator:
    """Give a role on a site (or change it), take one away, or set a new password (which ends every
    session of the account)."""
    if password is not None:
        _check_password(password)
    with ctx.db.write() as conn:
        moderator_id = _require(conn, email)
        before = store.get_moderator(conn, moderator_id)
        assert before is not None
        if site_key is not None:
            if role is None:
                raise InvalidInput("a role is needed with a site", {"role": "is required with site"})
            site = require_site(conn, site_key)
            _may_manage(actor, site.key)
            store.set_role(conn, moderator_id, site.id, _role(role))
            audit.record(
                conn, actor, "user.role", site_id=site.id,
                before={"email": before.email, "role": before.roles.get(site.key)},
                after={"email": before.email, "role": _role(role).value},
            )  # fmt: skip
        if remove_site is not None:
            site = require_site(conn, remove_site)
            _may_manage(actor, site.key)
            if not store.remove_role(conn, moderator_id, site.id):
                raise NotFound(f"{before.email} has no role on {site.key}", {"site": "is not theirs"})
            audit.record(
                conn, actor, "user.role", site_id=site.id,
                before={"email": before.email, "role": before.roles[site.key]},
                after={"email": before.email, "role": None},
            )  # fmt: skip
        if password is not None:
            _may_manage_account(actor, before)
            store.set_password(conn, moderator_id, _hasher().hash(password))
            store.delete_sessions(conn, moderator_id)
            audit.record(conn, actor, "user.password", after={"email": before.email})
        after = store.get_moderator(conn, moderator_id)
    assert after is not None
    return after


def delete_user(ctx: Context, actor: Moderator, email: str) -> Moderator:
    with ctx.db.write() as conn:
        gone = _account_of(conn, actor, email)
        store.delete_moderator(conn, gone.id)
        audit.record(conn, actor, "user.delete", before={"email": gone.email, "roles": dict(gone.roles)})
    return gone


def list_users(ctx: Context, site_key: str | None = None) -> list[Moderator]:
    with ctx.db.read() as conn:
        site_id = require_site(conn, site_key).id if site_key else None
        return store.list_moderators(conn, site_id)


def get_user(ctx: Context, email: str) -> Moderator:
    with ctx.db.read() as conn:
        found = store.get_moderator(conn, _require(conn, email))
    assert found is not None
    return found


def moderator_by_id(ctx: Context, moderator_id: int) -> Moderator | None:
    with ctx.db.read() as conn:
        return store.get_moderator(conn, moderator_id)


def turn_on_totp(ctx: Context, actor: Moderator, email: str) -> SecondFactor:
    """A new TOTP secret and new recovery codes (any older ones stop working)."""
    secret = pyotp.random_base32()
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    with ctx.db.write() as conn:
        found = _account_of(conn, actor, email)
        store.set_second_factor(conn, found.id, secret, [_digest(code) for code in codes])
        audit.record(conn, actor, "user.totp", before={"totp": found.totp}, after={"totp": True})
    uri = pyotp.TOTP(secret).provisioning_uri(name=found.email, issuer_name=ISSUER)
    return SecondFactor(secret, uri, codes)


def turn_off_totp(ctx: Context, actor: Moderator, email: str) -> None:
    with ctx.db.write() as conn:
        found = _account_of(conn, actor, email)
        store.set_second_factor(conn, found.id, None, [])
        audit.record(conn, actor, "user.totp", before={"totp": found.totp}, after={"totp": False})


def check_password(ctx: Context, email: str, password: str, remote_addr: str) -> Moderator:
    """The moderator whose e-mail and password these are; ``Unauthorized`` (saying no more than that the
    pair is wrong) or ``RateLimited`` otherwise. Every attempt counts against the account and the address."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = email.strip().lower()[:320]
    _count_attempt(ctx, email, remote_addr)
    with ctx.db.read() as conn:
        found = store.credentials(conn, email) if email else None
    wrong = Unauthorized(
        "wrong e-mail address or password", {"password": "does not match the e-mail address"}
    )
    if len(password) > MAX_PASSWORD:
        raise wrong
    from argon2.exceptions import InvalidHashError, VerificationError

    dummy = _dummy_hash()
    try:
        _hasher().verify(found.password_hash if found else dummy, password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if found is None:
        raise wrong
    moderator = moderator_by_id(ctx, found.moderator_id)
    if moderator is None:
        raise wrong
    return moderator


def check_second_factor(ctx: Context, moderator: Moderator, code: str, remote_addr: str) -> None:
    """Accept a current TOTP code or an unused recovery code (struck off as it is used)."""
    _count_attempt(ctx, moderator.email, remote_addr)
    code = "".join(code.split())
    with ctx.db.write() as conn:
        found = store.credentials_by_id(conn, moderator.id)
        if found is None or found.totp_secret is None:
            return
        if code.isdigit() and pyotp.TOTP(found.totp_secret).verify(code, valid_window=1):
            return
        if code and store.use_recovery_code(conn, moderator.id, _digest(code.lower())):
            audit.record(conn, moderator, "user.recovery_code", after={"left": len(found.recovery_codes) - 1})
            return
    raise Unauthorized("wrong code", {"code": "is not the current code of your app, nor a recovery code"})


def _count_attempt(ctx: Context, email: str, remote_addr: str) -> None:
    settings = ctx.settings
    exceeded = ctx.spam.rate_limits.hit(
        LOGIN_LIMIT_SCOPE,
        [
            ("login-account", settings.login_rate_limit_account, email or "-"),
            ("login-ip", settings.login_rate_limit_ip, remote_addr),
        ],
    )
    if exceeded is not None:
        field = "email" if exceeded.scope == "login-account" else "client"
        raise RateLimited(
            f"too many login attempts; try again in {exceeded.retry_after} s",
            {field: f"allows {exceeded.limit} login attempts"},
            retry_after=exceeded.retry_after,
        )


def _may_manage(actor: Moderator, site_key: str) -> None:
    require_role(actor, site_key, Role.ADMIN)


def _account_of(conn: Connection, actor: Moderator, email: str) -> Moderator:
    """The account with this address, if ``actor`` may manage it (``_may_manage_account``)."""
    found = store.get_moderator(conn, _require(conn, email))
    assert found is not None
    _may_manage_account(actor, found)
    return found


def _may_manage_account(actor: Moderator, target: Moderator) -> None:
    """An account's password, second factor and existence: its owner, or an admin of each of its sites."""
    if actor.id and actor.id == target.id:
        return
    for site_key in target.roles or {"": Role.MODERATOR}:
        _may_manage(actor, site_key)


def _recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)
