"""A thread's page that a write dropped from the read cache is cut again from the thread's snapshot before
the framework (``web/fastreads.py``): the same bytes and headers as the route's, never out of date, and
the route still answers every query it would read or refuse differently."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from rejoinder.context import Context
from rejoinder.model import SortOrder
from rejoinder.threads import DEFAULT_PAGE, MAX_PAGE, thread_url
from rejoinder.web.app import Rejoinder
from rejoinder.web.fastreads import MemoryAnswers
from tests.helpers import ARTICLE, error_fields, post, read
from tests.test_cors import SITE_ORIGIN, STRANGER

UNIQUE = {"x-request-id"}  # every answer has its own


class Routed:
    """The framework behind the envelope, counting the requests that reach it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def routed(app: FastAPI) -> Routed:
    assert isinstance(app, Rejoinder) and app.envelope is not None
    app.envelope.app = Routed(app.envelope.app)
    return app.envelope.app


def headers_of(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in UNIQUE}


async def page(client: httpx.AsyncClient, site: str, **params: Any) -> httpx.Response:
    return await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE, **params})


def drop_answers(ctx: Context, site: str) -> None:
    """What a write that changes nothing readers see does: the thread's answers dropped, its snapshot kept."""
    ctx.cache.invalidate((site, ARTICLE), lambda snapshot: (snapshot, snapshot.size))


@pytest.mark.parametrize("origin", [None, SITE_ORIGIN, STRANGER])
@pytest.mark.parametrize("params", [{}, {"sort": "newest", "limit": "2"}])
async def test_a_just_written_threads_page_is_the_routes_to_the_byte(
    app: FastAPI,
    ctx: Context,
    client: httpx.AsyncClient,
    routed: Routed,
    site: str,
    origin: str | None,
    params: dict[str, str],
) -> None:
    assert isinstance(app, Rejoinder) and app.envelope is not None
    first = await post(client, "first")
    await post(client, "a reply", parent_id=first["comment"]["id"])
    query = {"site": site, "url": ARTICLE, **params}
    headers = {"Origin": origin} if origin else {}
    await client.get("/api/v1/comments", params=query, headers=headers)  # the snapshot is loaded
    await post(client, "just written")
    assert ctx.cache.snapshot((site, ARTICLE)) is not None
    app.envelope.from_memory.rebuilds = False
    routed.paths.clear()
    by_the_route = await client.get("/api/v1/comments", params=query, headers=headers)
    assert routed.paths == ["/api/v1/comments"]
    drop_answers(ctx, site)
    app.envelope.from_memory.rebuilds = True
    routed.paths.clear()
    before_it = await client.get("/api/v1/comments", params=query, headers=headers)
    assert routed.paths == []
    ctx.cache.clear()
    from_the_database = await client.get("/api/v1/comments", params=query, headers=headers)
    for response in (before_it, from_the_database):
        assert response.status_code == by_the_route.status_code == 200
        assert response.content == by_the_route.content
        assert headers_of(response) == headers_of(by_the_route)
    assert "just written" in before_it.text
    assert ("access-control-allow-origin" in before_it.headers) == (origin == SITE_ORIGIN)


async def test_the_rebuilt_page_holds_the_write_and_is_kept(
    ctx: Context, client: httpx.AsyncClient, routed: Routed, site: str
) -> None:
    await post(client, "first")
    await read(client)
    for n in range(3):
        await post(client, f"write {n}")
        routed.paths.clear()
        bodies = [comment["html"] for comment in (await read(client))["comments"]]
        assert routed.paths == []
        assert bodies[-1] == f"<p>write {n}</p>" and len(bodies) == n + 2
        hits = ctx.cache.hits
        await read(client)
        assert ctx.cache.hits == hits + 1  # kept: the next read is answered whole


async def test_a_rebuilt_page_is_answered_304_when_unchanged(
    ctx: Context, client: httpx.AsyncClient, routed: Routed, site: str
) -> None:
    await post(client, "first")
    etag = (await page(client, site)).headers["etag"]
    await post(client, "second")
    routed.paths.clear()
    changed = await client.get(
        "/api/v1/comments", params={"site": site, "url": ARTICLE}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    drop_answers(ctx, site)
    unchanged = await client.get(
        "/api/v1/comments",
        params={"site": site, "url": ARTICLE},
        headers={"If-None-Match": changed.headers["etag"]},
    )
    assert unchanged.status_code == 304 and unchanged.headers["etag"] == changed.headers["etag"]
    assert routed.paths == []


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "1001"}, 422, "limit"),
        ({"sort": "loudest"}, 422, "sort"),
    ],
)
async def test_a_query_the_route_refuses_is_refused_after_a_write_too(
    client: httpx.AsyncClient, routed: Routed, site: str, params: dict[str, str], status: int, field: str
) -> None:
    await post(client, "first")
    await read(client)
    await post(client, "second")
    routed.paths.clear()
    refused = await page(client, site, **params)
    assert field in error_fields(refused, status, "invalid_input")
    assert routed.paths == ["/api/v1/comments"]


async def test_an_unusual_query_goes_to_the_route(
    client: httpx.AsyncClient, routed: Routed, site: str
) -> None:
    await post(client, "first")
    await read(client)
    for params in ({"limit": "050"}, {"limit": ["5", "6"]}, {"extra": "1"}, {"cursor": ""}):
        await post(client, "another")
        routed.paths.clear()
        response = await page(client, site, **params)
        assert response.status_code == 200, response.text
        assert routed.paths == ["/api/v1/comments"]


async def test_memory_is_not_used_while_another_processs_news_is_pending(
    ctx: Context, client: httpx.AsyncClient, routed: Routed, site: str
) -> None:
    await post(client, "first")
    await read(client)
    await post(client, "second")
    ctx.cache.pending = lambda: True
    routed.paths.clear()
    assert len((await read(client))["comments"]) == 2  # read from the database, by the route
    assert routed.paths == ["/api/v1/comments"]


SITES = ["site=test", "site=", "site=a%26b", "s%69te=test"]
URLS = [
    "url=https%3A%2F%2Fblog.example%2F2026%2F11%2Ftide-pools",
    "url=%2Fabout",
    "url=ftp%3A%2F%2Fx",
    "url=",
]
OTHERS = [
    *SITES,
    *URLS,
    "sort=newest",
    "sort=top",
    "sort=Newest",
    "limit=2",
    "limit=1000",
    "limit=1001",
    "limit=0",
    "limit=+5",
    "limit=%205",
    "limit=07",
    "limit=x",
    "cursor=abc",
    "cursor=",
    "extra=1",
    "limit",
]


@given(st.sampled_from(SITES), st.sampled_from(URLS), st.lists(st.sampled_from(OTHERS), max_size=3))
def test_a_page_query_is_read_before_the_framework_only_as_the_route_reads_it(
    site_piece: str, url_piece: str, others: list[str]
) -> None:
    query = "&".join([*others[:1], site_piece, url_piece, *others[1:]])
    read = MemoryAnswers()._page_query(query.encode("latin-1"))
    if read is None:
        return
    (site, url), sort, limit, cursor = read
    params = QueryParams(query)  # what the route is given, validated as its declaration validates it
    assert params["site"] == site
    assert thread_url(params["url"]) == url
    assert SortOrder(params.get("sort", "oldest")) is sort
    declared = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_PAGE)])
    assert declared.validate_python(params.get("limit", str(DEFAULT_PAGE))) == limit
    assert params.get("cursor") == cursor
    assert all(len(params.getlist(name)) == 1 for name in params)
