"""Many writers at once: no comment is lost, every URL gets one thread, a reader's like counts once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from rejoinder.context import Context
from rejoinder.likes import LIKER_HEADER
from rejoinder.store.schema import threads
from tests.helpers import ARTICLE, comment_payload, flatten, post, read

WRITERS = 100


async def like(
    client: httpx.AsyncClient, comment_id: int, liker: str, *, undo: bool = False
) -> httpx.Response:
    return await client.request(
        "DELETE" if undo else "PUT", f"/api/v1/comments/{comment_id}/like", headers={LIKER_HEADER: liker}
    )


async def counts(client: httpx.AsyncClient, *urls: str) -> dict[str, int]:
    response = await client.get("/api/v1/counts", params={"site": "test", "url": list(urls)})
    assert response.status_code == 200, response.text
    return response.json()["counts"]  # type: ignore[no-any-return]


async def likes_shown(client: httpx.AsyncClient, comment_id: int) -> int:
    page = await read(client)
    return next(c["likes"] for c in flatten(page["comments"]) if c["id"] == comment_id)


@pytest.fixture
async def comment_id(client: httpx.AsyncClient, site: str) -> int:
    return (await post(client, "Like me"))["comment"]["id"]  # type: ignore[no-any-return]


async def test_concurrent_posts_to_one_new_thread_all_land(client: httpx.AsyncClient, site: str) -> None:
    responses = await asyncio.gather(
        *(client.post("/api/v1/comments", json=comment_payload(f"comment {i}")) for i in range(WRITERS))
    )
    assert [r.status_code for r in responses] == [201] * WRITERS
    ids = {r.json()["comment"]["id"] for r in responses}
    assert len(ids) == WRITERS
    page = await read(client, limit=1000)
    assert {c["id"] for c in flatten(page["comments"])} == ids
    assert page["thread"]["comment_count"] == WRITERS
    assert await counts(client, ARTICLE) == {ARTICLE: WRITERS}


async def test_concurrent_first_comments_create_one_thread_per_url(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    urls = [f"https://blog.example/2026/12/post-{n}" for n in range(5)]
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/comments", json=comment_payload(f"first? {i}", url=urls[i % 5]))
            for i in range(WRITERS)
        )
    )
    assert [r.status_code for r in responses] == [201] * WRITERS
    with ctx.db.read() as conn:
        rows = conn.execute(select(threads.c.url, threads.c.comment_count).order_by(threads.c.url)).all()
    assert [tuple(row) for row in rows] == [(url, WRITERS // 5) for url in urls]
    assert await counts(client, *urls) == dict.fromkeys(urls, WRITERS // 5)


async def test_concurrent_likes_by_one_reader_count_once(client: httpx.AsyncClient, comment_id: int) -> None:
    responses = await asyncio.gather(*(like(client, comment_id, "reader-0001") for _ in range(30)))
    assert [r.status_code for r in responses] == [200] * 30
    assert [r.json() for r in responses] == [{"likes": 1, "liked": True}] * 30
    assert await likes_shown(client, comment_id) == 1


async def test_concurrent_likes_by_many_readers_each_count_and_unlikes_take_them_back(
    client: httpx.AsyncClient, comment_id: int
) -> None:
    readers = [f"reader-{n:04d}" for n in range(30)]
    liked = await asyncio.gather(*(like(client, comment_id, reader) for reader in readers))
    assert all(r.status_code == 200 and r.json()["liked"] is True for r in liked)
    # Every like saw the count it produced: no two read the same total and wrote it back.
    assert sorted(r.json()["likes"] for r in liked) == list(range(1, 31))
    assert await likes_shown(client, comment_id) == 30

    unliked = await asyncio.gather(*(like(client, comment_id, reader, undo=True) for reader in readers))
    assert all(r.status_code == 200 and r.json()["liked"] is False for r in unliked)
    assert sorted(r.json()["likes"] for r in unliked) == list(range(30))
    assert await likes_shown(client, comment_id) == 0


async def test_like_and_unlike_are_idempotent(client: httpx.AsyncClient, comment_id: int) -> None:
    for _ in range(2):
        response = await like(client, comment_id, "reader-0001")
        assert (response.status_code, response.json()) == (200, {"likes": 1, "liked": True})
    for _ in range(2):
        response = await like(client, comment_id, "reader-0001", undo=True)
        assert (response.status_code, response.json()) == (200, {"likes": 0, "liked": False})
    never_liked = await like(client, comment_id, "reader-0002", undo=True)
    assert never_liked.json() == {"likes": 0, "liked": False}  # never below zero
    assert await likes_shown(client, comment_id) == 0


async def test_likes_are_rate_limited_per_address(
    app: object, ctx: Context, client: httpx.AsyncClient, comment_id: int, steady_rate_windows: None
) -> None:
    limit = 60  # like_rate_limit's default: 60/minute; reader ids are made up, the address is not
    answers = [(await like(client, comment_id, f"reader-{n:04d}")).status_code for n in range(limit)]
    assert answers == [200] * limit
    refused = await like(client, comment_id, "reader-9999", undo=True)  # unlikes count too
    assert refused.status_code == 429
    assert refused.json()["error"]["fields"] == {"client": "allows 60 per 1 minute"}
    assert int(refused.headers["Retry-After"]) >= 1
    # Asked again within its Retry-After, the same address is refused at the door, in the same words.
    assert ctx.refusals.active("203.0.113.7", "like") is not None
    again = await like(client, comment_id, "reader-9998")
    assert (again.status_code, again.json()["error"]["fields"]) == (429, {"client": "allows 60 per 1 minute"})
    assert again.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(again.headers["Retry-After"]) <= int(refused.headers["Retry-After"])
    elsewhere = httpx.ASGITransport(app=app, client=("198.51.100.8", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver") as other:
        assert (await like(other, comment_id, "reader-9999")).json() == {"likes": limit + 1, "liked": True}
    assert await likes_shown(client, comment_id) == limit + 1
