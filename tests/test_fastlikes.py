"""Likes answered before the router (``web/fastlikes.py``): the same bytes the route sends for a good like
or unlike, and every other request — malformed, refused by the service, or a logged-in reader's —
answered by the router as before. Each request goes through the whole app twice: once as built, once
built without the fast path; likes are idempotent per liker, so the two answers must be equal. Both
backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.sites import create_site
from rejoinder.web.schemas import MAX_ID
from rejoinder.web.telemetry import ROUTE_KEY
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import FastAndPlain, call_raw, post

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
LIKER = b"x-rejoinder-liker"


class Apps(FastAndPlain):
    """The app with and without the fast path, called with raw ASGI scopes from synchronous tests."""

    fast_path = "likes"

    def call(self, app: FastAPI, method: str, path: str, headers: Headers) -> tuple[Answer, dict[str, Any]]:
        return call_raw(self.portal, app, method, path, headers, [])

    def both(self, method: str, path: str, headers: Headers) -> tuple[Answer, Answer, bool]:
        """The answers with and without the fast path, and whether the fast path gave the first."""
        fast, scope = self.call(self.fast, method, path, headers)
        plain, _ = self.call(self.plain, method, path, headers)
        return fast, plain, ROUTE_KEY in scope  # set by the fast path when it answers


@pytest.fixture
def apps(database_url: str) -> Iterator[tuple[Apps, Context, int]]:
    # The server's own limit on likes off: every request is sent twice, and the comparison is the point.
    settings = load_settings(
        environ={},
        overrides={"database_url": database_url, "secret_key": "test-secret", "like_rate_limit": "off"},
    )
    ctx = open_context(settings)
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    try:
        with start_blocking_portal() as portal:
            both = Apps(portal, settings, ctx)
            comment_id = portal.call(posted, both.fast)
            yield both, ctx, comment_id
    finally:
        ctx.close()


async def posted(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return int((await post(http, "Worth a like"))["comment"]["id"])


def test_a_like_and_an_unlike_are_answered_as_the_route_answers_them(apps: tuple[Apps, Context, int]) -> None:
    both, ctx, comment_id = apps
    path = f"/api/v1/comments/{comment_id}/like"
    liker: Headers = [(LIKER, b"reader-000001")]
    liked, _ = both.call(both.fast, "PUT", path, liker)
    unliked, scope = both.call(both.fast, "DELETE", path, liker)
    assert ROUTE_KEY in scope and "endpoint" not in scope  # answered before the router
    assert liked[0] == 200 and liked[2] == b'{"likes":1,"liked":true}'
    assert unliked[0] == 200 and unliked[2] == b'{"likes":0,"liked":false}'
    assert both.call(both.plain, "PUT", path, liker)[0] == liked
    assert both.call(both.plain, "DELETE", path, liker)[0] == unliked


@pytest.mark.usefixtures("steady_rate_windows")
def test_what_the_service_refuses_is_answered_by_the_router_and_tried_once(database_url: str) -> None:
    """Two likes a minute allowed: two likes of a comment that is not there are each a 404 from the app's
    error handler, and the third is refused for the rate — so each was counted once, not twice."""
    settings = load_settings(
        environ={},
        overrides={"database_url": database_url, "secret_key": "test-secret", "like_rate_limit": "2/minute"},
    )
    ctx = open_context(settings)
    try:
        create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
        with start_blocking_portal() as portal:
            both = Apps(portal, settings, ctx)
            missing = "/api/v1/comments/999/like"
            answers = [both.call(both.fast, "PUT", missing, [(LIKER, b"reader-000%d" % n)]) for n in range(3)]
        statuses = [answer[0] for answer, _ in answers]
        assert statuses == [404, 404, 429]
        assert all("endpoint" in scope for _, scope in answers)  # each answered by the route
        assert b'"comment_id":"is not a published comment"' in answers[0][0][2]
    finally:
        ctx.close()


# Requests around the well-formed like, which most of them are: ids as the route might read them, liker
# ids the service might refuse, repeated or missing headers, a reader's token.
IDS = st.one_of(
    st.sampled_from(["0", "00", "01", "+1", "-1", "1.0", "1e3", " 1", "abc", "", "999"]),
    st.sampled_from([str(MAX_ID), str(MAX_ID + 1)]),
    st.integers(min_value=0, max_value=10**20).map(str),
)
SUFFIXES = st.sampled_from(["/like"] * 8 + ["/like/", "/likes", "/like/x", "//like", "/LIKE"])
GOOD_LIKERS = st.from_regex(rb"\A[ -~]{8,20}\Z")
LIKERS = st.one_of(
    GOOD_LIKERS,
    GOOD_LIKERS,
    st.sampled_from([b"reader-000001", b" reader-000001 ", b"short", b"x" * 128, b"x" * 129]),
    st.sampled_from([b"reader-\xe9-0001", b"reader-\t-0001", b"\treader-0001"]),
    st.binary(min_size=0, max_size=20),
)
EXTRA = st.sampled_from(
    [[]] * 6
    + [
        [(b"authorization", b"Bearer rdr_not-a-session")],
        [(b"authorization", b"Basic YWRhOnNlY3JldA==")],
        [(b"content-type", b"application/json")],
        [(b"origin", SITE_ORIGIN.encode())],
        [(b"origin", b"https://elsewhere.example")],
        [(b"content-length", b"0")],  # as browsers send a PUT without a body
        [(b"content-length", b"2")],
        [(b"transfer-encoding", b"chunked")],
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["PUT", "PUT", "DELETE", "DELETE", "GET", "POST", "PATCH"]),
    comment=st.one_of(st.none(), st.none(), IDS),
    suffix=SUFFIXES,
    likers=st.one_of(st.lists(LIKERS, min_size=1, max_size=1), st.lists(LIKERS, max_size=2)),
    extra=EXTRA,
)
def test_the_fast_path_answers_only_what_the_route_answers_the_same(
    apps: tuple[Apps, Context, int],
    method: str,
    comment: str | None,
    suffix: str,
    likers: list[bytes],
    extra: Headers,
) -> None:
    both, _, comment_id = apps
    path = f"/api/v1/comments/{comment if comment is not None else comment_id}{suffix}"
    headers = [(LIKER, liker) for liker in likers] + extra
    fast, plain, answered_early = both.both(method, path, headers)
    assert fast == plain, (method, path, headers)
    event("answered before the router" if answered_early else f"answered by the router: {fast[0]}")
    if answered_early:  # only ever a like or an unlike, by an anonymous reader, that the route accepts
        assert fast[0] == 200 and method in ("PUT", "DELETE")
        assert all(name != b"authorization" for name, _ in headers)
