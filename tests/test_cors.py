"""CORS: browsers on a site's allowed origins may use the API; other origins get nothing they can read,
and cannot post."""

from __future__ import annotations

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.sites import create_site, update_site
from rejoinder.urls import origin_of
from tests.helpers import ARTICLE, comment_payload, error_fields, post, read

SITE_ORIGIN = origin_of(ARTICLE)  # the one origin the `site` fixture allows
STRANGER = "https://evil.example"
NEIGHBOUR = "https://neighbour.example"  # allowed by another site on the same server


def varies_on_origin(response: httpx.Response) -> bool:
    varies_on = response.headers.get_list("vary", split_commas=True)
    return "origin" in {name.strip().lower() for name in varies_on}


def preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_a_preflight_from_an_allowed_origin_is_answered(client: httpx.AsyncClient, site: str) -> None:
    response = await client.options("/api/v1/comments", headers=preflight(SITE_ORIGIN))
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SITE_ORIGIN
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE", "PUT"} <= methods
    allowed_headers = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization", "x-rejoinder-liker"} <= allowed_headers
    assert varies_on_origin(response)


async def test_a_preflight_for_an_edit_or_a_like_is_answered(client: httpx.AsyncClient, site: str) -> None:
    edit = await client.options(
        "/api/v1/comments/1", headers=preflight(SITE_ORIGIN, "PATCH", "authorization")
    )
    like = await client.options(
        "/api/v1/comments/1/like", headers=preflight(SITE_ORIGIN, "PUT", "x-rejoinder-liker")
    )
    for response in (edit, like):
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == SITE_ORIGIN


async def test_a_preflight_from_another_origin_is_403(client: httpx.AsyncClient, site: str) -> None:
    response = await client.options("/api/v1/comments", headers=preflight(STRANGER))
    assert set(error_fields(response, 403, "origin_not_allowed")) == {"Origin"}
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path", ["/api/v1/comments", "/api/v1/counts"])
async def test_reads_carry_allow_origin_only_for_an_allowed_origin(
    client: httpx.AsyncClient, site: str, path: str
) -> None:
    await post(client, "hello")
    params = {"site": site, "url": ARTICLE}
    allowed = await client.get(path, params=params, headers={"Origin": SITE_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SITE_ORIGIN
    assert varies_on_origin(allowed)
    refused = await client.get(path, params=params, headers={"Origin": STRANGER})
    assert refused.status_code == 200  # served, but the browser keeps it from the stranger's page
    assert "access-control-allow-origin" not in refused.headers
    assert varies_on_origin(refused)


async def test_a_cached_read_and_a_304_carry_allow_origin(client: httpx.AsyncClient, site: str) -> None:
    await post(client, "hello")
    params = {"site": site, "url": ARTICLE}
    first = await client.get("/api/v1/comments", params=params)
    cached = await client.get("/api/v1/comments", params=params, headers={"Origin": SITE_ORIGIN})
    assert cached.content == first.content
    assert cached.headers["access-control-allow-origin"] == SITE_ORIGIN
    assert "etag" in {h.strip().lower() for h in cached.headers["access-control-expose-headers"].split(",")}
    not_modified = await client.get(
        "/api/v1/comments",
        params=params,
        headers={"Origin": SITE_ORIGIN, "If-None-Match": first.headers["etag"]},
    )
    assert not_modified.status_code == 304
    assert not_modified.headers["access-control-allow-origin"] == SITE_ORIGIN
    assert varies_on_origin(not_modified)


async def test_reads_vary_on_origin_even_without_one(client: httpx.AsyncClient, site: str) -> None:
    response = await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE})
    assert response.status_code == 200
    assert varies_on_origin(response)


async def test_a_post_from_an_allowed_origin_is_accepted(client: httpx.AsyncClient, site: str) -> None:
    response = await client.post(
        "/api/v1/comments", json=comment_payload("from the widget"), headers={"Origin": SITE_ORIGIN}
    )
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == SITE_ORIGIN
    assert (await read(client))["thread"]["comment_count"] == 1


async def test_a_post_from_an_origin_the_site_does_not_allow_is_403_and_stores_nothing(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    create_site(ctx, "neighbour", "Neighbour", [NEIGHBOUR])
    for origin in (STRANGER, NEIGHBOUR, "null"):
        response = await client.post(
            "/api/v1/comments", json=comment_payload("sneaky"), headers={"Origin": origin}
        )
        assert set(error_fields(response, 403, "origin_not_allowed")) == {"Origin"}, origin
    page = await read(client)
    assert page["thread"] == {"url": ARTICLE, "title": None, "comment_count": 0, "closed": False}


async def test_a_post_with_no_origin_from_a_server_side_client_is_accepted(
    client: httpx.AsyncClient, site: str
) -> None:
    response = await client.post("/api/v1/comments", json=comment_payload("from a script"))
    assert "origin" not in response.request.headers
    assert response.status_code == 201, response.text
    assert "access-control-allow-origin" not in response.headers
    assert (await read(client))["thread"]["comment_count"] == 1


async def test_errors_for_an_allowed_origin_are_readable_by_its_page(
    client: httpx.AsyncClient, site: str
) -> None:
    invalid = await client.post("/api/v1/comments", json=comment_payload(""), headers={"Origin": SITE_ORIGIN})
    too_large = await client.post(
        "/api/v1/comments",
        content=b"x" * 70_000,
        headers={"Origin": SITE_ORIGIN, "Content-Type": "application/json"},
    )
    for response, status in ((invalid, 422), (too_large, 413)):
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == SITE_ORIGIN
        assert varies_on_origin(response)


async def test_an_origin_added_to_a_site_is_allowed_at_once(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    assert (await client.options("/api/v1/comments", headers=preflight(STRANGER))).status_code == 403
    update_site(ctx, site, add_origins=[STRANGER])
    assert (await client.options("/api/v1/comments", headers=preflight(STRANGER))).status_code == 204
    response = await client.post(
        "/api/v1/comments", json=comment_payload("welcome now"), headers={"Origin": STRANGER}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("origin", [None, SITE_ORIGIN, STRANGER])
@pytest.mark.parametrize("path", ["/api/v1/comments", "/api/v1/counts"])
async def test_a_read_answered_from_memory_has_the_headers_of_the_routes_answer(
    client: httpx.AsyncClient, ctx: Context, site: str, path: str, origin: str | None
) -> None:
    await post(client, "hello")
    params = {"site": site, "url": ARTICLE}
    headers = {"Origin": origin} if origin else {}
    ctx.cache.clear()
    routed = await client.get(path, params=params, headers=headers)
    remembered = await client.get(path, params=params, headers=headers)
    ctx.origins.clear()  # an origin not remembered: looked up on the way to the router, then remembered
    looked_up = await client.get(path, params=params, headers=headers)
    unique = {"x-request-id"}  # every answer has its own
    for response in (remembered, looked_up):
        assert response.status_code == routed.status_code == 200
        assert response.content == routed.content
        assert {k: v for k, v in response.headers.items() if k not in unique} == {
            k: v for k, v in routed.headers.items() if k not in unique
        }
    assert ("access-control-allow-origin" in routed.headers) == (origin == SITE_ORIGIN)
