"""A new comment's audience: asked with its batch's lookup on PostgreSQL, so that a comment no one can hear
of after the commit (no thread subscribers, no moderator's mail of it, no webhooks) leaves the event bus
nothing to read or mark; and whoever does hear of one still does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from rejoinder.comments import Client, NewComment, post_comment, post_comment_async
from rejoinder.context import Context
from rejoinder.model import Author, CommentStatus, Moderator
from rejoinder.notify import moderators
from rejoinder.sites import create_site, get_site
from rejoinder.store.audience import Audience
from rejoinder.store.moderators import list_moderators
from rejoinder.store.schema import moderator_notices, outbox
from tests.conftest import SITE_ORIGIN
from tests.helpers import heard_on_psycopg, make_moderator

URL = "https://blog.example/quiet"


def new(site: str, body: str, n: int = 0) -> NewComment:
    return NewComment(site=site, url=URL, title="Quiet", body=body, author=Author(f"Ada {n}", f"a{n}@ex.org"))


@contextmanager
def statements(ctx: Context) -> Iterator[list[str]]:
    """Every statement sent to the database inside the block, from any thread: through SQLAlchemy, and
    straight to psycopg (``on_psycopg``, which no listener hears of)."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(ctx.db.writer, "before_cursor_execute", note)
    try:
        with heard_on_psycopg(note):
            yield sent
    finally:
        event.remove(ctx.db.writer, "before_cursor_execute", note)


def notices(ctx: Context) -> list[tuple[int, str]]:
    with ctx.db.read() as conn:
        query = select(moderator_notices.c.comment_id, moderator_notices.c.kind)
        return [(row.comment_id, row.kind) for row in conn.execute(query)]


async def test_a_comment_no_one_hears_of_is_two_statements_and_delivered_as_written(
    ctx: Context, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite asks nothing ahead of a comment's transaction")
    create_site(ctx, "quiet", "Quiet", [SITE_ORIGIN], spam_filter=False)
    post_comment(ctx, new("quiet", "the first opens the thread"), Client())  # the thread's own INSERT
    with statements(ctx) as sent:
        posted = await post_comment_async(ctx, new("quiet", "nobody listens to this one", 1), Client())
    assert ctx.events.drain()
    # The lookup and the one statement that writes; no reads of subscribers, moderators or webhooks after
    # the commit, nor an UPDATE marking the event delivered.
    assert len(sent) == 2, sent
    posted_events = select(outbox.c.delivered_at).where(outbox.c.topic == "CommentPosted")
    latest = posted_events.order_by(outbox.c.id.desc())
    with ctx.db.read() as conn:
        row = conn.execute(latest).first()
    assert row is not None and row.delivered_at is not None
    assert posted.comment.status is CommentStatus.PUBLISHED


def test_a_moderator_hears_of_held_comments_and_of_every_comment_only_on_request(ctx: Context) -> None:
    create_site(ctx, "open", "Open", [SITE_ORIGIN], spam_filter=False)
    create_site(ctx, "held", "Held", [SITE_ORIGIN], spam_filter=False, moderation=True)
    for site in ("open", "held"):
        make_moderator(ctx, f"mod@{site}.example", site)
    post_comment(ctx, new("open", "opens the open thread"), Client())
    post_comment(ctx, new("held", "opens the held thread"), Client())
    before = set(notices(ctx))

    published = post_comment(ctx, new("open", "a published comment", 1), Client()).comment
    held = post_comment(ctx, new("held", "a held comment", 2), Client()).comment
    assert ctx.events.drain()
    assert held.status is CommentStatus.PENDING
    assert set(notices(ctx)) - before == {(held.id, "held")}

    for moderator in moderators_of(ctx, "open"):
        moderators.set_preference(ctx, moderator, "daily", all_comments=True)
    every = post_comment(ctx, new("open", "now every comment is news", 3), Client()).comment
    assert ctx.events.drain()
    assert (every.id, "new") in notices(ctx)
    assert (published.id, "new") not in notices(ctx)


def moderators_of(ctx: Context, site_key: str) -> list[Moderator]:
    site = get_site(ctx, site_key)
    with ctx.db.read() as conn:
        return list_moderators(conn, site.id)


@pytest.mark.parametrize(
    ("audience", "published", "held", "spam"),
    [
        (Audience(False, False, False, False), False, False, False),
        (Audience(True, False, False, False), True, True, True),
        (Audience(False, True, False, False), True, False, False),
        (Audience(False, False, True, True), True, True, False),
        (Audience(False, False, False, True), False, True, False),
        (Audience(False, False, True, False), False, False, False),
    ],
)
def test_who_hears_of_a_comment_by_its_status(
    audience: Audience, published: bool, held: bool, spam: bool
) -> None:
    assert audience.hears_of(CommentStatus.PUBLISHED) is published
    assert audience.hears_of(CommentStatus.PENDING) is held
    assert audience.hears_of(CommentStatus.SPAM) is spam
