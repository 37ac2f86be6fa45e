"""Likes that cannot be stuffed: with the site's spam filter on, one address counts at most one like per
comment within ``like_address_hours``, however many liker ids it invents; likes are rate-limited per
address and per liker id (429 naming which); ``sort=top`` follows the counted likes. Both backends, and
the "once per address" memory shared through a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.likes import liking_address
from rejoinder.ratelimits import RateLimits
from rejoinder.settings import Settings
from rejoinder.sites import update_site
from rejoinder.store.likes import change_like
from rejoinder.store.outage import outage
from tests.helpers import post, read
from tests.test_bus import redis_settings  # noqa: F401 (the fixture: a real Redis, keys of its own)
from tests.test_queries import statements_run

pytestmark = pytest.mark.usefixtures("steady_rate_windows")


def liker(n: int) -> dict[str, str]:
    return {"X-Rejoinder-Liker": f"reader-{n:06d}"}


def guard(ctx: Context, site: str, **settings: object) -> None:
    """Turn the test site's spam filter on, and with it the like rules, once its comments are posted (the
    filter's comment rate limits and proof of work stay out of the way that way)."""
    update_site(ctx, site, spam_filter=True, **settings)


@pytest.fixture
async def other(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A second reader, on another address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.80", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def like(client: httpx.AsyncClient, comment_id: int, who: int) -> dict[str, object]:
    response = await client.put(f"/api/v1/comments/{comment_id}/like", headers=liker(who))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_one_address_counts_once_per_comment_however_many_liker_ids(
    client: httpx.AsyncClient, other: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    comment_id = (await post(client, "Worth a like"))["comment"]["id"]
    guard(ctx, site)
    answers = [await like(client, comment_id, n) for n in range(15)]
    assert answers[0] == {"likes": 1, "liked": True}
    assert all(a == {"likes": 1, "liked": True} for a in answers)  # answered, not counted
    assert await like(other, comment_id, 99) == {"likes": 2, "liked": True}
    (shown,) = (await read(client))["comments"]
    assert shown["likes"] == 2


async def test_the_limit_a_client_cannot_exceed(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    """The documented figure: from one address, 1 counted like per comment per like_address_hours, and
    like_rate_limit_ip (30 a minute) likes in all; the rest is refused with 429 naming the client."""
    ids = [(await post(client, f"comment {i}"))["comment"]["id"] for i in range(3)]
    guard(ctx, site, like_rate_limit_liker="off")
    statuses: list[int] = []
    for n in range(40):
        response = await client.put(f"/api/v1/comments/{ids[n % 3]}/like", headers=liker(n))
        statuses.append(response.status_code)
        if response.status_code == 429:
            error = response.json()["error"]
            assert error["code"] == "rate_limited"
            assert error["fields"] == {"client": "allows 30 per 1 minute"}
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses == [200] * 30 + [429] * 10
    shown = {c["id"]: c["likes"] for c in (await read(client))["comments"]}
    assert shown == dict.fromkeys(ids, 1)


async def test_a_liker_id_is_limited_on_any_address(
    client: httpx.AsyncClient, other: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    ids = [(await post(client, f"comment {i}"))["comment"]["id"] for i in range(4)]
    guard(ctx, site, like_rate_limit_liker="3/minute")
    for comment_id, http in zip(ids[:3], (client, other, client), strict=True):
        await like(http, comment_id, 7)
    response = await other.put(f"/api/v1/comments/{ids[3]}/like", headers=liker(7))
    assert response.status_code == 429
    assert response.json()["error"]["fields"] == {"X-Rejoinder-Liker": "allows 3 per 1 minute"}


async def test_taking_a_like_back_lets_the_address_like_again(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    comment_id = (await post(client, "Changeable"))["comment"]["id"]
    guard(ctx, site)
    assert await like(client, comment_id, 1) == {"likes": 1, "liked": True}
    unliked = await client.delete(f"/api/v1/comments/{comment_id}/like", headers=liker(1))
    assert unliked.json() == {"likes": 0, "liked": False}
    assert await like(client, comment_id, 1) == {"likes": 1, "liked": True}
    # Taking back a like that was never counted frees nothing.
    await client.delete(f"/api/v1/comments/{comment_id}/like", headers=liker(2))
    assert await like(client, comment_id, 3) == {"likes": 1, "liked": True}


async def test_stuffing_from_one_address_does_not_decide_sort_top(
    client: httpx.AsyncClient,
    app,
    ctx: Context,
    site: str,  # type: ignore[no-untyped-def]
) -> None:
    liked_by_people = (await post(client, "liked by three people"))["comment"]["id"]
    stuffed = (await post(client, "stuffed by one script"))["comment"]["id"]
    guard(ctx, site)
    for n in range(25):
        await like(client, stuffed, n)
    for n, address in enumerate(("192.0.2.1", "192.0.2.2", "2001:db8:1::1")):
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as reader:
            await like(reader, liked_by_people, 100 + n)
    top = (await read(client, sort="top"))["comments"]
    assert [(c["id"], c["likes"]) for c in top] == [(liked_by_people, 3), (stuffed, 1)]


async def test_a_like_is_one_transaction(
    client: httpx.AsyncClient, other: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    """The comment (with its thread and site), the rules, the like and its count, the event: read and
    written in one transaction, the site's rules from the memo of sites."""
    comment_id = (await post(client, "Worth a like"))["comment"]["id"]
    guard(ctx, site)
    await like(client, comment_id, 1)  # the site is remembered from here on
    begun: list[object] = []
    traced: list[str] = []  # SQLite: every statement, those sent straight through the driver too
    drivers: list[Any] = []

    def note(conn: Any) -> None:
        begun.append(conn)
        if backend == "sqlite":
            drivers.append(conn.connection.driver_connection)
            drivers[-1].set_trace_callback(traced.append)

    for engine in ctx.db.engines:
        event.listen(engine, "begin", note)
    try:
        with statements_run(ctx) as seen:
            assert await like(other, comment_id, 2) == {"likes": 2, "liked": True}
    finally:
        for engine in ctx.db.engines:
            event.remove(engine, "begin", note)
        for driver in drivers:
            driver.set_trace_callback(None)
    assert len(begun) == 1
    # The comment placed; the like and its count; the event for the outbox. On PostgreSQL the like, its
    # count and its event are one statement.
    if backend == "sqlite":
        seen = [statement for statement in traced if statement.split()[0] not in ("BEGIN", "COMMIT")]
    assert len(seen) == {"sqlite": 4, "postgres": 2}[backend], seen


async def test_refused_likes_do_not_hold_back_the_likes_written_beside_them(
    client: httpx.AsyncClient,
    app,
    ctx: Context,
    site: str,  # type: ignore[no-untyped-def]
) -> None:
    """Likes sent at once are written together (group commit); those past a limit are refused on their
    own, without undoing the others."""
    ids = [(await post(client, f"comment {i}"))["comment"]["id"] for i in range(3)]
    guard(ctx, site, like_rate_limit_liker="1/minute")

    async def like_from(n: int) -> int:
        transport = httpx.ASGITransport(app=app, client=(f"192.0.2.{n + 1}", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as reader:
            # Two addresses share each liker id: one of the two likes is past its one like a minute.
            response = await reader.put(f"/api/v1/comments/{ids[n % 3]}/like", headers=liker(n // 2))
            return response.status_code

    statuses = await asyncio.gather(*(like_from(n) for n in range(8)))
    assert sorted(statuses) == [200] * 4 + [429] * 4
    shown = {c["id"]: c["likes"] for c in (await read(client))["comments"]}
    assert sum(shown.values()) == 4


async def test_an_ipv6_client_counts_by_its_slash_64(app, ctx: Context, site: str) -> None:  # type: ignore[no-untyped-def]
    comment_id = 0
    likes = []
    for n, address in enumerate(("2001:db8:0:1::1", "2001:db8:0:1:ffff::2", "2001:db8:0:2::1")):
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as reader:
            if not comment_id:
                comment_id = (await post(reader, "IPv6"))["comment"]["id"]
                guard(ctx, site)
            likes.append((await like(reader, comment_id, n))["likes"])
    assert likes == [1, 1, 2]


def test_liking_addresses() -> None:
    assert liking_address("203.0.113.7") == "203.0.113.7"
    assert liking_address("2001:db8::1") == liking_address("2001:db8::ffff:1") == "2001:db8::/64"
    assert liking_address("::ffff:203.0.113.7") == "203.0.113.7"
    assert liking_address("") == ""


async def test_without_the_spam_filter_likes_are_not_limited(client: httpx.AsyncClient, site: str) -> None:
    comment_id = (await post(client, "An open site"))["comment"]["id"]
    for n in range(35):
        last = await like(client, comment_id, n)
    assert last == {"likes": 35, "liked": True}


async def test_the_window_can_be_turned_off(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    comment_id = (await post(client, "Shared office"))["comment"]["id"]
    guard(ctx, site, like_address_hours=0)
    assert [(await like(client, comment_id, n))["likes"] for n in range(3)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("name", "value"),
    [("like_address_hours", -1), ("like_address_hours", "a day"), ("like_rate_limit_ip", "lots")],
)
def test_like_settings_are_checked(ctx: Context, site: str, name: str, value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        update_site(ctx, site, **{name: value})
    assert name in refused.value.fields


def test_processes_sharing_redis_count_one_like_per_address_together(redis_settings: Settings) -> None:  # noqa: F811
    first, second = (RateLimits(redis_settings.redis_url, redis_settings.redis_prefix) for _ in range(2))
    assert first.shared and second.shared
    assert first.first(1, "like-address", "1/1440 minutes", "42 203.0.113.7")
    assert not second.first(1, "like-address", "1/1440 minutes", "42 203.0.113.7")
    assert second.first(1, "like-address", "1/1440 minutes", "43 203.0.113.7")
    second.forget(1, "like-address", "1/1440 minutes", "42 203.0.113.7")
    assert first.first(1, "like-address", "1/1440 minutes", "42 203.0.113.7")


async def test_the_data_page_says_what_likes_keep_of_an_address(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    page = (await client.get(f"/privacy/{site}")).text
    assert "network address counts one like" not in page  # the filter is off: nothing is kept
    guard(ctx, site, like_address_hours=12)
    pages = {
        lang: (await client.get(f"/privacy/{site}", params={"lang": lang})).text
        for lang in ("en", "uk", "de")
    }
    assert "keyed hash of the address and the comment for 12 hours" in pages["en"]
    assert "12 год" in pages["uk"] and "12 Stunden" in pages["de"]


def test_a_like_sqlite_cannot_write_is_an_outage_like_any_other_statement(ctx: Context, backend: str) -> None:
    """On SQLite the like's statements go straight through the driver; a write the database refuses is
    still raised as SQLAlchemy raises it, so the server answers 503 for it, not 500."""
    if backend != "sqlite":
        pytest.skip("the driver's own path is SQLite's")
    with pytest.raises(DBAPIError) as refused, ctx.db.write() as conn:
        conn.exec_driver_sql("PRAGMA query_only=ON")  # refuses writes as a read-only file would
        try:
            change_like(conn, 1, "a reader's key", True, datetime.now(UTC))
        finally:
            conn.exec_driver_sql("PRAGMA query_only=OFF")
    assert outage(refused.value) == "the database file cannot be written"
