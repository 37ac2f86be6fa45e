"""Comment counts for many pages: answered from memory before the router when memory holds them all,
with the same bytes and headers the endpoint sends, and never out of date after a write."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import httpx
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.context import Context
from rejoinder.errors import RejoinderError
from rejoinder.threads import thread_url
from rejoinder.web.app import Rejoinder
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


QUERY_TEXT = st.text(alphabet=st.sampled_from("&=%+;?/:.-_aZ09é\x00 "), max_size=60)
FIELD = st.tuples(st.sampled_from(["site", "url", "x", ""]), st.sampled_from(["=", ""]), QUERY_TEXT)
URL_FIELD = st.sampled_from([ARTICLE, OTHER, "/about", "ftp://x", ""]).map(lambda url: "url=" + quote(url))
QUERY = st.one_of(
    QUERY_TEXT,
    st.lists(st.one_of(FIELD.map("".join), URL_FIELD), max_size=6).map("&".join),
    st.lists(URL_FIELD, min_size=1, max_size=4).map(lambda urls: "&".join(["site=test", *urls])),
)


def read_by_the_router(query: str) -> tuple[str | None, list[str], list[str]] | None:
    fields = parse_qsl(query, keep_blank_values=True)
    sites = [value for name, value in fields if name == "site"]
    given = [value for name, value in fields if name == "url"]
    try:
        thread_urls = [thread_url(url) for url in given]
    except RejoinderError:
        return None
    return None if len(sites) > 1 else (sites[0] if sites else None, given, thread_urls)


@given(QUERY)
def test_a_counts_query_is_read_as_the_router_reads_it(query: str) -> None:
    answers = MemoryAnswers()
    for _ in range(2):  # read, then remembered
        asked = answers._asked(query.encode("latin-1"))
        as_lists = None if asked is None else (asked[0], list(asked[1]), list(asked[2]))
        assert as_lists == read_by_the_router(query)


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


async def test_an_answer_asked_again_is_sent_again_until_one_of_its_counts_changes(
    client: httpx.AsyncClient, app: Rejoinder, ctx: Context, site: str
) -> None:
    await post(client, "one")
    asked = (ARTICLE, OTHER)
    first = await counts(client, *asked)  # from the database: memory holds the counts after it
    assert (await counts(client, *asked)).content == first.content
    assert app.envelope is not None
    remembered = app.envelope.from_memory._counts_answers
    assert [answer.body for answer in remembered.values()] == [first.content]
    assert (await counts(client, *asked)).json() == {"counts": {ARTICLE: 1, OTHER: 0}}
    await post(client, "two", url=OTHER)
    assert (await counts(client, *asked)).json() == {"counts": {ARTICLE: 1, OTHER: 1}}
    ctx.cache.invalidate((site, ARTICLE))  # as another process's news of a write is applied
    await counts(client, ARTICLE)
    await post(client, "three")
    assert (await counts(client, *asked)).json() == {"counts": {ARTICLE: 2, OTHER: 1}}


async def test_a_remembered_answer_is_not_sent_while_memory_may_be_behind(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await post(client, "one")
    await counts(client, ARTICLE)
    assert (await counts(client, ARTICLE)).json() == {"counts": {ARTICLE: 1}}
    news_waiting = True
    ctx.cache.pending = lambda: news_waiting  # another process's write heard of, not applied yet
    with ctx.db.write() as conn:  # that write, as the other process committed it
        conn.exec_driver_sql("UPDATE threads SET comment_count = 5")
    assert (await counts(client, ARTICLE)).json() == {"counts": {ARTICLE: 5}}
    news_waiting = False
    ctx.cache.invalidate((site, ARTICLE))
    assert (await counts(client, ARTICLE)).json() == {"counts": {ARTICLE: 5}}


def test_a_sites_counts_version_changes_with_each_of_its_counts_and_on_clear(ctx: Context) -> None:
    cache = ctx.cache
    before = cache.counts_version("a")
    other = cache.counts_version("b")
    cache.put_counts({("a", "/x"): cache.generation(("a", "/x"))}, {("a", "/x"): 3})
    assert cache.counts_version("a") == before  # a count learned changes no answer made before
    cache.invalidate(("a", "/x"))
    after_write = cache.counts_version("a")
    assert after_write != before and cache.counts_version("b") == other
    cache.clear()
    assert cache.counts_version("a") not in (before, after_write) and cache.counts_version("b") != other
    cache.bypass = True
    assert cache.counts_version("a") is None
