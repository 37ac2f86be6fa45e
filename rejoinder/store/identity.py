"""Readers' identities and what logging in leaves behind: sessions, log-ins under way at a provider,
one-time codes, mailed links, and the login providers added from the command line.

Every secret a reader's browser holds (session token, code, link, OAuth state) is kept here only as its
SHA-256; the single-use ones are deleted by the statement that uses them, so of two concurrent uses
exactly one finds its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from rejoinder.model import CommentStatus, Identity
from rejoinder.store.schema import (
    comments,
    identities,
    likes,
    login_attempts,
    login_codes,
    login_links,
    login_providers,
    reader_sessions,
    threads,
)

i = identities.c


def _identity(row: Any) -> Identity:
    return Identity(
        id=row.id,
        provider=row.provider,
        subject=row.subject,
        name=row.name,
        email=row.email,
        email_verified=bool(row.email_verified),
        profile_url=row.profile_url,
        avatar_url=row.avatar_url,
    )


def upsert_identity(
    conn: Connection,
    *,
    provider: str,
    subject: str,
    name: str,
    email: str,
    email_verified: bool,
    profile_url: str | None,
    avatar_url: str | None,
    now: datetime,
) -> Identity:
    """The identity of (provider, subject), created or brought up to date with the provider's profile."""
    values = {
        "name": name,
        "email": email,
        "email_verified": email_verified,
        "profile_url": profile_url,
        "avatar_url": avatar_url,
        "last_login_at": now,
    }
    found = conn.execute(
        update(identities)
        .where(i.provider == provider, i.subject == subject)
        .values(**values)
        .returning(*identities.c)
    ).first()
    if found is None:
        found = conn.execute(
            insert(identities)
            .values(provider=provider, subject=subject, created_at=now, **values)
            .returning(*identities.c)
        ).one()
    return _identity(found)


def get_identity(conn: Connection, identity_id: int) -> Identity | None:
    row = conn.execute(select(identities).where(i.id == identity_id)).first()
    return _identity(row) if row else None


# Built once: every guest's comment asks it, and building a statement costs more than running it.
_VERIFIED_EMAIL = select(i.id).where(i.email == bindparam("email"), i.email_verified.is_(True)).limit(1)


def verified_email_taken(conn: Connection, email: str) -> bool:
    """Whether a verified identity holds ``email`` (lower-cased) as a verified address."""
    return conn.execute(_VERIFIED_EMAIL, {"email": email}).first() is not None


def identities_by_email(conn: Connection, email: str) -> list[Identity]:
    return [_identity(row) for row in conn.execute(select(identities).where(i.email == email).order_by(i.id))]


def delete_identities_by_email(conn: Connection, email: str) -> int:
    """Forget the identities with this address (their sessions go with them; their comments stay)."""
    return conn.execute(delete(identities).where(i.email == email)).rowcount


# -- sessions ------------------------------------------------------------------------------------------


def insert_session(
    conn: Connection, *, identity_id: int, site_id: int, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(reader_sessions).values(
            identity_id=identity_id,
            site_id=site_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


@dataclass(frozen=True)
class SessionFound:
    identity: Identity
    site_id: int
    expires_at: datetime


def session_of(conn: Connection, token_hash: str) -> SessionFound | None:
    """The session a token's hash names with its identity, in one query; expired ones too (the caller
    compares ``expires_at``)."""
    s = reader_sessions.c
    row = conn.execute(
        select(*identities.c, s.site_id, s.expires_at)
        .join_from(reader_sessions, identities, i.id == s.identity_id)
        .where(s.token_hash == token_hash)
    ).first()
    return SessionFound(_identity(row), row.site_id, row.expires_at) if row else None


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(reader_sessions).where(reader_sessions.c.token_hash == token_hash))


# -- log-ins under way, codes, links ---------------------------------------------------------------------


def insert_attempt(conn: Connection, **values: Any) -> None:
    conn.execute(insert(login_attempts).values(**values))


def take_attempt(conn: Connection, state_hash: str) -> Any:
    """The log-in under way that an OAuth state names, deleted in the same breath (None: unknown or used)."""
    return _take(conn, login_attempts, login_attempts.c.state_hash, state_hash)


def insert_code(
    conn: Connection,
    *,
    code_hash: str,
    identity_id: int,
    site_id: int,
    expires_at: datetime,
    claim_hash: str | None = None,
) -> None:
    conn.execute(
        insert(login_codes).values(
            code_hash=code_hash,
            identity_id=identity_id,
            site_id=site_id,
            expires_at=expires_at,
            claim_hash=claim_hash,
        )
    )


def take_code(conn: Connection, code_hash: str) -> Any:
    return _take(conn, login_codes, login_codes.c.code_hash, code_hash)


def claimed_code(conn: Connection, claim_hash: str, site_id: int) -> str | None:
    """The hash of a code waiting on this site for the log-in started with ``claim_hash``, if any."""
    c = login_codes.c
    query = select(c.code_hash).where(c.claim_hash == claim_hash, c.site_id == site_id).limit(1)
    found: str | None = conn.execute(query).scalar()
    return found


def insert_link(
    conn: Connection, *, token_hash: str, site_id: int, email: str, return_url: str, expires_at: datetime
) -> None:
    conn.execute(
        insert(login_links).values(
            token_hash=token_hash, site_id=site_id, email=email, return_url=return_url, expires_at=expires_at
        )
    )


def peek_link(conn: Connection, token_hash: str) -> Any:
    return conn.execute(select(login_links).where(login_links.c.token_hash == token_hash)).first()


def take_link(conn: Connection, token_hash: str) -> Any:
    return _take(conn, login_links, login_links.c.token_hash, token_hash)


def _take(conn: Connection, table: Any, column: Any, value: str) -> Any:
    row = conn.execute(select(table).where(column == value)).first()
    if row is None:
        return None
    # Of two requests that read the row, only the one whose DELETE removes it may use it.
    if conn.execute(delete(table).where(column == value)).rowcount != 1:
        return None
    return row


def purge_expired(conn: Connection, now: datetime) -> int:
    """Delete expired sessions, log-ins under way, codes and links; how many rows went."""
    gone = 0
    for table in (reader_sessions, login_attempts, login_codes, login_links):
        gone += conn.execute(delete(table).where(table.c.expires_at <= now)).rowcount
    return gone


# -- what a reader did in a thread -------------------------------------------------------------------------


def liked_in_thread(conn: Connection, liker_key: str, thread_id: int) -> list[int]:
    c = comments.c
    query = (
        select(likes.c.comment_id)
        .join_from(likes, comments, c.id == likes.c.comment_id)
        .where(likes.c.liker_key == liker_key, c.thread_id == thread_id)
        .order_by(likes.c.comment_id)
    )
    return list(conn.execute(query).scalars())


def own_in_thread(conn: Connection, identity_id: int, thread_id: int) -> list[tuple[int, datetime]]:
    """(id, created_at) of the identity's comments in a thread, held ones included, deleted ones not."""
    c = comments.c
    query = (
        select(c.id, c.created_at)
        .where(
            c.identity_id == identity_id, c.thread_id == thread_id, c.status != CommentStatus.DELETED.value
        )
        .order_by(c.id)
    )
    return [(row.id, row.created_at) for row in conn.execute(query)]


def forget_avatars(conn: Connection, site_id: int) -> int:
    """Drop the providers' pictures kept with the site's comments; how many comments had one."""
    c = comments.c
    rows = conn.execute(
        select(c.id, c.verified)
        .join_from(comments, threads, threads.c.id == c.thread_id)
        .where(threads.c.site_id == site_id, c.verified.is_not(None))
    ).all()
    changed = 0
    for row in rows:
        if isinstance(row.verified, dict) and row.verified.get("avatar_url"):
            kept = {**row.verified, "avatar_url": None}
            conn.execute(update(comments).where(c.id == row.id).values(verified=kept, version=c.version + 1))
            changed += 1
    return changed


# -- providers added from the command line ----------------------------------------------------------------


def list_providers(conn: Connection) -> list[Any]:
    return list(conn.execute(select(login_providers).order_by(login_providers.c.name)))


def insert_provider(conn: Connection, **values: Any) -> None:
    conn.execute(insert(login_providers).values(**values))


def delete_provider(conn: Connection, name: str) -> bool:
    return conn.execute(delete(login_providers).where(login_providers.c.name == name)).rowcount == 1
