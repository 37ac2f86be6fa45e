"""Login sessions of moderators: the cookie's value is a random token whose SHA-256 is kept, looked up on
every request (so a revoked session is refused at once, by every process), and each session's CSRF token
is derived from it with the server's secret (nothing more to store)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from rejoinder import audit
from rejoinder.context import Context
from rejoinder.errors import NotFound
from rejoinder.model import Moderator
from rejoinder.store import moderators as store
from rejoinder.store.moderators import Session

__all__ = ["Session", "csrf_token", "csrf_matches", "find_session", "list_sessions", "open_session"]

COOKIE = "rejoinder_session"
MAX_TOKEN = 100
# last_seen_at is written at most this often: a dashboard polling every few seconds need not write.
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(ctx: Context, moderator: Moderator, *, user_agent: str, remote_addr: str) -> str:
    """A new session for the moderator; returns the cookie's value (shown only here)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        session_id = store.insert_session(
            conn,
            moderator_id=moderator.id,
            token_hash=_hash(token),
            now=now,
            expires_at=now + timedelta(days=ctx.settings.session_days),
            user_agent=user_agent[:500],
            remote_addr=remote_addr[:45],
        )
        audit.record(conn, moderator, "session.open", after={"session": session_id})
    return token


def find_session(ctx: Context, token: str) -> tuple[Session, Moderator] | None:
    """The live session with this cookie value and its moderator, or None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    now = datetime.now(UTC)
    with ctx.db.read() as conn:
        session = store.find_session(conn, _hash(token))
        if session is None or session.expires_at <= now:
            return None
        moderator = store.get_moderator(conn, session.moderator_id)
    if moderator is None:
        return None
    if now - session.last_seen_at > TOUCH_EVERY:
        with ctx.db.write() as conn:
            store.touch_session(conn, session.id, now)
    return session, moderator


def close_session(ctx: Context, token: str) -> None:
    """Log out: the session with this cookie value ends."""
    found = find_session(ctx, token)
    if found is not None:
        revoke_session(ctx, found[1], found[0].id)


def list_sessions(ctx: Context, moderator: Moderator) -> list[Session]:
    with ctx.db.read() as conn:
        return store.list_sessions(conn, moderator.id)


def revoke_session(ctx: Context, moderator: Moderator, session_id: int) -> None:
    """End one of the moderator's own sessions; refused from the next request on, in every process."""
    with ctx.db.write() as conn:
        if not store.delete_session(conn, moderator.id, session_id):
            raise NotFound(f"you have no session {session_id}", {"id": "is not one of your sessions"})
        audit.record(conn, moderator, "session.revoke", before={"session": session_id})


def csrf_token(ctx: Context, session_token: str) -> str:
    return ctx.signer.reader_key("csrf", session_token)


def csrf_matches(ctx: Context, session_token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(ctx, session_token), sent or "")
