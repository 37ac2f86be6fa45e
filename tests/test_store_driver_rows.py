"""What a like reads and writes straight through the driver (``store/dialect.py``: ``on_sqlite``,
``on_psycopg``) is what SQLAlchemy would read and write: the comment with its place, and the outbox rows.
Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from rejoinder.context import Context
from rejoinder.store import outbox
from rejoinder.store.comments import _GET_COMMENT_PLACED, _comment, get_comment_placed
from rejoinder.store.dialect import on_sqlite
from rejoinder.store.schema import comments
from rejoinder.store.schema import outbox as outbox_table
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
