"""The posts' group commit on PostgreSQL writes a batch's comments, counts and outbox rows in one statement:
what it stores is what a comment written on its own stores, on both backends; a batch whose statement
fails is committed piece by piece; and no connection goes back to the pool committing each statement."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import event, text

from rejoinder.comments import Client, NewComment, post_comment, post_comment_async
from rejoinder.context import Context
from rejoinder.model import Author, CommentStatus
from rejoinder.sites import create_site
from rejoinder.store import comments as comment_store
from rejoinder.store.threads import add_to_comment_count_at_commit
from tests.conftest import SITE_ORIGIN

URL = "https://blog.example/together"
# What may differ between two comments of different authors besides their text and when they came.
OWN_COLUMNS = {"id", "body", "html", "created_at", "fingerprint", "spam_score", "spam_reasons"}
OWN_COLUMNS |= {"author_name", "author_email"}


def new(site: str, body: str, n: int = 0) -> NewComment:
    """A comment by an author of its own (with the spam filter on, each author's rate is limited)."""
    author = Author(f"Ada {n}", f"ada{n}@example.org")
    return NewComment(site=site, url=URL, title="Together", body=body, author=author)


def stored(ctx: Context, comment_id: int) -> dict[str, Any]:
    query = text(
        "SELECT *, CAST(verified AS TEXT) AS verified_text, CAST(spam_reasons AS TEXT) AS reasons_text"
        " FROM comments WHERE id = :id"
    )
    with ctx.db.read() as conn:
        return dict(conn.execute(query, {"id": comment_id}).one()._mapping)


def payloads(ctx: Context) -> list[str]:
    """The outbox rows of new comments, as their stored JSON text."""
    query = text("SELECT CAST(payload AS TEXT) FROM outbox WHERE topic = 'CommentPosted' ORDER BY id")
    with ctx.db.read() as conn:
        return list(conn.execute(query).scalars())


@pytest.mark.parametrize("spam_filter", [False, True])
async def test_comments_committed_together_store_what_one_alone_stores(
    ctx: Context, spam_filter: bool
) -> None:
    create_site(ctx, "together", "Together", [SITE_ORIGIN], spam_filter=spam_filter)
    post_comment(ctx, new("together", "the first opens the thread", 100), Client())
    alone = post_comment(ctx, new("together", "a comment on its own", 101), Client()).comment.id
    together = await asyncio.gather(
        *(
            post_comment_async(ctx, new("together", f"one of several, number {n}", n), Client())
            for n in range(6)
        )
    )

    by_itself = stored(ctx, alone)
    for posted in together:
        row = stored(ctx, posted.comment.id)
        assert {k: v for k, v in row.items() if k not in OWN_COLUMNS} == {
            k: v for k, v in by_itself.items() if k not in OWN_COLUMNS
        }
        with ctx.db.read() as conn:
            read_back = comment_store.get_comment(conn, posted.comment.id)
        assert read_back is not None and read_back.created_at == posted.comment.created_at  # to the µs
        assert (row["reasons_text"] is None) == (by_itself["reasons_text"] is None)
    assert by_itself["verified_text"] == "null"  # SQLAlchemy's JSON type writes None as JSON's null
    if spam_filter:
        assert by_itself["reasons_text"] is not None
    written = payloads(ctx)
    assert len(written) == 8
    assert all(isinstance(json.loads(payload), dict) for payload in written)
    with ctx.db.read() as conn:
        assert conn.execute(text("SELECT comment_count FROM threads")).scalar_one() == 8


async def test_a_batch_whose_statement_fails_is_committed_piece_by_piece(
    ctx: Context, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_comment(ctx, new(site, "the first opens the thread"), Client())
    json_row = comment_store._json_row

    def breaking(row: dict[str, Any]) -> dict[str, Any]:
        as_json = json_row(row)
        if row["body"] == "the bad one":  # a status too long for its column: PostgreSQL refuses the row
            as_json["status"] = "x" * 100
        return as_json

    monkeypatch.setattr(comment_store, "_json_row", breaking)
    autocommitting: list[bool] = []

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        autocommitting.append(bool(getattr(dbapi_connection, "autocommit", False)))

    event.listen(ctx.db.writer, "checkin", checked_in)
    try:
        bodies = [f"good {n}" for n in range(5)]
        results = await asyncio.gather(
            *(
                post_comment_async(ctx, new(site, body, n), Client())
                for n, body in enumerate([*bodies[:2], "the bad one", *bodies[2:]])
            ),
            return_exceptions=True,
        )
    finally:
        event.remove(ctx.db.writer, "checkin", checked_in)

    failed = [r for r in results if isinstance(r, BaseException)]
    if ctx.db.backend == "postgresql":
        assert len(failed) == 1  # only the bad one's writer hears of it
    else:
        assert failed == []  # SQLite writes its rows as before, not through the one statement
    with ctx.db.read() as conn:
        kept = set(conn.execute(text("SELECT body FROM comments")).scalars())
        count = conn.execute(text("SELECT comment_count FROM threads")).scalar_one()
    assert set(bodies) <= kept
    assert count == len(kept) == len(payloads(ctx))
    assert autocommitting and not any(autocommitting)


def test_kept_writes_that_return_nothing_are_one_statement_too(ctx: Context, site: str) -> None:
    first = post_comment(ctx, new(site, "the first opens the thread"), Client()).comment
    with ctx.db.read() as conn:
        next_id = conn.execute(text("SELECT max(id) FROM comments")).scalar_one() + 1000
    with ctx.db.write(in_one_statement=True) as conn:
        comment_store.insert_comment(
            conn,
            thread_id=first.thread_id,
            parent=None,
            author=Author("Bo"),
            body="kept for the commit",
            html="<p>kept for the commit</p>",
            status=CommentStatus.PUBLISHED,
            now=first.created_at,
            remote_addr="",
            user_agent="",
            comment_id=next_id,
        )
        add_to_comment_count_at_commit(conn, first.thread_id, 1)
    with ctx.db.read() as conn:
        assert comment_store.get_comment(conn, next_id) is not None
        assert conn.execute(text("SELECT comment_count FROM threads")).scalar_one() == 2
