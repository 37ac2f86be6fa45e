"""A new comment's audience on SQLite: asked in the comment's own transaction (a statement costs no round
trip there), so that a comment no one can hear of (no thread subscribers, no moderator's mail of it, no
webhooks) is written delivered and leaves the event bus nothing to read or mark; a comment someone hears
of is handed over as before. PostgreSQL asks with its batch's lookup (tests/test_pgwrites_audience.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rejoinder.comments import Client, post_comment, post_comment_async
from rejoinder.context import Context
from rejoinder.model import CommentStatus
from rejoinder.sites import create_site, get_site
from rejoinder.store.audience import audience_on_sqlite
from rejoinder.store.schema import outbox
from tests.conftest import SITE_ORIGIN
from tests.helpers import make_moderator
from tests.test_pgwrites_audience import new, notices, statements


@pytest.fixture
def on_sqlite(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL asks the audience with its batch's lookup")


def posted_delivered(ctx: Context) -> bool:
    """Whether the latest ``CommentPosted`` was written to the outbox as delivered."""
    latest = (
        select(outbox.c.delivered_at).where(outbox.c.topic == "CommentPosted").order_by(outbox.c.id.desc())
    )
    with ctx.db.read() as conn:
        row = conn.execute(latest).first()
    assert row is not None
    return row.delivered_at is not None


@pytest.mark.usefixtures("on_sqlite")
async def test_a_comment_no_one_hears_of_is_written_delivered_and_left_to_no_one(ctx: Context) -> None:
    create_site(ctx, "quiet", "Quiet", [SITE_ORIGIN], spam_filter=False)
    post_comment(ctx, new("quiet", "the first opens the thread"), Client())
    with statements(ctx) as sent:
        posted = await post_comment_async(ctx, new("quiet", "nobody listens to this one", 1), Client())
        assert ctx.events.drain()
    assert posted.comment.status is CommentStatus.PUBLISHED
    assert posted_delivered(ctx)
    # The bus's thread read no subscribers, moderators or webhooks, and marked nothing delivered: what
    # names them is the transaction's one question of the audience.
    assert not [s for s in sent if s.lstrip().upper().startswith("UPDATE OUTBOX")], sent
    asked = [s for s in sent if any(f"FROM {t}" in s for t in ("subscriptions", "moderator", "webhooks"))]
    assert len(asked) == 1 and asked[0].startswith("SELECT EXISTS"), asked


@pytest.mark.usefixtures("on_sqlite")
async def test_a_held_comment_reaches_the_sites_moderators(ctx: Context) -> None:
    create_site(ctx, "held", "Held", [SITE_ORIGIN], spam_filter=False, moderation=True)
    make_moderator(ctx, "mod@held.example", "held")
    held = (await post_comment_async(ctx, new("held", "a held comment"), Client())).comment
    assert ctx.events.drain()
    assert held.status is CommentStatus.PENDING
    assert (held.id, "held") in notices(ctx)


def test_the_audience_asked_alone_names_each_kind(ctx: Context, backend: str) -> None:
    create_site(ctx, "told", "Told", [SITE_ORIGIN], spam_filter=False)
    thread_id = post_comment(ctx, new("told", "opens the thread"), Client()).comment.thread_id
    site_id = get_site(ctx, "told").id
    with ctx.db.write() as conn:
        found = audience_on_sqlite(conn, site_id, thread_id)
    if backend != "sqlite":
        assert found is None  # asked with the batch's lookup there
        return
    assert found is not None and not found.hears_of(CommentStatus.PUBLISHED)
    make_moderator(ctx, "mod@told.example", "told")
    with ctx.db.write() as conn:
        found = audience_on_sqlite(conn, site_id, thread_id)
    assert found is not None and found.moderators and found.hears_of(CommentStatus.PENDING)
