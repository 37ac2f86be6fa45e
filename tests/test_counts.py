"""Comment counts for many pages: answered from memory before the router when memory holds them all,
with the same bytes and headers the endpoint sends, and never out of date after a write."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.context import Context
from rejoinder.web.fastreads import MemoryAnswers
from tests.helpers import ARTICLE, post

OTHER = "https://blog.example/2026/12/rock-pools"


async def counts(client: httpx.AsyncClient, *urls: str, site: str = "test") -> httpx.Response:
    return await client.get("/api/v1/counts", params={"site": site, "url": list(urls)})


async def test_counts_from_memory_are_what_the_endpoint_sends(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await post(client, "one")
    await post(client, "two")
    asked = (ARTICLE, "https://Blog.Example:443/2026/11/tide-pools?utm_source=feed", OTHER, "/about")
    ctx.cache.clear()
    from_database = await counts(client, *asked)
    assert len(ctx.cache.counts([(site, ARTICLE), (site, OTHER), (site, "/about")])) == 3
    from_memory = await counts(client, *asked)
    assert from_memory.status_code == from_database.status_code == 200
    assert from_memory.content == from_database.content
    unique = {"x-request-id"}  # every answer has its own
    assert {k: v for k, v in from_memory.headers.items() if k not in unique} == {
        k: v for k, v in from_database.headers.items() if k not in unique
    }
    assert from_memory.json() == {"counts": {asked[0]: 2, asked[1]: 2, OTHER: 0, "/about": 0}}


async def test_a_post_is_counted_at_once(client: httpx.AsyncClient, site: str) -> None:
    assert (await counts(client, ARTICLE)).json() == {"counts": {ARTICLE: 0}}
    await post(client, "first")
    assert (await counts(client, ARTICLE)).json() == {"counts": {ARTICLE: 1}}
    await post(client, "second", url=OTHER)
    assert (await counts(client, ARTICLE, OTHER)).json() == {"counts": {ARTICLE: 1, OTHER: 1}}


async def test_a_bad_query_is_refused_even_when_memory_holds_the_counts(
    client: httpx.AsyncClient, site: str
) -> None:
    await counts(client, ARTICLE)
    bad_url = await counts(client, ARTICLE, "ftp://blog.example/x")
    assert bad_url.status_code == 422
    assert set(bad_url.json()["error"]["fields"]) == {"url[1]"}
    two_sites = await client.get("/api/v1/counts", params={"site": ["test", "nope"], "url": ARTICLE})
    assert two_sites.status_code == 404
    unknown = await counts(client, ARTICLE, site="nope")
    assert unknown.status_code == 404


@given(st.text(alphabet=st.sampled_from("&=%+;?/:.-_aZ09é\x00 "), max_size=60))
def test_a_counts_query_is_read_as_the_router_reads_it(query: str) -> None:
    answers = MemoryAnswers()
    for _ in range(2):  # read, then remembered
        fields = answers._query(query.encode("latin-1"))
        assert [(name, value) for name, value, _ in fields] == parse_qsl(query, keep_blank_values=True)


async def test_memory_answers_only_when_it_holds_every_thread_asked_for(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await post(client, "one")
    await counts(client, ARTICLE)
    assert ctx.cache.site_counts(site, [ARTICLE, ARTICLE]) == [1, 1]
    assert ctx.cache.site_counts(site, [ARTICLE, OTHER]) is None  # OTHER never asked: not in memory
    assert ctx.cache.site_counts("elsewhere", [ARTICLE]) is None
    await counts(client, OTHER)
    assert ctx.cache.site_counts(site, [OTHER, ARTICLE]) == [0, 1]
