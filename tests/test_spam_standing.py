"""Comments that stood: weak ham for the filter and trust for their author, only once a moderator
approved them or they stood unreported for the site's ``spam_standing_days``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from rejoinder.context import Context
from rejoinder.model import Site
from rejoinder.spam.model import HAM_DECISIONS, SPAM_DECISIONS
from rejoinder.standing import teach_standing
from rejoinder.store import spam as spam_store
from rejoinder.store.schema import comments
from tests.test_spam_pipeline import admin, centre_on, guarded, stored, submit  # noqa: F401

pytestmark = pytest.mark.anyio

HARMLESS = "The second diagram finally made the difference between the two join orders clear to me."
PILLS = "Cheap pills online, best prices, fast delivery: pharmacy-deals.example/order"


def age(ctx: Context, comment_id: int, days: float) -> None:
    """Move a comment's posting time back by ``days``."""
    with ctx.db.write() as conn:
        conn.execute(
            update(comments)
            .where(comments.c.id == comment_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


def trust_reasons(ctx: Context, comment_id: int) -> list[str]:
    return [r for r in stored(ctx, comment_id).spam_reasons if "by the same author" in r]


async def post_as(client: httpx.AsyncClient, body: str, n: int = 0) -> dict[str, Any]:
    return await submit(client, f"{body} ({n})", author={"name": "Mallory", "email": "m@example.org"})


async def test_fresh_published_comments_do_not_vouch_for_their_author(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]  # noqa: F811
) -> None:
    guarded()
    centre_on(ctx, HARMLESS, hold=3.0)
    for n in range(5):
        posted = await post_as(client, HARMLESS, n)
        assert posted["status"] == "published", stored(ctx, posted["id"]).spam_reasons
    last = await post_as(client, PILLS)
    assert trust_reasons(ctx, last["id"]) == []


async def test_comments_that_stood_or_were_approved_vouch(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]  # noqa: F811
) -> None:
    guarded(spam_standing_days=3)
    centre_on(ctx, HARMLESS, hold=3.0)
    first = await post_as(client, HARMLESS, 1)
    second = await post_as(client, HARMLESS, 2)
    age(ctx, first["id"], 2)  # not yet
    assert trust_reasons(ctx, (await post_as(client, PILLS, 1))["id"]) == []
    age(ctx, first["id"], 4)
    assert trust_reasons(ctx, (await post_as(client, PILLS, 2))["id"]) == [
        "1 earlier comment by the same author approved"
    ]
    response = await client.post(
        f"/api/v1/comments/{second['id']}/moderate", json={"action": "approve"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert trust_reasons(ctx, (await post_as(client, PILLS, 3))["id"]) == [
        "2 earlier comments by the same author approved"
    ]


async def test_the_standing_job_teaches_published_comments_as_weak_ham_once(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]  # noqa: F811
) -> None:
    site = guarded(spam_standing_days=3)
    centre_on(ctx, HARMLESS, hold=3.0)
    old = await post_as(client, HARMLESS, 1)
    moderated = await post_as(client, HARMLESS, 2)
    recent = await post_as(client, HARMLESS, 3)
    for comment in (old, moderated):
        age(ctx, comment["id"], 5)
    response = await client.post(
        f"/api/v1/comments/{moderated['id']}/moderate", json={"action": "approve"}, headers=admin
    )
    assert response.status_code == 200
    await_lessons(ctx)
    assert teach_standing(ctx) == 1
    assert teach_standing(ctx) == 0  # taught once
    with ctx.db.read() as conn:
        weak = spam_store.training_record(conn, site.id, f"comment:{old['id']}")
        strong = spam_store.training_record(conn, site.id, f"comment:{moderated['id']}")
        assert spam_store.training_record(conn, site.id, f"comment:{recent['id']}") is None
    assert weak.weak and not weak.is_spam and weak.score == pytest.approx(stored(ctx, old["id"]).spam_score)
    assert strong is not None and not strong.weak


async def test_a_moderators_decision_replaces_a_weak_lesson(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]  # noqa: F811
) -> None:
    site = guarded(spam_standing_days=3)
    centre_on(ctx, HARMLESS, hold=3.0)
    old = await post_as(client, PILLS, 1)
    age(ctx, old["id"], 5)
    assert teach_standing(ctx) == 1
    path = f"/api/v1/comments/{old['id']}/moderate"
    response = await client.post(path, json={"action": "spam"}, headers=admin)
    assert response.status_code == 200
    await_lessons(ctx)
    with ctx.db.read() as conn:
        record = spam_store.training_record(conn, site.id, f"comment:{old['id']}")
        totals = spam_store.site_weights(conn, site.id)
    assert record.is_spam and not record.weak
    assert totals.get(HAM_DECISIONS, 0.0) == pytest.approx(0.0, abs=1e-9)  # the weak lesson was undone
    assert totals[SPAM_DECISIONS] == pytest.approx(1.0)


def await_lessons(ctx: Context) -> None:
    """Deliver the moderation events (the lessons are taught after commit, by a subscriber)."""
    assert ctx.events.drain()
