"""What the spam filter keeps: used tokens, each site's learned weights and training log, domain counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    union_all,
    update,
)

from rejoinder.model import CommentStatus
from rejoinder.store.dialect import (
    insert_ignore_by_dialect,
    on_psycopg,
    on_sqlite,
    postgres_bind,
    postgres_sql,
    sqlite_bind,
    sqlite_sql,
    upsert_add,
    upsert_add_many,
)
from rejoinder.store.schema import (
    comments,
    spam_domains,
    spam_models,
    spam_training,
    spam_weights,
    threads,
    used_tokens,
)


def _author_history(by_author: Any) -> Any:
    """The author's comments that count for (published) or against (spam) them, by status; a status may
    come in two rows, to be added up.

    Spam counts against its author only when a moderator said so: a wrong verdict of the filter must not
    follow the same reader to their next comment. And a published comment vouches only once a moderator
    approved it or it stood unreported for days: five harmless posts in a row must not buy a sixth, spammy
    one its way past the filter. Each of the three kinds that count is a range of the index on
    (author, status, moderated_at, created_at), so the query reads the comments it counts and no others:
    not the author's recent ones, which a busy commenter's every comment would otherwise read again."""
    # Constants in the statement's text, not bound: its SQLite spelling then takes only the named parameters.
    published = comments.c.status == literal_column(f"'{CommentStatus.PUBLISHED.value}'")
    spam = comments.c.status == literal_column(f"'{CommentStatus.SPAM.value}'")
    moderated, unmoderated = comments.c.moderated_at.is_not(None), comments.c.moderated_at.is_(None)
    kinds = (
        (published, moderated),
        (published, unmoderated, comments.c.created_at <= bindparam("stood_before")),
        (spam, moderated),
    )
    return union_all(
        *(
            select(comments.c.status, func.count())
            .select_from(comments.join(threads, threads.c.id == comments.c.thread_id))
            .where(
                by_author,
                *kind,
                threads.c.site_id == bindparam("site_id"),
                comments.c.id != bindparam("excluded"),
            )
            .group_by(comments.c.status)
            for kind in kinds
        )
    )


# Built once: the filter asks these on every comment, and building a statement costs more than running it.
_AUTHOR_HISTORY = _author_history(comments.c.author_email == bindparam("email"))
# A verified reader's history is their identity's, whatever address their comments carry.
_IDENTITY_HISTORY = _author_history(comments.c.identity_id == bindparam("identity_id"))
_DOMAIN_MARKS = select(spam_domains.c.domain, spam_domains.c.spam, spam_domains.c.ham).where(
    and_(
        spam_domains.c.site_id == bindparam("site_id"),
        spam_domains.c.domain.in_(bindparam("domains", expanding=True)),
    )
)
_MODEL_VERSION = select(spam_models.c.version).where(spam_models.c.site_id == bindparam("site_id"))


# Per dialect (``insert_ignore_by_dialect``), as ``_ADD_LIKE`` in likes.py. RETURNING, not rowcount: psycopg
# reports -1 for an INSERT … ON CONFLICT DO NOTHING.
_USE_TOKEN = {
    name: statement.values(digest=bindparam("digest"), expires_at=bindparam("expires_at")).returning(
        used_tokens.c.digest
    )
    for name, statement in insert_ignore_by_dialect(used_tokens).items()
}


@dataclass(frozen=True)
class _VerdictStatements:
    """A verdict's statements compiled once for one driver, and how it binds the times they take.

    SQLite: straight through the driver (``on_sqlite``), as a like's: every post asks them, and SQLAlchemy's
    execution path (an execution context, each parameter processed, a result object) cost several times
    the database's own work. PostgreSQL: the same through psycopg, prepared (``on_psycopg``), for the same
    reason. The same statements, compiled once, named parameters."""

    use_token: str
    model_version: str
    author_history: str
    identity_history: str
    expires: Callable[[Any], Any]
    created: Callable[[Any], Any]


def _verdict_statements(
    dialect: str, sql: Callable[[Any], str], bind: Callable[[Any], Callable[[Any], Any]]
) -> _VerdictStatements:
    return _VerdictStatements(
        use_token=sql(_USE_TOKEN[dialect]),
        model_version=sql(_MODEL_VERSION),
        author_history=sql(_AUTHOR_HISTORY),
        identity_history=sql(_IDENTITY_HISTORY),
        expires=bind(used_tokens.c.expires_at),
        created=bind(comments.c.created_at),
    )


_ON_SQLITE = _verdict_statements("sqlite", sqlite_sql, sqlite_bind)
_ON_PG = _verdict_statements("postgresql", postgres_sql, postgres_bind)


def use_token(conn: Connection, digest: str, expires_at: datetime) -> bool:
    """Mark a single-use token as used; False if it had been used already."""
    if conn.dialect.name == "sqlite":
        values = {"digest": digest, "expires_at": _ON_SQLITE.expires(expires_at)}
        return bool(on_sqlite(conn, _ON_SQLITE.use_token, values))
    values = {"digest": digest, "expires_at": _ON_PG.expires(expires_at)}
    return on_psycopg(conn, _ON_PG.use_token, values).fetchone() is not None


def forget_expired_tokens(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(used_tokens).where(used_tokens.c.expires_at < now)).rowcount


def model_version(conn: Connection, site_id: int) -> int:
    if conn.dialect.name == "sqlite":
        found = on_sqlite(conn, _ON_SQLITE.model_version, {"site_id": site_id})
    else:
        found = on_psycopg(conn, _ON_PG.model_version, {"site_id": site_id}).fetchall()
    return int(found[0][0] or 0) if found else 0


_SITE_WEIGHTS = select(spam_weights.c.feature, spam_weights.c.weight).where(
    spam_weights.c.site_id == bindparam("site_id")
)
_SOME_WEIGHTS = _SITE_WEIGHTS.where(spam_weights.c.feature.in_(bindparam("features", expanding=True)))


_NEWER_WEIGHTS = _SITE_WEIGHTS.where(spam_weights.c.version > bindparam("version"))


def site_weights(conn: Connection, site_id: int, features: Iterable[int] | None = None) -> dict[int, float]:
    """The site's learned weights and counts: all of them, or only those of ``features``."""
    if features is None:
        rows = conn.execute(_SITE_WEIGHTS, {"site_id": site_id})
    else:
        rows = conn.execute(_SOME_WEIGHTS, {"site_id": site_id, "features": sorted(set(features))})
    return {int(feature): float(weight) for feature, weight in rows}


def weights_changed_since(conn: Connection, site_id: int, version: int) -> dict[int, float]:
    """The current value of every weight or count that a model version after ``version`` changed."""
    rows = conn.execute(_NEWER_WEIGHTS, {"site_id": site_id, "version": version})
    return {int(feature): float(weight) for feature, weight in rows}


def add_weights(conn: Connection, site_id: int, delta: Mapping[int, float], examples: int) -> None:
    """Add a learned delta to the site's weights and bump its model version in the same transaction.

    The version is bumped first: its row lock makes concurrent lessons for a site take turns, so
    versions follow commit order, and every changed weight is stamped with the version that changed it.
    """
    upsert_add(conn, spam_models, {"site_id": site_id}, "version", 1)
    conn.execute(
        update(spam_models)
        .where(spam_models.c.site_id == site_id)
        .values(examples=spam_models.c.examples + examples)
    )
    version = model_version(conn, site_id)
    rows = [
        {"site_id": site_id, "feature": f, "weight": amount, "version": version}
        for f, amount in delta.items()
        if amount
    ]
    upsert_add_many(conn, spam_weights, ["site_id", "feature"], "weight", rows, replace=["version"])


def training_record(conn: Connection, site_id: int, item_key: str) -> Any:
    """The (is_spam, delta, domains, score, weak) row of a taught item, or None."""
    return conn.execute(
        select(
            spam_training.c.is_spam,
            spam_training.c.delta,
            spam_training.c.domains,
            spam_training.c.score,
            spam_training.c.weak,
        ).where(and_(spam_training.c.site_id == site_id, spam_training.c.item_key == item_key))
    ).first()


def put_training_record(
    conn: Connection,
    site_id: int,
    item_key: str,
    *,
    is_spam: bool,
    delta: Mapping[int, float],
    domains: list[str],
    now: datetime,
    score: float | None = None,
    weak: bool = False,
) -> None:
    drop_training_record(conn, site_id, item_key)
    conn.execute(
        spam_training.insert().values(
            site_id=site_id,
            item_key=item_key,
            is_spam=is_spam,
            delta={str(k): v for k, v in delta.items()},
            domains=domains,
            created_at=now,
            score=score,
            weak=weak,
        )
    )


def decision_scores(conn: Connection, site_id: int, limit: int) -> list[tuple[float, bool, bool]]:
    """``(score, is_spam, weak)`` of the site's latest ``limit`` decided items that had been given a score
    (weak: a comment that stood unreported, not a moderator's decision)."""
    rows = conn.execute(
        select(spam_training.c.score, spam_training.c.is_spam, spam_training.c.weak)
        .where(and_(spam_training.c.site_id == site_id, spam_training.c.score.is_not(None)))
        .order_by(spam_training.c.created_at.desc())
        .limit(limit)
    )
    return [(float(score), bool(is_spam), bool(weak)) for score, is_spam, weak in rows]


def standing_comments(
    conn: Connection, site_id: int, *, stood_before: datetime, since: datetime, limit: int
) -> list[Any]:
    """The site's published comments posted between ``since`` and ``stood_before`` that no moderator acted
    on and the filter has not learned from yet (no ``comment:<id>`` lesson), oldest first: what stood
    unreported long enough to count as weak ham. Rows carry the comment's id, text, author, client,
    score and thread URL."""
    lesson = select(spam_training.c.item_key).where(
        and_(
            spam_training.c.site_id == site_id,
            spam_training.c.item_key == literal("comment:") + cast(comments.c.id, String),
        )
    )
    return list(
        conn.execute(
            select(
                comments.c.id,
                comments.c.body,
                comments.c.author_name,
                comments.c.author_email,
                comments.c.author_website,
                comments.c.remote_addr,
                comments.c.user_agent,
                comments.c.spam_score,
                threads.c.url,
            )
            .select_from(comments.join(threads, threads.c.id == comments.c.thread_id))
            .where(
                and_(
                    threads.c.site_id == site_id,
                    comments.c.status == CommentStatus.PUBLISHED.value,
                    comments.c.kind == "comment",
                    comments.c.moderated_at.is_(None),
                    comments.c.created_at <= stood_before,
                    comments.c.created_at >= since,
                    ~exists(lesson),
                )
            )
            .order_by(comments.c.id)
            .limit(limit)
        )
    )


def drop_training_record(conn: Connection, site_id: int, item_key: str) -> None:
    conn.execute(
        delete(spam_training).where(
            and_(spam_training.c.site_id == site_id, spam_training.c.item_key == item_key)
        )
    )


def domain_marks(conn: Connection, site_id: int, domains: Iterable[str]) -> dict[str, tuple[int, int]]:
    wanted = list(domains)
    if not wanted:
        return {}
    rows = conn.execute(_DOMAIN_MARKS, {"site_id": site_id, "domains": wanted})
    return {domain: (spam, ham) for domain, spam, ham in rows}


def add_domain_marks(
    conn: Connection, site_id: int, domains: Iterable[str], column: str, amount: int
) -> None:
    for domain in domains:
        upsert_add(conn, spam_domains, {"site_id": site_id, "domain": domain[:255]}, column, amount)


def author_history(
    conn: Connection,
    site_id: int,
    email: str,
    stood_before: datetime,
    excluded: int = 0,
    identity_id: int | None = None,
) -> tuple[int, int]:
    """(approved, marked as spam by a moderator) comments by ``email`` (or by the verified reader
    ``identity_id``) on the site, but ``excluded``.

    Approved: published by a moderator's decision, or published and standing since ``stood_before``
    without one (no moderator took it down)."""
    if not email and identity_id is None:
        return 0, 0
    on = _ON_SQLITE if conn.dialect.name == "sqlite" else _ON_PG
    params = {"site_id": site_id, "excluded": excluded, "stood_before": on.created(stood_before)}
    if identity_id is not None:
        statement, params = on.identity_history, {**params, "identity_id": identity_id}
    else:
        statement, params = on.author_history, {**params, "email": email}
    rows: Iterable[Any]
    if on is _ON_SQLITE:
        rows = on_sqlite(conn, statement, params)
    else:
        rows = on_psycopg(conn, statement, params).fetchall()
    counts = dict.fromkeys((CommentStatus.PUBLISHED.value, CommentStatus.SPAM.value), 0)
    for status, n in rows:
        counts[str(status)] += int(n)
    return counts[CommentStatus.PUBLISHED.value], counts[CommentStatus.SPAM.value]


def recent_fingerprints(conn: Connection, site_id: int, since: datetime, limit: int) -> list[Any]:
    """(fingerprint, comment id, thread id, status) of the site's recent comments, oldest first."""
    rows = conn.execute(
        select(comments.c.fingerprint, comments.c.id, comments.c.thread_id, comments.c.status)
        .select_from(comments.join(threads, threads.c.id == comments.c.thread_id))
        .where(
            and_(
                threads.c.site_id == site_id,
                comments.c.created_at >= since,
                comments.c.fingerprint.is_not(None),
            )
        )
        .order_by(comments.c.id.desc())
        .limit(limit)
    ).all()
    return list(rows[::-1])


def purge_discarded(conn: Connection, now: datetime) -> int:
    """Delete spam whose retention period is over. Spam with replies (a published comment a moderator
    marked later) stays: deleting it would take readers' replies with it."""
    replies = comments.alias("replies")
    has_replies = select(replies.c.id).where(replies.c.parent_id == comments.c.id).exists()
    return conn.execute(
        delete(comments).where(
            and_(comments.c.status == CommentStatus.SPAM, comments.c.purge_after < now, ~has_replies)
        )
    ).rowcount
