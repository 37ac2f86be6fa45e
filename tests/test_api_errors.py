"""Every refusal of the API: ``{"error": {"code", "message", "fields"}}`` naming each field and the rule it
broke, the status that goes with it, and nothing stored by a refused write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rejoinder.context import Context
from rejoinder.store import threads as thread_store
from rejoinder.store.schema import comments
from rejoinder.store.sites import get_site
from tests.helpers import ARTICLE, comment_payload, post, read

OTHER_ARTICLE = "https://blog.example/2026/12/rock-pools"


def assert_error(response: httpx.Response, status: int, code: str, *fields: str) -> dict[str, str]:
    """Check the error shape and that exactly ``fields`` are named, each with a rule; return the rules."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error["fields"]) == set(fields), error
    assert all(isinstance(rule, str) and rule for rule in error["fields"].values())
    return error["fields"]  # type: ignore[no-any-return]


def stored_comments(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return conn.execute(select(func.count()).select_from(comments)).scalar_one()  # type: ignore[no-any-return]


async def assert_nothing_stored(client: httpx.AsyncClient, ctx: Context, comment_count: int = 1) -> None:
    """The thread and the comments table look as they did before the refused write."""
    assert stored_comments(ctx) == comment_count
    assert (await read(client))["thread"]["comment_count"] == comment_count


@pytest.fixture
async def existing(client: httpx.AsyncClient, site: str) -> dict[str, Any]:
    """One comment already in the thread, so a refused write has something to leave unchanged."""
    return (await post(client, "already here"))["comment"]  # type: ignore[no-any-return]


def close_thread(ctx: Context, url: str = ARTICLE) -> None:
    with ctx.db.write() as conn:
        site = get_site(conn, "test")
        assert site is not None
        thread = thread_store.find_thread(conn, site.id, url)
        assert thread is not None
        thread_store.set_closed(conn, thread.id, True)
    ctx.cache.clear()  # closing publishes no event yet


def _with(**changes: Any) -> dict[str, Any]:
    payload = comment_payload()
    for name, value in changes.items():
        if name.startswith("author_"):
            payload["author"][name.removeprefix("author_")] = value
        elif value is None:
            del payload[name]
        else:
            payload[name] = value
    return payload


# --- posting a comment ---------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "field"), [
    pytest.param(_with(author_email="ada@"), "author.email", id="email-without-domain"),
    pytest.param(_with(author_email="ada@example"), "author.email", id="email-without-dot-in-domain"),
    pytest.param(_with(author_website="javascript:alert(1)"), "author.website", id="javascript-website"),
    pytest.param(_with(author_website="ftp://ada.example"), "author.website", id="ftp-website"),
    pytest.param(_with(author_website="https://ada.example/\x00"), "author.website", id="nul-in-website"),
    pytest.param(_with(author_name="A" * 101), "author.name", id="name-of-101-characters"),
    pytest.param(_with(author_name="Ada\x00"), "author.name", id="control-character-in-name"),
    pytest.param(_with(body=" \n\t  "), "body", id="body-empty-after-stripping"),
    pytest.param(_with(body="\x00 \x07\n"), "body", id="body-of-control-characters-and-spaces"),
    pytest.param(_with(body="x" * 10_001), "body", id="body-of-10001-characters"),
    pytest.param(_with(body=None), "body", id="body-missing"),
    pytest.param(_with(body=42), "body", id="body-as-a-number"),
    pytest.param(_with(author="Ada"), "author", id="author-as-a-string"),
    pytest.param(_with(parent_id="abc"), "parent_id", id="parent-id-as-letters"),
    pytest.param(_with(parent_id=0), "parent_id", id="parent-id-zero"),
    pytest.param(_with(title="T" * 501), "title", id="title-of-501-characters"),
    pytest.param(_with(url="javascript:alert(1)"), "url", id="javascript-url"),
    pytest.param(_with(url=None), "url", id="url-missing"),
    pytest.param(_with(url="https://blog.example/" + "a" * 2100), "url", id="url-over-2048-characters"),
    # Under the limit as sent, over it once the query is percent-encoded: must be refused, not a 500.
    pytest.param(_with(url="https://blog.example/?q=" + "é" * 2000), "url", id="url-over-2048-once-normalised"),
    pytest.param(_with(site=None), "site", id="site-missing"),
])
async def test_a_comment_breaking_a_rule_is_refused_naming_the_field(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any], payload: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/comments", json=payload)
    assert_error(response, 422, "invalid_input", field)
    await assert_nothing_stored(client, ctx)


async def test_every_broken_rule_is_reported_at_once(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    payload = _with(body="", author_name="N" * 101, author_email="nope", author_website="javascript:void(0)")
    fields = assert_error(await client.post("/api/v1/comments", json=payload), 422, "invalid_input",
                          "body", "author.name", "author.email", "author.website")
    assert fields["author.name"] == "must be at most 100 characters"
    assert fields["author.website"] == "must be an http:// or https:// address"
    await assert_nothing_stored(client, ctx, comment_count=0)


async def test_the_rule_says_what_the_limit_is(client: httpx.AsyncClient, site: str) -> None:
    fields = assert_error(await client.post("/api/v1/comments", json=_with(body="x" * 10_001)),
                          422, "invalid_input", "body")
    assert fields["body"] == "must be at most 10,000 characters (it has 10,001)"


async def test_body_of_exactly_10000_characters_and_name_of_100_are_accepted(
    client: httpx.AsyncClient, site: str
) -> None:
    posted = await post(client, "x" * 10_000, name="N" * 100)
    assert posted["comment"]["author"]["name"] == "N" * 100
    assert (await read(client))["thread"]["comment_count"] == 1


async def test_malformed_json_is_refused_as_json(client: httpx.AsyncClient, ctx: Context, existing: dict) -> None:
    response = await client.post("/api/v1/comments", content=b'{"site": "test", "body": ',
                                 headers={"Content-Type": "application/json"})
    fields = assert_error(response, 422, "invalid_input", "json")
    assert fields["json"].startswith("is not valid JSON")
    await assert_nothing_stored(client, ctx)


@pytest.mark.parametrize("content", [b'["test", "hello"]', b'"hello"', b"42", b"null"])
async def test_json_that_is_not_an_object_is_refused_as_json(
    client: httpx.AsyncClient, ctx: Context, existing: dict, content: bytes
) -> None:
    response = await client.post("/api/v1/comments", content=content, headers={"Content-Type": "application/json"})
    assert_error(response, 422, "invalid_input", "json")
    await assert_nothing_stored(client, ctx)


async def test_a_parent_from_another_thread_is_refused(client: httpx.AsyncClient, ctx: Context, existing: dict) -> None:
    elsewhere = (await post(client, "over there", url=OTHER_ARTICLE))["comment"]["id"]
    response = await client.post("/api/v1/comments", json=comment_payload("reply", parent_id=elsewhere))
    fields = assert_error(response, 422, "invalid_input", "parent_id")
    assert fields["parent_id"] == "must be a comment in the same thread"
    await assert_nothing_stored(client, ctx, comment_count=2)  # the comment in the other thread is the second
    assert (await read(client))["thread"]["comment_count"] == 1


async def test_a_parent_that_does_not_exist_is_refused(client: httpx.AsyncClient, ctx: Context, existing: dict) -> None:
    response = await client.post("/api/v1/comments", json=comment_payload("reply", parent_id=existing["id"] + 1000))
    assert_error(response, 422, "invalid_input", "parent_id")
    await assert_nothing_stored(client, ctx)


async def test_a_refused_first_comment_does_not_create_the_thread(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    response = await client.post("/api/v1/comments", json=comment_payload("reply", url=OTHER_ARTICLE, parent_id=999))
    assert_error(response, 422, "invalid_input", "parent_id")
    assert (await read(client, OTHER_ARTICLE))["thread"]["title"] is None


# --- unknown sites and closed threads --------------------------------------------------------------


@pytest.mark.parametrize("key", ["elsewhere", "te\x00st", "test\n"])
async def test_an_unknown_site_is_404_on_write(
    client: httpx.AsyncClient, ctx: Context, existing: dict, key: str
) -> None:
    response = await client.post("/api/v1/comments", json=comment_payload(site=key))
    assert_error(response, 404, "unknown_site", "site")
    await assert_nothing_stored(client, ctx)


@pytest.mark.parametrize("key", ["elsewhere", "te\x00st"])
async def test_an_unknown_site_is_404_on_read(client: httpx.AsyncClient, site: str, key: str) -> None:
    thread = await client.get("/api/v1/comments", params={"site": key, "url": ARTICLE})
    assert_error(thread, 404, "unknown_site", "site")
    counts = await client.get("/api/v1/counts", params={"site": key, "url": ARTICLE})
    assert_error(counts, 404, "unknown_site", "site")


async def test_a_closed_thread_refuses_comments_and_replies_with_403(
    client: httpx.AsyncClient, ctx: Context, existing: dict
) -> None:
    close_thread(ctx)
    comment = await client.post("/api/v1/comments", json=comment_payload("too late"))
    assert_error(comment, 403, "thread_closed")
    reply = await client.post("/api/v1/comments", json=comment_payload("too late", parent_id=existing["id"]))
    assert_error(reply, 403, "thread_closed")
    await assert_nothing_stored(client, ctx)


async def test_a_closed_thread_still_reads_and_says_it_is_closed(
    client: httpx.AsyncClient, ctx: Context, existing: dict
) -> None:
    close_thread(ctx)
    page = await read(client)
    assert page["thread"]["closed"] is True
    assert [c["id"] for c in page["comments"]] == [existing["id"]]
    counts = (await client.get("/api/v1/counts", params={"site": "test", "url": ARTICLE})).json()
    assert counts == {"counts": {ARTICLE: 1}}


# --- reading -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), [
    pytest.param({"limit": 0}, "limit", id="limit-0"),
    pytest.param({"limit": 1001}, "limit", id="limit-1001"),
    pytest.param({"limit": "ten"}, "limit", id="limit-not-a-number"),
    pytest.param({"sort": "best"}, "sort", id="unknown-sort"),
    pytest.param({"cursor": "not-a-cursor"}, "cursor", id="garbled-cursor"),
    pytest.param({"url": "ftp://blog.example/x"}, "url", id="ftp-url"),
    pytest.param({"url": None}, "url", id="url-missing"),
    pytest.param({"site": None}, "site", id="site-missing"),
])
async def test_a_bad_thread_query_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, site: str, params: dict[str, Any], field: str
) -> None:
    query = {k: v for k, v in ({"site": site, "url": ARTICLE} | params).items() if v is not None}
    assert_error(await client.get("/api/v1/comments", params=query), 422, "invalid_input", field)


async def test_limits_at_the_edges_are_accepted(client: httpx.AsyncClient, site: str) -> None:
    await read(client, limit=1)
    await read(client, limit=1000)


@pytest.mark.parametrize(("urls", "field"), [
    pytest.param([], "url", id="no-url"),
    pytest.param([ARTICLE, "ftp://blog.example/x"], "url[1]", id="second-url-bad"),
])
async def test_a_bad_counts_query_is_refused_naming_the_url(
    client: httpx.AsyncClient, site: str, urls: list[str], field: str
) -> None:
    response = await client.get("/api/v1/counts", params={"site": site, "url": urls})
    assert_error(response, 422, "invalid_input", field)


# --- likes, edit tokens and other inputs --------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-Rejoinder-Liker": "short"}, {"X-Rejoinder-Liker": "é" * 10}])
async def test_a_like_without_a_proper_liker_id_is_refused(
    client: httpx.AsyncClient, existing: dict, headers: dict[str, str]
) -> None:
    response = await client.put(f"/api/v1/comments/{existing['id']}/like", headers=headers)
    assert_error(response, 422, "invalid_input", "X-Rejoinder-Liker")
    assert (await read(client))["comments"][0]["likes"] == 0


async def test_liking_a_comment_that_does_not_exist_is_404(client: httpx.AsyncClient, site: str) -> None:
    response = await client.put("/api/v1/comments/12345/like", headers={"X-Rejoinder-Liker": "liker-0001"})
    assert_error(response, 404, "comment_not_found")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic YWRhOnNlY3JldA=="}, {"Authorization": "Bearer "}])
async def test_editing_or_deleting_without_a_bearer_token_is_401(
    client: httpx.AsyncClient, ctx: Context, existing: dict, headers: dict[str, str]
) -> None:
    url = f"/api/v1/comments/{existing['id']}"
    edit = await client.patch(url, json={"body": "changed"}, headers=headers)
    assert_error(edit, 401, "unauthorized", "Authorization")
    delete = await client.delete(url, headers=headers)
    assert_error(delete, 401, "unauthorized", "Authorization")
    assert (await read(client))["comments"][0]["html"] == "<p>already here</p>"
    await assert_nothing_stored(client, ctx)


@pytest.mark.parametrize("comment_id", ["abc", "0", str(2**63)])
async def test_a_comment_id_that_is_not_an_id_is_refused(
    client: httpx.AsyncClient, site: str, comment_id: str
) -> None:
    response = await client.patch(f"/api/v1/comments/{comment_id}", json={"body": "x"},
                                  headers={"Authorization": "Bearer token"})
    assert_error(response, 422, "invalid_input", "comment_id")


async def test_a_preview_over_the_body_limit_is_refused(client: httpx.AsyncClient, site: str) -> None:
    assert_error(await client.post("/api/v1/preview", json={"body": "x" * 10_001}), 422, "invalid_input", "body")
    assert_error(await client.post("/api/v1/preview", json={}), 422, "invalid_input", "body")


# --- routes and request size ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/comments", "/no-such-page"])
async def test_unknown_routes_are_404_in_the_error_shape(client: httpx.AsyncClient, site: str, path: str) -> None:
    assert_error(await client.get(path), 404, "not_found")


async def test_a_wrong_method_is_405_in_the_error_shape(client: httpx.AsyncClient, site: str) -> None:
    assert_error(await client.post("/api/v1/counts"), 405, "method_not_allowed")


def _oversized_payload() -> bytes:
    """Valid JSON of about 70 KB: only its size is wrong."""
    return httpx.Request("POST", "/", json=comment_payload("x" * 70_000)).read()


async def test_a_request_body_over_64_kib_is_413(client: httpx.AsyncClient, ctx: Context, existing: dict) -> None:
    content = _oversized_payload()
    response = await client.post("/api/v1/comments", content=content, headers={"Content-Type": "application/json"})
    assert int(response.request.headers["content-length"]) == len(content) > 65_536
    fields = assert_error(response, 413, "payload_too_large", "body")
    assert fields["body"] == "must be at most 65,536 bytes"
    await assert_nothing_stored(client, ctx)


async def test_a_chunked_request_body_over_64_kib_is_413(
    client: httpx.AsyncClient, ctx: Context, existing: dict
) -> None:
    content = _oversized_payload()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 8192):
            yield content[start:start + 8192]

    response = await client.post("/api/v1/comments", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 413, "payload_too_large", "body")
    await assert_nothing_stored(client, ctx)


async def test_a_chunked_request_body_under_the_limit_is_accepted(client: httpx.AsyncClient, site: str) -> None:
    content = httpx.Request("POST", "/", json=comment_payload("sent in pieces")).read()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 16):
            yield content[start:start + 16]

    response = await client.post("/api/v1/comments", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["comment"]["html"] == "<p>sent in pieces</p>"
