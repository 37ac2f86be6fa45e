"""Comments: rows, pages of top-level comments and their replies, status and like counters."""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Float,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from rejoinder.model import (
    VISIBLE_STATUSES,
    Author,
    Comment,
    CommentKind,
    CommentStatus,
    PageKey,
    SortOrder,
    Thread,
    Verified,
)
from rejoinder.store.audience import Audience, audience_columns, audience_from_row
from rejoinder.store.db import Part, at_commit
from rejoinder.store.dialect import (
    on_psycopg,
    on_sqlite,
    padded,
    postgres_row,
    postgres_sql,
    sqlite_bind,
    sqlite_row,
    sqlite_sql,
)
from rejoinder.store.schema import comments, identities, sites, threads
from rejoinder.store.threads import thread_from_row

c = comments.c


@dataclass(frozen=True)
class StoredVerdict:
    """The spam filter's verdict as it is kept with a comment."""

    action: str
    score: float
    reasons: list[str]
    fingerprint: int | None
    purge_after: datetime | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "spam_action": self.action,
            "spam_score": self.score,
            "spam_reasons": self.reasons,
            "fingerprint": self.fingerprint,
            "purge_after": self.purge_after,
        }


# What a public read needs: no source text, e-mail, address or user agent leaves the database.
PUBLIC_COLUMNS = (
    c.id,
    c.thread_id,
    c.parent_id,
    c.root_id,
    c.author_name,
    c.author_website,
    c.html,
    c.status,
    c.created_at,
    c.edited_at,
    c.like_count,
    c.version,
    c.edited_by_moderator,
    c.pinned,
    c.verified,
)


# What readers are shown: visible statuses, and comments proper (imported pingbacks and trackbacks stay
# in the store, out of the thread). A held or spam comment with replies is fetched too: its replies stay
# visible under a placeholder (tree.build_tree), so the thread lists every comment its count counts.
_child = comments.alias("child")
_HAS_REPLIES = select(_child.c.id).where(_child.c.parent_id == c.id).exists()
_SHOWN = (
    or_(c.status.in_([s.value for s in VISIBLE_STATUSES]), _HAS_REPLIES),
    c.kind == CommentKind.COMMENT.value,
)


def _comment(row: Any) -> Comment:
    """A comment from a row of every column, or of ``PUBLIC_COLUMNS`` (the private fields then stay empty)."""
    fields = row._mapping

    def private(name: str, default: Any) -> Any:
        # A row of PUBLIC_COLUMNS lacks these: asked with ``in`` first, as a missing key costs the row an
        # exception (three quarters of this function's time, for every comment of a cold read).
        return fields[name] if name in fields else default  # noqa: SIM401 (that .get is the slow one)

    return Comment(
        id=row.id,
        thread_id=row.thread_id,
        parent_id=row.parent_id,
        root_id=row.root_id,
        author=Author(row.author_name, private("author_email", ""), row.author_website),
        body=private("body", ""),
        html=row.html,
        status=CommentStatus(row.status),
        created_at=row.created_at,
        edited_at=row.edited_at,
        likes=row.like_count,
        version=row.version,
        remote_addr=private("remote_addr", ""),
        user_agent=private("user_agent", ""),
        edited_by_moderator=bool(row.edited_by_moderator),
        pinned=bool(row.pinned),
        identity_id=private("identity_id", None),
        verified=Verified.from_json(private("verified", None)),
    )


def public_comment(row: Any) -> Comment:
    """A comment from a row of exactly ``PUBLIC_COLUMNS``, in their order: ``_comment`` without asking the row
    for the private fields one name at a time (half of a cold read's CPU went to making comments of rows)."""
    (id_, thread_id, parent_id, root_id, name, website, html, status, created_at, edited_at, likes, version,
     edited_by_moderator, pinned, verified) = row  # fmt: skip
    return Comment(
        id_,
        thread_id,
        parent_id,
        root_id,
        Author(name, "", website),
        "",
        html,
        CommentStatus(status),
        created_at,
        edited_at,
        likes,
        version=version,
        edited_by_moderator=bool(edited_by_moderator),
        pinned=bool(pinned),
        verified=Verified.from_json(verified),
    )


_GET_COMMENT = select(comments).where(c.id == bindparam("comment_id"))


def get_comment(conn: Connection, comment_id: int) -> Comment | None:
    row = conn.execute(_GET_COMMENT, {"comment_id": comment_id}).first()
    return _comment(row) if row else None


_GET_COMMENT_PLACED = (
    select(*PUBLIC_COLUMNS, threads.c.url.label("thread_url"), sites.c.key.label("site_key"))
    .join_from(comments, threads, threads.c.id == c.thread_id)
    .join(sites, sites.c.id == threads.c.site_id)
    .where(c.id == bindparam("comment_id"))
)


# SQLite: the same query straight through the driver (``on_sqlite``), its row read with the columns' own
# types: every like reads its comment this way, and SQLAlchemy's execution path cost three times the query.
_SQLITE_COMMENT_PLACED = str(_GET_COMMENT_PLACED.compile(dialect=sqlite.dialect()))
_SQLITE_PLACED_ROW = sqlite_row(list(_GET_COMMENT_PLACED.selected_columns))


def get_comment_placed(conn: Connection, comment_id: int) -> tuple[Comment, str, str] | None:
    """The comment's public fields with its thread's URL and its site's key, in one query."""
    if conn.dialect.name == "sqlite":
        found = on_sqlite(conn, _SQLITE_COMMENT_PLACED, (comment_id,))
        if not found:
            return None
        *public, thread_url, site_key = _SQLITE_PLACED_ROW(found[0])
        return public_comment(public), thread_url, site_key
    row = conn.execute(_GET_COMMENT_PLACED, {"comment_id": comment_id}).first()
    return (_comment(row), row.thread_url, row.site_key) if row else None


_INSERT_COMMENT = comments.insert().returning(comments.c.id)  # built once, run with each comment's values
# SQLite: the same insert straight through the driver (``on_sqlite``), every column named, each value bound
# as SQLAlchemy binds it and a column left out given its default (None: NULL), as SQLAlchemy would.
_NEW_COLUMNS = [column for column in comments.c if column.name != "id"]
_SQLITE_INSERT_COMMENT = sqlite_sql(
    comments.insert()
    .values({column.name: bindparam(column.name) for column in _NEW_COLUMNS})
    .returning(comments.c.id)
)
_SQLITE_COMMENT_BINDS = [(column.name, sqlite_bind(column)) for column in _NEW_COLUMNS]
_SQLITE_COMMENT_DEFAULTS = {
    column.name: sqlite_bind(column)(getattr(column.default, "arg", None))
    if column.default is not None
    else None
    for column in _NEW_COLUMNS
}


def _sqlite_comment_row(values: dict[str, Any]) -> dict[str, Any]:
    """A new comment's values as the driver takes them (``_SQLITE_INSERT_COMMENT``)."""
    return {
        name: bind(values[name]) if name in values else _SQLITE_COMMENT_DEFAULTS[name]
        for name, bind in _SQLITE_COMMENT_BINDS
    }


_INSERT_COMMENTS = comments.insert()  # rows whose ids were taken ahead (``look_up_new_comments``)


@dataclass(frozen=True)
class ReplyTarget:
    """What a reply needs of the comment it answers: where it is, whether it may be answered, and the root
    of its conversation."""

    id: int
    thread_id: int
    root_id: int | None
    status: CommentStatus


_REPLY_TARGET = select(c.id, c.thread_id, c.root_id, c.status).where(c.id == bindparam("comment_id"))


def reply_target(conn: Connection, comment_id: int) -> ReplyTarget | None:
    """The comment a reply answers, or None if there is none of that id."""
    row = conn.execute(_REPLY_TARGET, {"comment_id": comment_id}).first()
    return ReplyTarget(row.id, row.thread_id, row.root_id, CommentStatus(row.status)) if row else None


@dataclass(frozen=True)
class NewCommentAnswer:
    thread: Thread | None  # None: no thread for the URL yet
    email_taken: bool | None  # a verified reader holds the guest's address; None: not a guest's comment
    comment_id: int  # taken from the comments' sequence for this comment's row
    parent: ReplyTarget | None = None  # the comment it answers (``parent_id`` asked); None: none of that id
    # Who may hear of it after the commit, as the thread and the site stood at the lookup; None: not asked.
    audience: Audience | None = None


@dataclass
class NewCommentQuestion:
    """What a new comment reads before its insert, asked for a whole group commit at once
    (``look_up_new_comments``, a ``LookAhead`` of ``Database.transaction``)."""

    site_id: int
    url: str
    email: str | None  # a guest's address, lower-cased; None for a logged-in reader's comment
    parent_id: int | None = None  # the comment a reply answers
    answer: NewCommentAnswer | None = None

    def take(self) -> NewCommentAnswer | None:
        """The answer of this transaction's lookup, once: a piece of work run again in a transaction of
        its own is answered again, or asks on its own."""
        answer, self.answer = self.answer, None
        return answer


# On PostgreSQL, where each statement is a round trip that the whole batch waits for: every comment of a
# group commit gets its thread, the check of a guest's address and its id in one statement. The id lets
# the comment's row wait for the commit (``insert_comment``), inserted with the group's others at once.
_ASKED = (
    func.unnest(
        bindparam("site_ids", type_=postgresql.ARRAY(BigInteger)),
        bindparam("urls", type_=postgresql.ARRAY(Text)),
        bindparam("emails", type_=postgresql.ARRAY(Text)),
        bindparam("parent_ids", type_=postgresql.ARRAY(BigInteger)),
    )
    .table_valued(
        column("site_id", BigInteger),
        column("url", Text),
        column("email", Text),
        column("parent_id", BigInteger),
        with_ordinality="n",
    )
    .render_derived(name="asked")
)
_EMAIL_TAKEN = exists().where(identities.c.email == _ASKED.c.email, identities.c.email_verified.is_(True))
# A reply's parent is asked here too: a fifth of the shared harness's posts are replies, and a statement of
# its own made the batch a transaction of five round trips (BEGIN, the parent, COMMIT) instead of two.
_PARENT = comments.alias("parent")
# Built with SQLAlchemy's constructs, not as text: its result's columns are then worked out once, not at
# every run.
_LOOK_UP_NEW_COMMENTS = select(
    _ASKED.c.n,
    literal_column("nextval(pg_get_serial_sequence('comments', 'id'))", BigInteger).label("comment_id"),
    threads,
    and_(_ASKED.c.email.is_not(None), _EMAIL_TAKEN).label("email_taken"),
    _PARENT.c.id.label("parent_id"),
    _PARENT.c.thread_id.label("parent_thread_id"),
    _PARENT.c.root_id.label("parent_root_id"),
    _PARENT.c.status.label("parent_status"),
    # Asked here, not by the event bus after the commit: a comment nobody hears of then leaves the bus no
    # reads and no outbox row to mark delivered (``Audience``).
    *audience_columns(_ASKED.c.site_id, threads.c.id),
).select_from(
    _ASKED.outerjoin(
        threads, and_(threads.c.site_id == _ASKED.c.site_id, threads.c.url == _ASKED.c.url)
    ).outerjoin(_PARENT, _PARENT.c.id == _ASKED.c.parent_id)
)


# Sent to psycopg itself, prepared (``on_psycopg``): one a batch, and for a writer alone one a comment, whose
# execution through SQLAlchemy (its context, the result's machinery) cost more CPU than the statement's own
# work. Its rows read as SQLAlchemy reads them (times in UTC), by the names of its columns.
_PG_LOOK_UP_NEW_COMMENTS = postgres_sql(_LOOK_UP_NEW_COMMENTS)
_PG_LOOKED_UP = postgres_row(list(_LOOK_UP_NEW_COMMENTS.selected_columns))
_LookedUp = namedtuple(  # type: ignore[misc]  # its fields are the statement's columns
    "_LookedUp", [str(column.key) for column in _LOOK_UP_NEW_COMMENTS.selected_columns]
)


def look_up_new_comments(conn: Connection, questions: list[NewCommentQuestion]) -> None:
    """Answer every question in one statement on PostgreSQL; on SQLite, a library in the process where a
    statement costs no round trip, leave them unanswered (each comment asks on its own)."""
    if conn.dialect.name != "postgresql":
        return
    params = {
        "site_ids": [q.site_id for q in questions],
        "urls": [q.url for q in questions],
        "emails": [q.email for q in questions],
        "parent_ids": [q.parent_id for q in questions],
    }
    for values in on_psycopg(conn, _PG_LOOK_UP_NEW_COMMENTS, params).fetchall():
        row: Any = _LookedUp(*_PG_LOOKED_UP(values))
        question = questions[row.n - 1]
        thread = thread_from_row(row) if row.id is not None else None
        # Asked of the address whether the thread is there or not: a new thread's comment asks no more.
        taken = bool(row.email_taken) if question.email is not None else None
        parent = None
        if row.parent_id is not None:
            status = CommentStatus(row.parent_status)
            parent = ReplyTarget(row.parent_id, row.parent_thread_id, row.parent_root_id, status)
        question.answer = NewCommentAnswer(thread, taken, row.comment_id, parent, audience_from_row(row))


def _insert_comments(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The rows of a transaction's new comments, kept for the commit: one statement for each set of
    columns (a verdict's columns are there or not), which psycopg sends in one pipeline."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    for same in by_columns.values():
        conn.execute(_INSERT_COMMENTS, same)


# The same rows as one statement's part (``Part``): every row in one JSON parameter, so the statement is
# the same for any number of comments. JSON columns travel as their text, so the stored text is what
# SQLAlchemy's JSON type would have written (``null`` included, where a row has the key).
_JSON_COLUMNS = ("spam_reasons", "verified")
_DATETIME_COLUMNS = ("created_at", "edited_at", "purge_after")
_NEW_ROWS = (
    func.json_to_recordset(bindparam("new_comments", type_=JSON))
    .table_valued(
        *(
            column(name, BigInteger)
            for name in ("id", "thread_id", "parent_id", "root_id", "identity_id", "fingerprint")
        ),
        *(
            column(name, Text)
            for name in (
                "author_name",
                "author_email",
                "author_website",
                "body",
                "html",
                "status",
                "remote_addr",
                "user_agent",
                "spam_action",
                *_JSON_COLUMNS,
            )
        ),  # fmt: skip
        *(column(name, DateTime(timezone=True)) for name in _DATETIME_COLUMNS),
        column("like_count", Integer),
        column("version", Integer),
        column("spam_score", Float),
    )
    .render_derived(name="new_comments", with_types=True)
)
_INSERT_COMMENTS_AS_PART = insert(comments).from_select(
    [col.name for col in _NEW_ROWS.c],
    select(*(cast(col, JSON) if col.name in _JSON_COLUMNS else col for col in _NEW_ROWS.c)),
    include_defaults=False,
)


def _comments_as_part(_conn: Connection, rows: list[dict[str, Any]]) -> Part:
    """``_insert_comments`` as a part of the commit's one statement (PostgreSQL)."""
    return Part(_INSERT_COMMENTS_AS_PART, {"new_comments": [_json_row(row) for row in rows]})


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    as_json = dict(row)
    for name in _DATETIME_COLUMNS:
        if (when := row.get(name)) is not None:
            as_json[name] = when.astimezone(UTC).isoformat()
    for name in _JSON_COLUMNS:
        if name in row:
            as_json[name] = json.dumps(row[name])
    return as_json


def insert_comment(
    conn: Connection,
    *,
    thread_id: int,
    parent: Comment | ReplyTarget | None,
    author: Author,
    body: str,
    html: str,
    status: CommentStatus,
    now: datetime,
    remote_addr: str,
    user_agent: str,
    verdict: StoredVerdict | None = None,
    identity_id: int | None = None,
    verified: Verified | None = None,
    comment_id: int | None = None,
) -> Comment:
    """Insert a new comment. ``comment_id``: one taken ahead from the comments' sequence
    (``look_up_new_comments``); the row then waits for the commit, inserted in one statement with the rest
    of its group. Give one only if nothing later in the transaction reads or refers to the row."""
    root_id = None if parent is None else (parent.root_id or parent.id)
    values = {
        "thread_id": thread_id,
        "parent_id": parent.id if parent else None,
        "root_id": root_id,
        "author_name": author.name,
        "author_email": author.email,
        "author_website": author.website,
        "body": body,
        "html": html,
        "status": status.value,
        "created_at": now,
        "edited_at": None,
        "remote_addr": remote_addr,
        "user_agent": user_agent,
        "like_count": 0,
        "version": 1,
        "identity_id": identity_id,
        "verified": verified.as_json() if verified else None,
        **(verdict.columns() if verdict else {}),
    }
    if comment_id is None and conn.dialect.name == "sqlite":
        ((comment_id,),) = on_sqlite(conn, _SQLITE_INSERT_COMMENT, _sqlite_comment_row(values))
    elif comment_id is None:
        comment_id = conn.execute(_INSERT_COMMENT, values).scalar_one()
    elif (kept := at_commit(conn, _insert_comments, _comments_as_part)) is not None:
        kept.append({"id": comment_id, **values})
    else:
        conn.execute(_INSERT_COMMENTS, {"id": comment_id, **values})
    return Comment(
        id=comment_id,
        thread_id=thread_id,
        parent_id=parent.id if parent else None,
        root_id=root_id,
        author=author,
        body=body,
        html=html,
        status=status,
        created_at=now,
        edited_at=None,
        likes=0,
        remote_addr=remote_addr,
        user_agent=user_agent,
        identity_id=identity_id,
        verified=verified,
    )


def update_body(
    conn: Connection,
    comment_id: int,
    *,
    body: str,
    html: str,
    now: datetime,
    status: CommentStatus,
    verdict: StoredVerdict | None = None,
) -> None:
    conn.execute(
        update(comments)
        .where(c.id == comment_id)
        .values(
            body=body,
            html=html,
            edited_at=now,
            status=status.value,
            version=c.version + 1,
            **(verdict.columns() if verdict else {}),
        )
    )


def moderator_edit(conn: Connection, comment_id: int, *, body: str, html: str, now: datetime) -> None:
    """A moderator's change of the text: status and verdict stay; readers are told who edited it."""
    conn.execute(
        update(comments)
        .where(c.id == comment_id)
        .values(body=body, html=html, edited_at=now, edited_by_moderator=True, version=c.version + 1)
    )


def set_status(
    conn: Connection,
    comment_id: int,
    status: CommentStatus,
    *,
    moderated_at: datetime,
    purge_after: datetime | None = None,
) -> None:
    """A moderator's decision: the new status, when it was made, and when spam may be purged."""
    conn.execute(
        update(comments)
        .where(c.id == comment_id)
        .values(
            status=status.value, moderated_at=moderated_at, purge_after=purge_after, version=c.version + 1
        )
    )


def spam_fields(conn: Connection, comment_id: int) -> Any:
    """The stored verdict (spam_action, spam_score, spam_reasons) and fingerprint of a comment."""
    return conn.execute(
        select(c.spam_action, c.spam_score, c.spam_reasons, c.fingerprint).where(c.id == comment_id)
    ).first()


def mark_deleted(conn: Connection, comment_id: int) -> None:
    """Keep the row as a placeholder for its replies, but nothing the author wrote or sent."""
    conn.execute(
        update(comments)
        .where(c.id == comment_id)
        .values(
            status=CommentStatus.DELETED.value,
            body="",
            html="",
            author_name="",
            author_email="",
            author_website="",
            remote_addr="",
            user_agent="",
            identity_id=None,
            verified=None,
            version=c.version + 1,
        )
    )


def erase_expired_deleted(conn: Connection, now: datetime) -> int:
    """What moderators deleted is kept for their retention period (to be restored), then erased like an
    author's own deletion; the row stays as a placeholder."""
    expired = and_(c.status == CommentStatus.DELETED.value, c.purge_after < now)
    return conn.execute(
        update(comments)
        .where(expired)
        .values(
            body="", html="", author_name="", author_email="", author_website="", remote_addr="",
            user_agent="", purge_after=None, version=c.version + 1,
        )
    ).rowcount  # fmt: skip


_ADD_TO_LIKE_COUNT = (
    update(comments)
    .where(c.id == bindparam("comment_id"))
    .values(like_count=c.like_count + bindparam("delta"), version=c.version + 1)
    .returning(c.like_count, c.version)
)
_LIKE_COUNT = select(c.like_count).where(c.id == bindparam("comment_id"))


def add_to_like_count(conn: Connection, comment_id: int, delta: int) -> tuple[int, int]:
    """The comment's like count and version after adding ``delta``."""
    row = conn.execute(_ADD_TO_LIKE_COUNT, {"comment_id": comment_id, "delta": delta}).one()
    return row.like_count, row.version


def like_count(conn: Connection, comment_id: int) -> int:
    return conn.execute(_LIKE_COUNT, {"comment_id": comment_id}).scalar_one()


def _order(sort: SortOrder) -> list[ColumnElement[Any]]:
    if sort is SortOrder.NEWEST:
        return [c.created_at.desc(), c.id.desc()]
    if sort is SortOrder.TOP:
        return [c.like_count.desc(), c.created_at.asc(), c.id.asc()]
    return [c.created_at.asc(), c.id.asc()]


def _after(key: PageKey) -> ColumnElement[bool]:
    position = tuple_(c.created_at, c.id)
    if key.sort is SortOrder.NEWEST:
        return position < tuple_(key.created_at, key.id)
    if key.sort is SortOrder.TOP:
        return or_(
            c.like_count < key.likes, and_(c.like_count == key.likes, position > (key.created_at, key.id))
        )
    return position > tuple_(key.created_at, key.id)


def top_level_page(
    conn: Connection, thread_id: int, sort: SortOrder, after: PageKey | None, limit: int
) -> list[Comment]:
    """Up to ``limit`` visible top-level comments of a thread in ``sort`` order, after ``after``; pinned
    ones are not paged (``pinned_comments`` lists them above the first page)."""
    query = select(*PUBLIC_COLUMNS).where(
        c.thread_id == thread_id, c.root_id.is_(None), c.pinned.is_(False), *_SHOWN
    )
    if after is not None:
        query = query.where(_after(after))
    return [public_comment(row) for row in conn.execute(query.order_by(*_order(sort)).limit(limit))]


def pinned_comments(conn: Connection, thread_id: int) -> list[Comment]:
    """The thread's pinned top-level comments, oldest first."""
    query = select(*PUBLIC_COLUMNS).where(
        c.thread_id == thread_id, c.root_id.is_(None), c.pinned.is_(True), *_SHOWN
    )
    return [public_comment(row) for row in conn.execute(query.order_by(c.created_at, c.id))]


def set_pinned(conn: Connection, comment_id: int, pinned: bool) -> None:
    conn.execute(update(comments).where(c.id == comment_id).values(pinned=pinned, version=c.version + 1))


def replies_under(conn: Connection, root_ids: Sequence[int]) -> list[Comment]:
    """Every visible reply, at any depth, below the given top-level comments, oldest first."""
    if not root_ids:
        return []
    shown = (c.root_id.in_(padded(root_ids)), *_SHOWN)
    query = select(*PUBLIC_COLUMNS).where(*shown).order_by(c.created_at, c.id)
    return [public_comment(row) for row in conn.execute(query)]


# Built once: a thread's first read runs it, and building the statement again costs as much as running it
# for a small thread.
_VISIBLE_COMMENTS = (
    select(*PUBLIC_COLUMNS).where(c.thread_id == bindparam("thread_id"), *_SHOWN).order_by(c.created_at, c.id)
)


def visible_comments(conn: Connection, thread_id: int) -> list[Comment]:
    """Every visible comment of a thread, oldest first."""
    return [public_comment(row) for row in conn.execute(_VISIBLE_COMMENTS, {"thread_id": thread_id})]
