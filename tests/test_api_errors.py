"""Every refusal of the API: ``{"error": {"code", "message", "fields"}}`` naming each field and the rule it
broke, the status that goes with it, and nothing stored by a refused write.

Tables of cases run in one test each (each test builds a database, which costs more than a request);
the assertion compares every case at once, so a failure lists all the cases that went wrong.
"""

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
from tests.helpers import ARTICLE, comment_payload, error_fields, post, read

OTHER_ARTICLE = "https://blog.example/2026/12/rock-pools"
JSON_HEADERS = {"Content-Type": "application/json"}
# 2,001 characters, 6,001 bytes in UTF-8, too varied for PostgreSQL to compress into its index.
CJK_PATH = "/" + "".join(chr(0x4E00 + i * 7919 % 20_000) for i in range(2000))


def refusal(response: httpx.Response) -> tuple[int, str, set[str]]:
    """``(status, code, names of the fields)`` of an error response whose shape is right."""
    if "error" not in response.json():
        return response.status_code, "<not an error>", set()
    code = response.json()["error"]["code"]
    return response.status_code, code, set(error_fields(response, response.status_code, code))


def _stored_comments(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return conn.execute(select(func.count()).select_from(comments)).scalar_one()


async def snapshot(client: httpx.AsyncClient, ctx: Context) -> tuple[int, dict[str, Any]]:
    """Rows in the comments table and the article's thread as readers see it."""
    return _stored_comments(ctx), await read(client)


@pytest.fixture
async def existing(client: httpx.AsyncClient, site: str) -> dict[str, Any]:
    """One comment already in the thread, so a refused write has something to leave unchanged."""
    return (await post(client, "already here"))["comment"]


def close_thread(ctx: Context, url: str = ARTICLE) -> None:
    with ctx.db.write() as conn:
        site = get_site(conn, "test")
        assert site is not None
        thread = thread_store.find_thread(conn, site.id, url)
        assert thread is not None
        thread_store.set_closed(conn, thread.id, True)
    ctx.cache.clear()  # closing publishes no event yet


def changed(**changes: Any) -> dict[str, Any]:
    """A valid comment payload with some fields changed; ``author_x`` changes ``author.x``, None removes."""
    payload = comment_payload()
    for name, value in changes.items():
        target, key = payload, name
        if name.startswith("author_"):
            target, key = payload["author"], name.removeprefix("author_")
        if value is None:
            del target[key]
        else:
            target[key] = value
    return payload


def raw(text: str) -> dict[str, Any]:
    """Request arguments sending ``text`` as the JSON body, as written (for what ``json=`` cannot say)."""
    return {"content": text.encode(), "headers": JSON_HEADERS}


# --- posting a comment ---------------------------------------------------------------------------

COMMENT_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "email without a domain": ({"json": changed(author_email="ada@")}, "author.email"),
    "email without a dot in the domain": ({"json": changed(author_email="ada@example")}, "author.email"),
    "javascript: website": ({"json": changed(author_website="javascript:alert(1)")}, "author.website"),
    "ftp website": ({"json": changed(author_website="ftp://ada.example")}, "author.website"),
    "website with NUL": ({"json": changed(author_website="https://ada.example/\x00")}, "author.website"),
    "website with an unbalanced [": ({"json": changed(author_website="http://[ada")}, "author.website"),
    "name of 101 characters": ({"json": changed(author_name="A" * 101)}, "author.name"),
    "control character in the name": ({"json": changed(author_name="Ada\x00")}, "author.name"),
    "body empty after stripping": ({"json": changed(body=" \n\t  ")}, "body"),
    "body of control characters and spaces": ({"json": changed(body="\x00 \x07\n")}, "body"),
    "body of 10,001 characters": ({"json": changed(body="x" * 10_001)}, "body"),
    "body missing": ({"json": changed(body=None)}, "body"),
    "body as a number": ({"json": changed(body=42)}, "body"),
    "body with an unpaired surrogate": (raw('{"site": "test", "url": "/a", "body": "a\\ud800b"}'), "body"),
    "author as a string": ({"json": changed(author="Ada")}, "author"),
    "name with an unpaired surrogate": (
        raw('{"site": "test", "url": "/a", "body": "b", "author": {"name": "\\udfff"}}'),
        "author.name",
    ),
    "parent_id as letters": ({"json": changed(parent_id="abc")}, "parent_id"),
    "parent_id zero": ({"json": changed(parent_id=0)}, "parent_id"),
    "title of 501 characters": ({"json": changed(title="T" * 501)}, "title"),
    "javascript: url": ({"json": changed(url="javascript:alert(1)")}, "url"),
    "url missing": ({"json": changed(url=None)}, "url"),
    "url of 2,049 characters": ({"json": changed(url="https://blog.example/" + "a" * 2028)}, "url"),
    # Under the limit as sent, over it once the query is percent-encoded or the path counted in bytes.
    "url over the limit once normalised": ({"json": changed(url="/?q=" + "é" * 2000)}, "url"),
    "url of 2,000 characters in 6,000 bytes": ({"json": changed(url=CJK_PATH)}, "url"),
    "url with an unpaired surrogate": (raw('{"site": "test", "url": "/\\ud800", "body": "b"}'), "url"),
    "site missing": ({"json": changed(site=None)}, "site"),
    "malformed JSON": (raw('{"site": "test", "body": '), "json"),
    "a JSON array": (raw('["test", "hello"]'), "json"),
    "a JSON string": (raw('"hello"'), "json"),
    "JSON null": (raw("null"), "json"),
    "no body at all": ({"content": b"", "headers": JSON_HEADERS}, "json"),
    "form data instead of JSON": ({"data": {"site": "test", "body": "hi"}}, "json"),
}


async def test_a_comment_breaking_a_rule_is_refused_naming_the_field(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    before = await snapshot(client, ctx)
    answers = {
        case: refusal(await client.post("/api/v1/comments", **request))
        for case, (request, _) in COMMENT_REFUSALS.items()
    }
    assert answers == {case: (422, "invalid_input", {field}) for case, (_, field) in COMMENT_REFUSALS.items()}
    assert await snapshot(client, ctx) == before


async def test_every_broken_rule_is_reported_at_once(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    payload = changed(body="", author_name="N" * 101, author_email="nope", author_website="javascript:0")
    fields = error_fields(await client.post("/api/v1/comments", json=payload), 422, "invalid_input")
    assert fields == {
        "body": "must not be empty",
        "author.name": "must be at most 100 characters",
        "author.email": fields["author.email"],  # worded by email-validator
        "author.website": "must be an http:// or https:// address",
    }
    assert fields["author.email"].startswith("is not a valid e-mail address")
    assert _stored_comments(ctx) == 0


async def test_the_rule_says_what_the_limit_is(client: httpx.AsyncClient, site: str) -> None:
    fields = error_fields(
        await client.post("/api/v1/comments", json=changed(body="x" * 10_001)), 422, "invalid_input"
    )
    assert fields == {"body": "must be at most 10,000 characters (it has 10,001)"}


async def test_malformed_json_says_what_is_wrong_with_it(client: httpx.AsyncClient, site: str) -> None:
    fields = error_fields(await client.post("/api/v1/comments", **raw('{"body": ')), 422, "invalid_input")
    assert fields["json"].startswith("is not valid JSON")


async def test_values_at_their_limits_are_accepted(client: httpx.AsyncClient, site: str) -> None:
    longest_url = "https://blog.example/" + "a" * 2027
    assert len(longest_url) == 2048
    payload = comment_payload("x" * 10_000, url=longest_url, name="N" * 100) | {"title": "T" * 500}
    response = await client.post("/api/v1/comments", json=payload)
    assert response.status_code == 201, response.text
    assert response.json()["comment"]["author"]["name"] == "N" * 100
    page = await read(client, longest_url)
    assert page["thread"]["comment_count"] == 1 and page["thread"]["title"] == "T" * 500


async def test_a_parent_from_another_thread_is_refused(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    elsewhere = (await post(client, "over there", url=OTHER_ARTICLE))["comment"]["id"]
    before = await snapshot(client, ctx)
    response = await client.post("/api/v1/comments", json=comment_payload("reply", parent_id=elsewhere))
    fields = error_fields(response, 422, "invalid_input")
    assert fields == {"parent_id": "must be a comment in the same thread"}
    assert await snapshot(client, ctx) == before


async def test_a_parent_that_does_not_exist_is_refused(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    before = await snapshot(client, ctx)
    nowhere = existing["id"] + 1000
    response = await client.post("/api/v1/comments", json=comment_payload("reply", parent_id=nowhere))
    assert set(error_fields(response, 422, "invalid_input")) == {"parent_id"}
    assert await snapshot(client, ctx) == before


async def test_a_refused_first_comment_does_not_create_the_thread(
    client: httpx.AsyncClient, site: str
) -> None:
    payload = comment_payload("reply", url=OTHER_ARTICLE, parent_id=999)
    response = await client.post("/api/v1/comments", json=payload)
    assert set(error_fields(response, 422, "invalid_input")) == {"parent_id"}
    assert (await read(client, OTHER_ARTICLE))["thread"]["title"] is None  # no thread, so no title kept


# --- unknown sites and closed threads --------------------------------------------------------------

UNKNOWN_SITE_KEYS = ["elsewhere", "TEST", "te\x00st", "test\n", "x" * 300]


async def test_an_unknown_site_is_404_on_write(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    before = await snapshot(client, ctx)
    answers = {
        key: refusal(await client.post("/api/v1/comments", json=comment_payload(site=key)))
        for key in UNKNOWN_SITE_KEYS
    }
    assert answers == {key: (404, "unknown_site", {"site"}) for key in UNKNOWN_SITE_KEYS}
    assert await snapshot(client, ctx) == before


async def test_an_unknown_site_is_404_on_read(client: httpx.AsyncClient, site: str) -> None:
    asked = [(path, key) for path in ("/api/v1/comments", "/api/v1/counts") for key in UNKNOWN_SITE_KEYS]
    answers = {
        (path, key): refusal(await client.get(path, params={"site": key, "url": ARTICLE}))
        for path, key in asked
    }
    assert answers == {question: (404, "unknown_site", {"site"}) for question in asked}


async def test_a_closed_thread_refuses_comments_and_replies_with_403(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    close_thread(ctx)
    before = await snapshot(client, ctx)
    comment = await client.post("/api/v1/comments", json=comment_payload("too late"))
    assert set(error_fields(comment, 403, "thread_closed")) == {"url"}
    reply = await client.post("/api/v1/comments", json=comment_payload("too late", parent_id=existing["id"]))
    assert set(error_fields(reply, 403, "thread_closed")) == {"url"}
    assert await snapshot(client, ctx) == before


async def test_a_closed_thread_still_reads_and_says_it_is_closed(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    close_thread(ctx)
    page = await read(client)
    assert page["thread"]["closed"] is True
    assert [c["id"] for c in page["comments"]] == [existing["id"]]
    counts = await client.get("/api/v1/counts", params={"site": "test", "url": ARTICLE})
    assert counts.json() == {"counts": {ARTICLE: 1}}


# --- reading -----------------------------------------------------------------------------------------

QUERY_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "limit 0": ({"limit": 0}, "limit"),
    "limit 1001": ({"limit": 1001}, "limit"),
    "limit not a number": ({"limit": "ten"}, "limit"),
    "unknown sort": ({"sort": "best"}, "sort"),
    "garbled cursor": ({"cursor": "not-a-cursor"}, "cursor"),
    "ftp url": ({"url": "ftp://blog.example/x"}, "url"),
    "url missing": ({"url": None}, "url"),
    "site missing": ({"site": None}, "site"),
}


async def test_a_bad_thread_query_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, site: str
) -> None:
    def query(params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ({"site": site, "url": ARTICLE} | params).items() if v is not None}

    answers = {
        case: refusal(await client.get("/api/v1/comments", params=query(params)))
        for case, (params, _) in QUERY_REFUSALS.items()
    }
    assert answers == {case: (422, "invalid_input", {field}) for case, (_, field) in QUERY_REFUSALS.items()}


async def test_limits_at_the_edges_are_accepted(client: httpx.AsyncClient, site: str) -> None:
    await read(client, limit=1)
    await read(client, limit=1000)


async def test_a_bad_counts_query_is_refused_naming_the_url(client: httpx.AsyncClient, site: str) -> None:
    missing = await client.get("/api/v1/counts", params={"site": site})
    assert error_fields(missing, 422, "invalid_input") == {"url": "is required"}
    second_bad = await client.get(
        "/api/v1/counts", params={"site": site, "url": [ARTICLE, "ftp://blog.example/x"]}
    )
    assert set(error_fields(second_bad, 422, "invalid_input")) == {"url[1]"}


# --- likes, edit tokens, ids and previews -------------------------------------------------------------


async def test_a_like_without_a_proper_liker_id_is_refused(
    client: httpx.AsyncClient, existing: dict[str, Any]
) -> None:
    like = f"/api/v1/comments/{existing['id']}/like"
    liker_headers: list[dict[bytes, bytes]] = [
        {},
        {b"X-Rejoinder-Liker": b"short"},
        {b"X-Rejoinder-Liker": b"x" * 129},
        {b"X-Rejoinder-Liker": "liker-é-0001".encode()},  # not ASCII
    ]
    for headers in liker_headers:
        for response in (await client.put(like, headers=headers), await client.delete(like, headers=headers)):
            assert set(error_fields(response, 422, "invalid_input")) == {"X-Rejoinder-Liker"}
    assert (await read(client))["comments"][0]["likes"] == 0


async def test_liking_a_comment_that_does_not_exist_is_404(client: httpx.AsyncClient, site: str) -> None:
    response = await client.put("/api/v1/comments/12345/like", headers={"X-Rejoinder-Liker": "liker-0001"})
    assert set(error_fields(response, 404, "comment_not_found")) == {"comment_id"}


async def test_editing_or_deleting_without_a_bearer_token_is_401(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    before = await snapshot(client, ctx)
    url = f"/api/v1/comments/{existing['id']}"
    for headers in ({}, {"Authorization": "Basic YWRhOnNlY3JldA=="}, {"Authorization": "Bearer "}):
        for response in (
            await client.patch(url, json={"body": "changed"}, headers=headers),
            await client.delete(url, headers=headers),
        ):
            assert set(error_fields(response, 401, "unauthorized")) == {"Authorization"}
    assert await snapshot(client, ctx) == before


async def test_a_comment_id_that_is_not_an_id_is_refused(client: httpx.AsyncClient, site: str) -> None:
    for comment_id in ("abc", "0", "-1", str(2**63)):
        response = await client.patch(
            f"/api/v1/comments/{comment_id}", json={"body": "x"}, headers={"Authorization": "Bearer token"}
        )
        assert set(error_fields(response, 422, "invalid_input")) == {"comment_id"}, comment_id


async def test_a_bad_preview_is_refused_naming_the_body(client: httpx.AsyncClient, site: str) -> None:
    requests: list[dict[str, Any]] = [
        {"json": {"body": "x" * 10_001}},
        {"json": {}},
        {"json": {"body": ["x"]}},
        raw('{"body": "\\ud800"}'),
    ]
    for request in requests:
        assert refusal(await client.post("/api/v1/preview", **request)) == (422, "invalid_input", {"body"})


# --- routes and request size ---------------------------------------------------------------------------


async def test_unknown_routes_are_404_in_the_error_shape(client: httpx.AsyncClient, site: str) -> None:
    for path in ("/api/v1/nothing-here", "/api/v2/comments", "/api/v1/comments/1/replies", "/no-such-page"):
        assert refusal(await client.get(path)) == (404, "not_found", set()), path


async def test_a_wrong_method_is_405_in_the_error_shape(client: httpx.AsyncClient, site: str) -> None:
    assert refusal(await client.post("/api/v1/counts")) == (405, "method_not_allowed", set())


def _oversized_payload() -> bytes:
    """Valid JSON of about 70 KB: only its size is wrong."""
    return httpx.Request("POST", "/", json=comment_payload("x" * 70_000)).read()


async def test_a_request_body_over_64_kib_is_413(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    before = await snapshot(client, ctx)
    content = _oversized_payload()
    response = await client.post("/api/v1/comments", content=content, headers=JSON_HEADERS)
    assert int(response.request.headers["content-length"]) == len(content) > 65_536
    assert error_fields(response, 413, "payload_too_large") == {"body": "must be at most 65,536 bytes"}
    assert await snapshot(client, ctx) == before


async def test_a_chunked_request_body_over_64_kib_is_413(
    client: httpx.AsyncClient, ctx: Context, existing: dict[str, Any]
) -> None:
    before = await snapshot(client, ctx)
    content = _oversized_payload()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 8192):
            yield content[start : start + 8192]

    response = await client.post("/api/v1/comments", content=chunks(), headers=JSON_HEADERS)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert error_fields(response, 413, "payload_too_large") == {"body": "must be at most 65,536 bytes"}
    assert await snapshot(client, ctx) == before


async def test_a_chunked_request_body_under_the_limit_is_accepted(
    client: httpx.AsyncClient, site: str
) -> None:
    content = httpx.Request("POST", "/", json=comment_payload("sent in pieces")).read()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 16):
            yield content[start : start + 16]

    response = await client.post("/api/v1/comments", content=chunks(), headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    assert response.json()["comment"]["html"] == "<p>sent in pieces</p>"
