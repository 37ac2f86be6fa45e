"""New comments answered before the router (``web/fastposts.py``): a good anonymous comment, and one the
service refuses, get the answer the route gives, and every other request — a body the route refuses, a
reader's comment — is answered by the router as before, its body replayed as it came. Each request goes
through the whole app twice: once as built, once built without the fast path; answers must be equal but
for what differs from one new comment to the next (its id, times and edit token). Both backends."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rejoinder import comments
from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.sites import create_site
from rejoinder.spam import pow
from rejoinder.web.app import Rejoinder
from rejoinder.web.telemetry import ROUTE_KEY
from rejoinder.web.turns import WriteTurns
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, FastAndPlain, call_raw, comment_payload

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
PATH = "/api/v1/comments"
JSON_TYPE = (b"content-type", b"application/json")


class Apps(FastAndPlain):
    """The app with and without the fast path, called with raw ASGI scopes from synchronous tests."""

    fast_path = "posts"

    def call(
        self, app: FastAPI, headers: Headers, chunks: list[bytes], method: str = "POST"
    ) -> tuple[Answer, dict[str, Any]]:
        return call_raw(self.portal, app, method, PATH, headers, chunks)

    def both(self, headers: Headers, chunks: list[bytes]) -> tuple[Answer, Answer, bool]:
        """The answers with and without the fast path, and whether the fast path gave the first."""
        fast, scope = self.call(self.fast, headers, chunks)
        plain, _ = self.call(self.plain, headers, chunks)
        return fast, plain, ROUTE_KEY in scope and "endpoint" not in scope


def sent_as_json(payload: object) -> tuple[Headers, list[bytes]]:
    body = json.dumps(payload).encode()
    return [JSON_TYPE, (b"content-length", b"%d" % len(body))], [body]


def alike(answer: Answer) -> tuple[int, Headers, object]:
    """An answer with what differs between two new comments (id, times, edit token) blanked out."""
    status, headers, body = answer
    if status != 201:
        return status, headers, body
    posted = json.loads(body)
    posted["edit_token"] = posted["edit_until"] = posted["comment"]["created_at"] = "…"
    posted["comment"]["id"] = 0
    length = [(name, value) for name, value in headers if name != b"content-length"]
    return status, length, posted


@pytest.fixture
def apps(database_url: str) -> Iterator[tuple[Apps, Context]]:
    settings = load_settings(
        environ={}, overrides={"database_url": database_url, "secret_key": "test-secret"}
    )
    ctx = open_context(settings)
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    try:
        with start_blocking_portal() as portal:
            yield Apps(portal, settings, ctx), ctx
    finally:
        ctx.close()


def test_a_comment_is_answered_as_the_route_answers_it(apps: tuple[Apps, Context]) -> None:
    both, _ = apps
    headers, chunks = sent_as_json(comment_payload("Seen *first*"))
    origin = [(b"origin", SITE_ORIGIN.encode()), (b"user-agent", b"Tests/1.0")]
    plain, _ = both.call(both.plain, headers + origin, chunks)  # the router's CORS remembers the origin
    fast, scope = both.call(both.fast, headers + origin, chunks)
    assert ROUTE_KEY in scope and "endpoint" not in scope  # answered before the router
    assert fast[0] == 201 and alike(fast) == alike(plain)
    assert (b"access-control-allow-origin", SITE_ORIGIN.encode()) in fast[1]
    posted = json.loads(fast[2])
    assert posted["comment"]["html"] == "<p>Seen <em>first</em></p>"
    assert posted["comment"]["id"] != json.loads(plain[2])["comment"]["id"]  # both stored


def test_a_body_in_pieces_is_read_whole_and_replayed_whole(apps: tuple[Apps, Context]) -> None:
    both, _ = apps
    good, _ = sent_as_json(comment_payload("In three pieces"))
    body = json.dumps(comment_payload("In three pieces")).encode()
    pieces = [body[:10], body[10:20], body[20:]]
    fast, scope = both.call(both.fast, good, pieces)
    assert fast[0] == 201 and "endpoint" not in scope
    # Broken JSON in pieces: declined, and the router reads the same pieces and names the problem.
    broken = [body[:10], b"}", body[20:]]
    lengths = [JSON_TYPE, (b"content-length", b"%d" % len(b"".join(broken)))]
    fast, scope = both.call(both.fast, lengths, broken)
    assert fast[0] == 422 and "endpoint" in scope
    assert json.loads(fast[2])["error"]["fields"]["json"].startswith("is not valid JSON")


def test_what_the_service_refuses_is_answered_as_the_route_answers_it_and_tried_once(
    apps: tuple[Apps, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    both, _ = apps
    tried: list[str] = []
    post_comment_async = comments.post_comment_async

    async def counted(ctx: Context, new: comments.NewComment, client: comments.Client) -> Any:
        tried.append(new.site)
        return await post_comment_async(ctx, new, client)

    monkeypatch.setattr(comments, "post_comment_async", counted)
    for payload in (comment_payload(site="elsewhere"), comment_payload(url="ftp://blog.example/x")):
        headers, chunks = sent_as_json(payload)
        fast, scope = both.call(both.fast, headers, chunks)
        plain, _ = both.call(both.plain, headers, chunks)
        assert fast == plain and fast[0] in (404, 422)
        assert ROUTE_KEY in scope and "endpoint" not in scope  # answered before the router
    assert tried == ["elsewhere", "elsewhere", "test", "test"]  # once with, once without the fast path


def test_a_proof_of_work_asked_for_and_a_rate_limit_are_answered_as_the_route_answers_them(
    apps: tuple[Apps, Context],
) -> None:
    both, ctx = apps
    quiet = {"min_submit_seconds": 0, "rate_limit_ip": "off"}
    create_site(ctx, "guarded", "Guarded", [SITE_ORIGIN], pow="always", rate_limit_identity="off", **quiet)
    create_site(ctx, "limited", "Limited", [SITE_ORIGIN], pow="off", rate_limit_identity="1/minute", **quiet)
    origin = [(b"origin", SITE_ORIGIN.encode())]
    headers, chunks = sent_as_json(comment_payload("Solve it first", site="guarded"))
    plain, _ = both.call(both.plain, headers + origin, chunks)  # the router's CORS remembers the origin
    fast, scope = both.call(both.fast, headers + origin, chunks)
    assert unsalted(fast) == unsalted(plain) and "endpoint" not in scope
    assert fast[0] == 422 and json.loads(fast[2])["error"]["code"] == "challenge_required"
    assert json.loads(fast[2])["error"]["challenge"]["maxnumber"] == pow.max_number(0)
    assert (b"access-control-allow-origin", SITE_ORIGIN.encode()) in fast[1]
    headers, chunks = sent_as_json(comment_payload("Once a minute", site="limited"))
    assert both.call(both.fast, headers, chunks)[0][0] == 201
    fast, scope = both.call(both.fast, headers, chunks)
    plain, _ = both.call(both.plain, headers, chunks)
    assert "endpoint" not in scope and fast[0] == 429
    # The seconds left may have moved on by one between the two.
    assert re.sub(rb"\d+", b"N", repr(fast).encode()) == re.sub(rb"\d+", b"N", repr(plain).encode())
    assert fast[1][0][0] == b"retry-after"  # the handler's header, first as it sends it


def unsalted(answer: Any) -> Any:
    """An answer with the random parts of the challenge it carries (its salt, and what that makes)
    masked: each refusal makes a challenge of its own."""
    status, headers, body = answer
    return status, headers, re.sub(rb'"(challenge|salt|signature)":"[^"]*"', rb'"\1":"-"', body)


def test_comments_answered_early_keep_to_the_write_turns(apps: tuple[Apps, Context]) -> None:
    both, _ = apps
    app = both.fast
    assert isinstance(app, Rejoinder) and app.envelope is not None
    (turns,) = [middleware for middleware in app.user_middleware if middleware.cls is WriteTurns]
    assert turns.kwargs["slices"] is app.envelope.slices


# Bodies around the good comment, which most of them are: fields the model or the service refuses, the
# wrong types, broken or odd JSON, and headers the fast path leaves to the router.
GOOD = comment_payload("Hello **there**")
CHANGES = st.sampled_from(
    [{}] * 16
    + [
        {"parent_id": 0},
        {"parent_id": "7"},
        {"parent_id": 999_999},
        {"body": ""},
        {"body": 42},
        {"body": "x" * 20_000},
        {"site": None},
        {"url": "not a url"},
        {"url": ARTICLE + "?utm_source=feed"},
        {"author": {"name": "Ada", "email": "not an address"}},
        {"author": {"name": "Ada", "website": "javascript:alert(1)"}},
        {"author": "Ada"},
        {"notify": ["thread"]},
        {"notify": ["everything"]},
        {"honeypot": "filled in"},
        {"form_token": "x" * 501},
        {"title": "T" * 1000},
        {"extra": True},
    ]
)
DROPPED = st.sampled_from([None] * 12 + ["site", "url", "body", "author"])
RAW = st.sampled_from(
    [None] * 30 + [b"", b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"site": "test", "site": 1}']
)
EXTRA = st.sampled_from(
    [[]] * 8
    + [
        [(b"authorization", b"Bearer rdr_not-a-session")],
        [(b"origin", SITE_ORIGIN.encode())],
        [(b"origin", b"https://elsewhere.example")],
        [(b"user-agent", b"Tests/1.0"), (b"user-agent", b"Tests/2.0")],
        [(b"transfer-encoding", b"chunked")],
    ]
)
DECLARED = st.sampled_from([True, True, True, False])  # a Content-Length, mostly
TYPES = st.sampled_from(
    [[JSON_TYPE]] * 6
    + [[], [(b"content-type", b"text/plain")], [(b"content-type", b"application/json; charset=utf-8")]]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=CHANGES, dropped=DROPPED, raw=RAW, extra=EXTRA, types=TYPES, declared=DECLARED)
def test_the_fast_path_answers_only_what_the_route_answers_the_same(
    apps: tuple[Apps, Context],
    change: dict[str, Any],
    dropped: str | None,
    raw: bytes | None,
    extra: Headers,
    types: Headers,
    declared: bool,
) -> None:
    both, _ = apps
    payload = {**GOOD, **change}
    if dropped is not None:
        payload.pop(dropped, None)
    body = raw if raw is not None else json.dumps(payload).encode()
    length = [(b"content-length", b"%d" % len(body))] if declared or not body else []
    headers = types + length + extra
    fast, plain, answered_early = both.both(headers, [body])
    assert alike(fast) == alike(plain), (payload, raw, headers)
    event("answered before the router" if answered_early else f"answered by the router: {fast[0]}")
    if answered_early:  # only an anonymous author's comment the model takes: stored, or the service's refusal
        assert fast[0] == 201 or json.loads(fast[2])["error"]["code"]
        assert all(name != b"authorization" for name, _ in headers)
