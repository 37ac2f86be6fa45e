"""A thread's comment count comes with its snapshot (``ReadCache.put_snapshot``) and follows the writes that
update the snapshot, so a counts request naming a thread someone reads is answered from memory even right
after a write to it, and always with the database's number."""

from __future__ import annotations

import httpx

from rejoinder.context import Context
from tests.helpers import ARTICLE, post, read

OTHER = "https://blog.example/2026/12/rock-pools"


async def counts(client: httpx.AsyncClient, *urls: str) -> httpx.Response:
    return await client.get("/api/v1/counts", params={"site": "test", "url": list(urls)})


async def test_a_read_threads_count_is_in_memory_before_and_after_writes(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    first = await post(client, "one")
    await post(client, "two", url=OTHER)
    ctx.cache.clear()
    await read(client)  # the thread's snapshot is loaded: its count with it
    assert ctx.cache.site_counts(site, [ARTICLE]) == [1]
    assert ctx.cache.site_counts(site, [OTHER]) is None  # never read, never asked
    await post(client, "three")
    assert ctx.cache.site_counts(site, [ARTICLE]) == [2]
    await post(client, "a reply", parent_id=first["comment"]["id"])
    edit_token = {"Authorization": f"Bearer {first['edit_token']}"}
    deleted = await client.delete(f"/api/v1/comments/{first['comment']['id']}", headers=edit_token)
    assert deleted.status_code in (200, 204), deleted.text
    assert ctx.cache.site_counts(site, [ARTICLE]) == [2]
    from_memory = await counts(client, ARTICLE, OTHER)
    assert from_memory.json() == {"counts": {ARTICLE: 2, OTHER: 1}}
    ctx.cache.clear()
    assert (await counts(client, ARTICLE, OTHER)).content == from_memory.content  # the database's


async def test_a_write_that_drops_the_snapshot_drops_the_count(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await post(client, "one")
    await read(client)
    ctx.cache.invalidate((site, ARTICLE))  # no update: as a thread closed, or another process's news
    assert ctx.cache.site_counts(site, [ARTICLE]) is None
    assert (await counts(client, ARTICLE)).json() == {"counts": {ARTICLE: 1}}
