"""Moderator accounts, their roles on sites and their login sessions (only hashes of session tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from rejoinder.model import Moderator, Role
from rejoinder.store.schema import moderator_roles, moderator_sessions, moderators, sites

m = moderators.c
r = moderator_roles.c
s = moderator_sessions.c


@dataclass(frozen=True)
class Credentials:
    """What checking a login needs; never leaves the services."""

    moderator_id: int
    password_hash: str
    totp_secret: str | None
    recovery_codes: list[str]  # SHA-256 of each unused code


@dataclass(frozen=True)
class Session:
    id: int
    moderator_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    remote_addr: str


def insert_moderator(conn: Connection, *, email: str, password_hash: str, now: datetime) -> int:
    return conn.execute(
        moderators.insert()
        .values(email=email, password_hash=password_hash, totp_secret=None, recovery_codes=[], created_at=now)
        .returning(m.id)
    ).scalar_one()


def moderator_id_of(conn: Connection, email: str) -> int | None:
    return conn.execute(select(m.id).where(m.email == email)).scalar_one_or_none()


def get_moderator(conn: Connection, moderator_id: int) -> Moderator | None:
    row = conn.execute(select(m.id, m.email, m.totp_secret).where(m.id == moderator_id)).first()
    if row is None:
        return None
    return Moderator(
        id=row.id,
        email=row.email,
        roles=_roles(conn, [row.id]).get(row.id, {}),
        totp=row.totp_secret is not None,
        actor=f"user:{row.email}",
    )


def list_moderators(conn: Connection, site_id: int | None = None) -> list[Moderator]:
    query = select(m.id, m.email, m.totp_secret).order_by(m.email)
    if site_id is not None:
        query = query.where(m.id.in_(select(r.moderator_id).where(r.site_id == site_id)))
    rows = conn.execute(query).all()
    roles = _roles(conn, [row.id for row in rows])
    return [
        Moderator(
            id=row.id,
            email=row.email,
            roles=roles.get(row.id, {}),
            totp=row.totp_secret is not None,
            actor=f"user:{row.email}",
        )
        for row in rows
    ]


def _roles(conn: Connection, moderator_ids: list[int]) -> dict[int, dict[str, Role]]:
    found: dict[int, dict[str, Role]] = {}
    if not moderator_ids:
        return found
    query = (
        select(r.moderator_id, sites.c.key, r.role)
        .join_from(moderator_roles, sites, sites.c.id == r.site_id)
        .where(r.moderator_id.in_(moderator_ids))
    )
    for row in conn.execute(query):
        found.setdefault(row.moderator_id, {})[row.key] = Role(row.role)
    return found


def credentials(conn: Connection, email: str) -> Credentials | None:
    row = conn.execute(
        select(m.id, m.password_hash, m.totp_secret, m.recovery_codes).where(m.email == email)
    ).first()
    return _credentials(row) if row else None


def credentials_by_id(conn: Connection, moderator_id: int) -> Credentials | None:
    row = conn.execute(
        select(m.id, m.password_hash, m.totp_secret, m.recovery_codes).where(m.id == moderator_id)
    ).first()
    return _credentials(row) if row else None


def _credentials(row: Any) -> Credentials:
    return Credentials(row.id, row.password_hash, row.totp_secret, list(row.recovery_codes or []))


def set_password(conn: Connection, moderator_id: int, password_hash: str) -> None:
    conn.execute(update(moderators).where(m.id == moderator_id).values(password_hash=password_hash))


def set_second_factor(
    conn: Connection, moderator_id: int, totp_secret: str | None, recovery_codes: list[str]
) -> None:
    conn.execute(
        update(moderators)
        .where(m.id == moderator_id)
        .values(totp_secret=totp_secret, recovery_codes=recovery_codes)
    )


def use_recovery_code(conn: Connection, moderator_id: int, code_hash: str) -> bool:
    """Strike a recovery code off; False if it was not one of the unused ones."""
    found = credentials_by_id(conn, moderator_id)
    if found is None or code_hash not in found.recovery_codes:
        return False
    left = [code for code in found.recovery_codes if code != code_hash]
    conn.execute(update(moderators).where(m.id == moderator_id).values(recovery_codes=left))
    return True


def set_role(conn: Connection, moderator_id: int, site_id: int, role: Role) -> None:
    conn.execute(delete(moderator_roles).where(r.moderator_id == moderator_id, r.site_id == site_id))
    conn.execute(moderator_roles.insert().values(moderator_id=moderator_id, site_id=site_id, role=role.value))


def remove_role(conn: Connection, moderator_id: int, site_id: int) -> bool:
    result = conn.execute(delete(moderator_roles).where(r.moderator_id == moderator_id, r.site_id == site_id))
    return result.rowcount > 0


def delete_moderator(conn: Connection, moderator_id: int) -> None:
    # Foreign keys cascade on both backends (SQLite has them on): roles, sessions and tokens go with it.
    conn.execute(delete(moderators).where(m.id == moderator_id))


def insert_session(
    conn: Connection,
    *,
    moderator_id: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    user_agent: str,
    remote_addr: str,
) -> int:
    return conn.execute(
        moderator_sessions.insert()
        .values(
            moderator_id=moderator_id,
            token_hash=token_hash,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            user_agent=user_agent,
            remote_addr=remote_addr,
        )
        .returning(s.id)
    ).scalar_one()


_SESSION_COLUMNS = (
    s.id,
    s.moderator_id,
    s.created_at,
    s.last_seen_at,
    s.expires_at,
    s.user_agent,
    s.remote_addr,
)


def _session(row: Any) -> Session:
    return Session(
        row.id, row.moderator_id, row.created_at, row.last_seen_at, row.expires_at, row.user_agent,
        row.remote_addr,
    )  # fmt: skip


def find_session(conn: Connection, token_hash: str) -> Session | None:
    row = conn.execute(select(*_SESSION_COLUMNS).where(s.token_hash == token_hash)).first()
    return _session(row) if row else None


def list_sessions(conn: Connection, moderator_id: int) -> list[Session]:
    query = select(*_SESSION_COLUMNS).where(s.moderator_id == moderator_id).order_by(s.last_seen_at.desc())
    return [_session(row) for row in conn.execute(query)]


def touch_session(conn: Connection, session_id: int, now: datetime) -> None:
    conn.execute(update(moderator_sessions).where(s.id == session_id).values(last_seen_at=now))


def delete_session(conn: Connection, moderator_id: int, session_id: int) -> bool:
    result = conn.execute(
        delete(moderator_sessions).where(s.id == session_id, s.moderator_id == moderator_id)
    )
    return result.rowcount > 0


def delete_sessions(conn: Connection, moderator_id: int) -> int:
    return conn.execute(delete(moderator_sessions).where(s.moderator_id == moderator_id)).rowcount


def delete_expired_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(moderator_sessions).where(s.expires_at < now)).rowcount
