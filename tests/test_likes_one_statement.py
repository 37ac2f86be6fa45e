"""A like on PostgreSQL in one statement: the comment's read, the like and its count written together for a
site without like rules, the rules still asked for a site that has them (turning them on empties what the
process remembers), the server's like limit asked with the batch's other likes in Redis, and the outbox's
rows with their ids in order. Both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.events import CommentLiked, encode
from rejoinder.settings import Settings
from rejoinder.sites import create_site, update_site
from rejoinder.store import outbox
from rejoinder.store.comments import get_comment
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import post
from tests.test_bus import redis_settings  # noqa: F401 (the fixture: a real Redis, keys of its own)
from tests.test_queries import statements_run

pytestmark = pytest.mark.usefixtures("steady_rate_windows")


def liker(n: int) -> dict[str, str]:
    return {"X-Rejoinder-Liker": f"reader-{n:06d}"}


async def test_a_like_on_a_site_without_rules_is_one_statement_and_its_event(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    first, second = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(2)]
    answer = await client.put(f"/api/v1/comments/{first}/like", headers=liker(1))
    assert answer.json() == {"likes": 1, "liked": True}  # the site is known to have no rules from here on
    with statements_run(ctx) as seen:
        answer = await client.put(f"/api/v1/comments/{second}/like", headers=liker(1))
    assert answer.json() == {"likes": 1, "liked": True}
    if backend == "postgres":
        assert len(seen) == 1, seen  # the comment, the like, its count and its outbox row
    with statements_run(ctx) as seen:
        answer = await client.put(f"/api/v1/comments/{second}/like", headers=liker(1))
    assert answer.json() == {"likes": 1, "liked": True}  # liked twice: counted once, no event
    if backend == "postgres":
        assert len(seen) == 2, seen  # the statement, and the count as committed (tests/test_concurrency.py)
    answer = await client.delete(f"/api/v1/comments/{second}/like", headers=liker(1))
    assert answer.json() == {"likes": 0, "liked": False}
    missing = await client.put(f"/api/v1/comments/{second + 1000}/like", headers=liker(1))
    assert missing.status_code == 404


async def test_turning_the_filter_on_brings_the_like_rules_back(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    comments = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(3)]
    answer = await client.put(f"/api/v1/comments/{comments[0]}/like", headers=liker(1))
    assert answer.status_code == 200  # the site, without rules, is remembered
    update_site(ctx, site, spam_filter=True, like_rate_limit_liker="1/minute")
    assert (await client.put(f"/api/v1/comments/{comments[1]}/like", headers=liker(2))).status_code == 200
    refused = await client.put(f"/api/v1/comments/{comments[2]}/like", headers=liker(2))
    assert refused.status_code == 429, refused.text


async def test_a_like_is_one_statement_while_the_sites_without_rules_are_not_known(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    """While the fan-out has news this process has not read, its memo of the sites without like rules is
    not trusted; the like's statement reads the site's rules from the site's row instead, so a like is still
    one statement, and a site that has rules still has them asked."""
    ctx.sites_without_like_rules.pending = lambda: True  # unread news, for as long as this test runs
    comments = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(4)]
    for n, comment in enumerate(comments[:2]):
        with statements_run(ctx) as seen:
            answer = await client.put(f"/api/v1/comments/{comment}/like", headers=liker(n))
        assert answer.json() == {"likes": 1, "liked": True}
        if backend == "postgres":
            assert len(seen) == 1, seen  # the comment, the like, its count and its outbox row
    update_site(ctx, site, spam_filter=True, like_rate_limit_liker="1/minute")
    assert (await client.put(f"/api/v1/comments/{comments[2]}/like", headers=liker(9))).status_code == 200
    refused = await client.put(f"/api/v1/comments/{comments[3]}/like", headers=liker(9))
    assert refused.status_code == 429, refused.text
    with ctx.db.read() as conn:
        assert [found.likes for found in (get_comment(conn, comment) for comment in comments) if found] == [
            1, 1, 1, 0
        ]  # fmt: skip


async def test_the_events_of_a_transaction_keep_their_order_in_the_outbox(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    comment_id = (await post(client, "liked"))["comment"]["id"]
    with ctx.db.read() as conn:
        comment = get_comment(conn, comment_id)
    assert comment is not None
    liked = [CommentLiked(site, f"https://blog.example/{n}", comment) for n in range(5)]
    entries = [(event.topic(), encode(event), n % 2 == 0) for n, event in enumerate(liked)]
    with ctx.db.write() as conn:
        ids = outbox.add_many(conn, entries, datetime.now(UTC))
    assert ids == sorted(ids)
    with ctx.db.read() as conn:
        found = outbox.payloads(conn, ids)
    assert [found[event_id]["thread_url"] for event_id in ids] == [event.thread_url for event in liked]


@pytest.fixture
async def with_redis(redis_settings: Settings) -> AsyncIterator[tuple[Context, httpx.AsyncClient]]:  # noqa: F811
    ctx = open_context(redis_settings.model_copy(update={"like_rate_limit": "3/minute"}), start=True)
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    transport = httpx.ASGITransport(app=create_app(redis_settings, context=ctx), client=("203.0.113.7", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield ctx, http
    finally:
        ctx.close()


async def test_the_servers_like_limit_in_redis_is_counted_once_a_like(
    with_redis: tuple[Context, httpx.AsyncClient],
) -> None:
    ctx, client = with_redis
    comments = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(6)]
    answers = await asyncio.gather(
        *(client.put(f"/api/v1/comments/{c}/like", headers=liker(n)) for n, c in enumerate(comments))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 429, 429, 429]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(answer.json()["error"]["fields"] == {"client": "allows 3 per 1 minute"} for answer in refused)
    # Refused at the door from now on, until its Retry-After.
    assert ctx.refusals.active("203.0.113.7", "like") is not None
