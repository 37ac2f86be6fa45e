"""What a like or a new comment reads and writes straight through the driver (``store/dialect.py``:
``on_sqlite``, ``on_psycopg``) is what SQLAlchemy would read and write: the comment with its place, the
outbox rows, a new comment's thread and its row. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from rejoinder.context import Context
from rejoinder.model import Author, CommentStatus, Verified
from rejoinder.sites import create_site
from rejoinder.store import comments as comments_store
from rejoinder.store import outbox, threads
from rejoinder.store.comments import _GET_COMMENT_PLACED, StoredVerdict, _comment, get_comment_placed
from rejoinder.store.dialect import on_sqlite
from rejoinder.store.schema import comments
from rejoinder.store.schema import outbox as outbox_table
from rejoinder.store.schema import threads as threads_table
from tests.conftest import SITE_ORIGIN
from tests.helpers import post


async def test_a_comment_placed_reads_as_sqlalchemy_reads_it(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    plain = (await post(client, "plain"))["comment"]["id"]
    dressed = (await post(client, "edited, pinned, by a verified reader"))["comment"]["id"]
    verified = {"provider": "github", "provider_name": "GitHub", "profile_url": "https://github.com/ada"}
    edited_at = datetime(2026, 12, 4, 21, 30, 15, 123456, tzinfo=UTC)
    with ctx.db.write() as conn:
        conn.execute(
            update(comments)
            .where(comments.c.id == dressed)
            .values(verified=verified, edited_at=edited_at, pinned=True, edited_by_moderator=True)
            .values(like_count=3)
        )
    with ctx.db.read() as conn:
        for comment_id in (plain, dressed):
            row = conn.execute(_GET_COMMENT_PLACED, {"comment_id": comment_id}).one()
            assert get_comment_placed(conn, comment_id) == (_comment(row), row.thread_url, row.site_key)
        assert get_comment_placed(conn, dressed + 1000) is None
        found = get_comment_placed(conn, dressed)
    assert found is not None
    comment, _, site_key = found
    assert site_key == site
    assert comment.edited_at == edited_at and comment.created_at.tzinfo is UTC
    assert comment.pinned and comment.edited_by_moderator and comment.likes == 3
    assert comment.verified is not None and comment.verified.profile_url == "https://github.com/ada"


def test_outbox_rows_read_back_as_written_in_their_order(ctx: Context) -> None:
    now = datetime(2026, 12, 4, 22, 0, 1, 654321, tzinfo=UTC)
    entries = [
        ("ThreadChanged", {"thread_url": f"https://blog.example/{n}", "n": n, "text": "Grüße ✓"}, n % 2 == 0)
        for n in range(7)
    ]
    later = now + timedelta(seconds=1)
    with ctx.db.write() as conn:
        alone = outbox.add(conn, "CachesOutdated", {"reason": "a test"}, now, delivered=False)
        ids = outbox.add_many(conn, entries, later)
    assert alone < ids[0] and ids == sorted(ids) and len(set(ids)) == len(entries)
    with ctx.db.read() as conn:
        rows = conn.execute(select(outbox_table).where(outbox_table.c.id >= alone).order_by("id")).all()
    assert [(r.id, r.topic, r.payload, r.created_at, r.delivered_at) for r in rows] == [
        (alone, "CachesOutdated", {"reason": "a test"}, now, None),
        *(
            (event_id, topic, payload, later, later if sent else None)
            for event_id, (topic, payload, sent) in zip(ids, entries, strict=True)
        ),
    ]


def test_a_driver_error_on_sqlite_is_raised_as_sqlalchemys(ctx: Context) -> None:
    if ctx.db.backend != "sqlite":
        pytest.skip("on_sqlite is SQLite's")
    with ctx.db.write() as conn:
        with pytest.raises(DBAPIError):
            on_sqlite(conn, "INSERT INTO no_such_table VALUES (?)", (1,))
        assert on_sqlite(conn, "SELECT ? + 1", (1,)) == [(2,)]
        conn.execute(text("SELECT 1"))  # the transaction is still usable


def raw_row(conn: Connection, table: str, row_id: int) -> dict[str, Any]:
    """A row as the database holds it, every column but its id."""
    found = conn.exec_driver_sql(f"SELECT * FROM {table} WHERE id = {int(row_id)}").mappings().one()
    return {name: value for name, value in found.items() if name != "id"}


def test_a_new_thread_and_a_guests_question_read_as_sqlalchemy_reads_them(ctx: Context) -> None:
    site = create_site(ctx, "rows", "Rows", [SITE_ORIGIN], spam_filter=False)
    sqlite = ctx.db.backend == "sqlite"
    made_at = datetime(2026, 12, 6, 16, 30, 0, 250000, tzinfo=UTC)
    with ctx.db.write() as conn:
        # No thread yet: SQLite answers the address's question all the same, PostgreSQL leaves it.
        assert threads.find_thread_for_guest(conn, site.id, "https://a.example/1", "a@b.example") == (
            None,
            False if sqlite else None,
        )
        made = threads.get_or_create_thread(conn, site.id, "https://a.example/1", "One", made_at)
        assert made == threads.find_thread(conn, site.id, "https://a.example/1")
        assert made.created_at == made_at and made.title == "One" and not made.closed
        assert threads.get_or_create_thread(conn, site.id, "https://a.example/1", "Again", made_at) == made
        found, taken = threads.find_thread_for_guest(conn, site.id, "https://a.example/1", "a@b.example")
        assert (found, taken) == (made, False)
        # The row as SQLAlchemy's own insert writes it.
        conn.execute(
            insert(threads_table).values(
                site_id=site.id, url="https://a.example/2", title="One", created_at=made_at, closed=False
            )
        )
        other = threads.find_thread(conn, site.id, "https://a.example/2")
        assert other is not None
        mine, theirs = raw_row(conn, "threads", made.id), raw_row(conn, "threads", other.id)
    assert {**mine, "url": None} == {**theirs, "url": None}


@pytest.mark.parametrize("kind", ["plain", "judged", "a verified reader's reply"])
def test_a_new_comment_is_written_as_sqlalchemy_writes_it(ctx: Context, kind: str) -> None:
    site = create_site(ctx, "rows", "Rows", [SITE_ORIGIN], spam_filter=False)
    now = datetime(2026, 12, 6, 16, 31, 5, 123456, tzinfo=UTC)
    author = Author("Ada", "ada@example.org", "https://ada.example")
    verdict, verified = None, None
    if kind == "judged":
        reasons = ["text reads like spam ('Grüße')", "a link"]
        verdict = StoredVerdict("hold", 0.625, reasons, -(2**62), now + timedelta(days=30))
    if kind == "a verified reader's reply":
        verified = Verified("github", "GitHub", "https://github.com/ada")
    body, html = "Grüße *ünïcode*", "<p>Grüße <em>ünïcode</em></p>"
    with ctx.db.write() as conn:
        thread = threads.get_or_create_thread(conn, site.id, "https://a.example/c", "C", now)
        parent = None
        if verified is not None:
            parent = comments_store.insert_comment(
                conn,
                thread_id=thread.id,
                parent=None,
                author=author,
                body=body,
                html=html,
                status=CommentStatus.PUBLISHED,
                now=now,
                remote_addr="",
                user_agent="",
            )
        mine = comments_store.insert_comment(
            conn,
            thread_id=thread.id,
            parent=parent,
            author=author,
            body=body,
            html=html,
            status=CommentStatus.PENDING,
            now=now,
            remote_addr="203.0.113.9",
            user_agent="test",
            verdict=verdict,
            identity_id=None,
            verified=verified,
        )
        # The values insert_comment gave SQLAlchemy before: the verdict's columns only with a verdict.
        values = {
            "thread_id": thread.id,
            "parent_id": parent.id if parent else None,
            "root_id": parent.id if parent else None,
            "author_name": author.name,
            "author_email": author.email,
            "author_website": author.website,
            "body": body,
            "html": html,
            "status": "pending",
            "created_at": now,
            "edited_at": None,
            "remote_addr": "203.0.113.9",
            "user_agent": "test",
            "like_count": 0,
            "version": 1,
            "identity_id": None,
            "verified": verified.as_json() if verified else None,
            **(verdict.columns() if verdict else {}),
        }
        theirs = conn.execute(insert(comments).returning(comments.c.id), values).scalar_one()
        assert raw_row(conn, "comments", mine.id) == raw_row(conn, "comments", theirs)
    assert (
        mine.created_at == now and mine.status is CommentStatus.PENDING and mine.root_id == values["root_id"]
    )
