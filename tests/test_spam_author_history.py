"""An author's history as the spam filter counts it (``store.spam.author_history``): the comments that vouch
for them and those a moderator marked as spam, by address or by a verified reader's identity, counted from
ranges of an index, so a busy author's recent comments are not read again for each new one. Both backends."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event, insert

from rejoinder.context import Context
from rejoinder.model import CommentStatus
from rejoinder.sites import create_site
from rejoinder.store import identity as identity_store
from rejoinder.store import spam as store
from rejoinder.store import threads as thread_store
from rejoinder.store.schema import comments
from tests.helpers import heard_on_psycopg

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
STOOD_BEFORE = NOW - timedelta(days=3)
ADA, BOB = "ada@example.org", "bob@example.org"
HISTORY_INDEXES = {
    "ix_comments_author_email_status_moderated_at_created_at",
    "ix_comments_identity_id_status_moderated_at_created_at",
}


def counts_by_rule(rows: list[dict[str, Any]], site_id: int, excluded: int = 0) -> tuple[int, int]:
    """The history by its definition: published comments a moderator approved or that stood since
    ``STOOD_BEFORE``, and spam a moderator marked."""
    mine = [row for row in rows if row["site_id"] == site_id and row["id"] != excluded]
    approved = sum(
        row["status"] == "published"
        and (row["moderated_at"] is not None or row["created_at"] <= STOOD_BEFORE)
        for row in mine
    )
    spammed = sum(row["status"] == "spam" and row["moderated_at"] is not None for row in mine)
    return approved, spammed


def every_kind_of_comment(ctx: Context) -> tuple[list[dict[str, Any]], int, int]:
    """A comment of every status, moderated or not, old or new, on two sites, by two authors, one of them
    a verified reader on some: the rows as inserted, the first site's id and the identity's."""
    first = create_site(ctx, "first", "First")
    second = create_site(ctx, "second", "Second")
    rows: list[dict[str, Any]] = []
    with ctx.db.write() as conn:
        reader = identity_store.upsert_identity(
            conn,
            provider="hub",
            subject="ada",
            name="Ada",
            email=ADA,
            email_verified=True,
            profile_url=None,
            avatar_url=None,
            now=NOW,
        )
        threads = {}
        for site in (first, second):
            url = f"https://{site.key}.example/a"
            threads[site.id] = thread_store.get_or_create_thread(conn, site.id, url, "", NOW).id
        kinds = itertools.product(
            [CommentStatus.PUBLISHED, CommentStatus.PENDING, CommentStatus.SPAM],
            [None, NOW - timedelta(hours=1)],  # moderated_at
            [NOW - timedelta(days=10), STOOD_BEFORE, NOW - timedelta(hours=2)],  # created_at
            threads.items(),
            [(ADA, None), (ADA, reader.id), (BOB, None), (BOB, reader.id)],
        )
        for status, moderated_at, created_at, (site_id, thread_id), (email, identity_id) in kinds:
            values = {
                "thread_id": thread_id,
                "author_email": email,
                "identity_id": identity_id,
                "body": "text",
                "html": "<p>text</p>",
                "status": status.value,
                "created_at": created_at,
                "moderated_at": moderated_at,
            }
            comment_id = conn.execute(insert(comments).values(values).returning(comments.c.id)).scalar_one()
            rows.append({**values, "id": comment_id, "site_id": site_id})
    return rows, first.id, reader.id


def test_the_history_counts_what_vouches_for_an_author_and_what_a_moderator_marked(ctx: Context) -> None:
    rows, site_id, reader_id = every_kind_of_comment(ctx)
    by_ada = [row for row in rows if row["author_email"] == ADA]
    by_reader = [row for row in rows if row["identity_id"] == reader_id]
    counted = by_ada[0]["id"] if by_ada[0]["status"] == "published" else 0
    assert counted, "the first comment is published and old: it counts"
    with ctx.db.read() as conn:
        assert counts_by_rule(by_ada, site_id) == (10, 6)
        assert store.author_history(conn, site_id, ADA, STOOD_BEFORE) == (10, 6)
        assert store.author_history(conn, site_id, ADA, STOOD_BEFORE, excluded=counted) == (9, 6)
        by_identity = store.author_history(conn, site_id, "", STOOD_BEFORE, identity_id=reader_id)
        assert by_identity == counts_by_rule(by_reader, site_id) == (10, 6)
        assert store.author_history(conn, site_id, "nobody@example.org", STOOD_BEFORE) == (0, 0)
        assert store.author_history(conn, site_id, "", STOOD_BEFORE) == (0, 0)
        # As the first-comment rule asks: every published comment that stood until now.
        assert store.author_history(conn, site_id, ADA, NOW) == counts_by_rule_until_now(by_ada, site_id)


def counts_by_rule_until_now(rows: list[dict[str, Any]], site_id: int) -> tuple[int, int]:
    mine = [row for row in rows if row["site_id"] == site_id]
    return sum(row["status"] == "published" for row in mine), sum(
        row["status"] == "spam" and row["moderated_at"] is not None for row in mine
    )


def others_comments(conn: Connection, count: int = 20_000) -> None:
    """``count`` comments by 1,000 other authors in the first thread, a third of each status, half of them
    moderated, over the last two weeks."""
    conn.exec_driver_sql(
        "INSERT INTO comments (thread_id, author_email, body, html, status, created_at, moderated_at,"
        " author_name, author_website, remote_addr, user_agent, like_count, version)"
        " SELECT (SELECT min(id) FROM threads), 'other' || mod(n, 1000) || '@example.org', 'text',"
        " '<p>text</p>', (ARRAY['published', 'pending', 'spam'])[mod(n, 3) + 1],"
        " %(now)s - n * interval '1 minute', CASE WHEN mod(n, 2) = 0 THEN %(now)s END, '', '', '', '', 0, 1"
        " FROM generate_series(1, %(count)s) AS n",
        {"now": NOW, "count": count},
    )


@contextmanager
def plans(conn: Connection) -> Iterator[list[str]]:
    """The database's plan of each statement run on ``conn`` meanwhile (which still runs)."""
    found: list[str] = []
    sqlite = conn.dialect.name == "sqlite"

    def explain(conn: Connection, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if cursor is None:  # a statement sent to SQLite's driver itself (``on_sqlite``)
            cursor = conn.connection.driver_connection.cursor()
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
        found.append("\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall()))

    event.listen(conn, "before_cursor_execute", explain)
    try:
        with heard_on_psycopg(explain):
            yield found
    finally:
        event.remove(conn, "before_cursor_execute", explain)


def test_the_history_is_read_from_the_index_not_from_the_authors_comments(ctx: Context) -> None:
    _, site_id, reader_id = every_kind_of_comment(ctx)
    with ctx.db.write() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if not sqlite:
            # As on a busy site: many comments by other authors, of every status, around the two authors'
            # few; then the rows counted, as autovacuum would. A table of a few dozen rows is read whole,
            # or by whichever index the planner meets first.
            others_comments(conn)
            conn.exec_driver_sql("ANALYZE comments")
        with plans(conn) as found:
            store.author_history(conn, site_id, ADA, STOOD_BEFORE)
            store.author_history(conn, site_id, "", STOOD_BEFORE, identity_id=reader_id)
    for plan, index in zip(found, sorted(HISTORY_INDEXES), strict=True):
        # Each of the three kinds of comment that count is a range of the index, moderation included.
        assert plan.count(index) == 3, plan
        assert "moderated_at" in plan or sqlite, plan
