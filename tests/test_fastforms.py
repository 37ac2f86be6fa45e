"""Comment forms answered before the router (``web/fastforms.py``): the answer the route gives, header for
header, for every query the route reads the same way, and every other request — an unknown site, a query
the route reads otherwise or refuses, an origin not remembered — answered by the router as before. Each
request goes through the whole app twice, once as built and once built without the fast path; the answers
must be equal but for what is new in every form (its token, its challenge's salt and signature). Under a
real server the protocol writes the form itself, in the bytes uvicorn's cycle writes. Both backends."""

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

from rejoinder import providers
from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.sites import create_site, get_site
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import FastAndPlain, call_raw
from tests.test_wire_answers import VARYING, counting, exchange, get, served

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
FORM = "/api/v1/form"
# Sites of each kind a form shows: the filter on and a challenge in every form; the filter on, a challenge
# only when asked or when the address is busy; the filter off.
QUIET = {"min_submit_seconds": 0, "rate_limit_ip": "off", "rate_limit_identity": "off"}
SITES: dict[str, dict[str, Any]] = {
    "always": {**QUIET, "pow": "always"},
    "doubtful": {**QUIET, "pow": "doubtful"},
    "plain": {"spam_filter": False},
}
# One provider from the settings file, for one site only; another stored in the database, for every site.
PROVIDERS = [
    {"name": "hub", "preset": "github", "client_id": "id", "client_secret": "secret", "sites": ["always"]}
]


class Apps(FastAndPlain):
    """The app with and without the fast path, called with raw ASGI scopes from synchronous tests."""

    fast_path = "forms"

    def call(self, app: FastAPI, target: str, headers: Headers) -> tuple[Answer, dict[str, Any]]:
        return call_raw(self.portal, app, "GET", target, headers, [])

    def both(self, target: str, headers: Headers) -> tuple[Answer, Answer, bool]:
        """The answers with and without the fast path, and whether the fast path gave the first."""
        fast, scope = self.call(self.fast, target, headers)
        plain, _ = self.call(self.plain, target, headers)
        return fast, plain, "endpoint" not in scope  # the router names the endpoint it calls


def alike(answer: Answer) -> tuple[int, Headers, object]:
    """An answer with what is new in every form (its token, its challenge's salt, hash and signature) and
    so its length blanked out."""
    status, headers, body = answer
    unchanging = [(name, value) for name, value in headers if name != b"content-length"]
    if status != 200:
        return status, unchanging, body
    form = json.loads(body)
    if form["form_token"]:
        form["form_token"] = "…"
    if form["challenge"] is not None:
        form["challenge"].update(salt="…", challenge="…", signature="…")
    return status, unchanging, form


@pytest.fixture
def apps(database_url: str) -> Iterator[tuple[Apps, Context]]:
    overrides = {"database_url": database_url, "secret_key": "test-secret", "login_providers": PROVIDERS}
    settings = load_settings(environ={}, overrides=overrides)
    ctx = open_context(settings)
    for key, rules in SITES.items():
        create_site(ctx, key, key.title(), [SITE_ORIGIN], **rules)
    providers.add(ctx, "press", "wordpress", "press-id", "press-secret")
    try:
        with start_blocking_portal() as portal:
            yield Apps(portal, settings, ctx), ctx
    finally:
        ctx.close()


def test_a_form_is_answered_as_the_route_answers_it(apps: tuple[Apps, Context]) -> None:
    both, ctx = apps
    origin = [(b"origin", SITE_ORIGIN.encode())]
    plain, _ = both.call(both.plain, f"{FORM}?site=always", origin)  # the route remembers what it read
    fast, scope = both.call(both.fast, f"{FORM}?site=always", origin)
    assert "endpoint" not in scope  # answered before the router
    assert fast[0] == 200 and alike(fast) == alike(plain)
    assert (b"cache-control", b"no-store") in fast[1]
    assert (b"access-control-allow-origin", SITE_ORIGIN.encode()) in fast[1]
    form = json.loads(fast[2])
    assert [provider["id"] for provider in form["site"]["providers"]] == ["hub", "press"]
    assert form["challenge"]["maxnumber"] == 50_000
    assert ctx.spam.tokens.check(form["form_token"], "always", 0).evidence == []  # a token of the site's


def test_a_busy_address_and_a_harder_challenge_asked_for_get_what_the_route_gives(
    apps: tuple[Apps, Context],
) -> None:
    both, ctx = apps
    site = get_site(ctx, "doubtful")
    for _ in range(9):  # comments the address sent in the hour: its next challenge is two levels harder
        ctx.spam.rate_limits.count_recent(site.id, "203.0.113.7")
    both.call(both.plain, f"{FORM}?site=doubtful", [])
    for target, level in ((f"{FORM}?site=doubtful", 2), (f"{FORM}?site=doubtful&difficulty=5", 5)):
        fast, plain, early = both.both(target, [])
        assert early and alike(fast) == alike(plain)
        assert json.loads(fast[2])["challenge"]["maxnumber"] == 50_000 << level


def test_what_memory_does_not_hold_goes_to_the_route(apps: tuple[Apps, Context]) -> None:
    both, ctx = apps
    ctx.sites.clear()
    fast, plain, early = both.both(f"{FORM}?site=plain", [])
    assert not early and alike(fast) == alike(plain)  # the site read by the route, and remembered
    fast, plain, early = both.both(f"{FORM}?site=plain", [])
    assert early and alike(fast) == alike(plain)
    ctx.login_providers.clear()  # due to be read again
    fast, plain, early = both.both(f"{FORM}?site=plain", [])
    assert not early and alike(fast) == alike(plain)
    fast, plain, early = both.both(f"{FORM}?site=nowhere", [])
    assert not early and fast == plain and fast[0] == 404
    assert json.loads(fast[2])["error"]["code"] == "unknown_site"


# Queries around the usual ones: the fields repeated, missing or blank, difficulties the route reads some
# other way or refuses, fields the route ignores, unknown sites, escapes.
SITE_FIELDS = st.sampled_from(
    ["site=always"] * 4
    + ["site=doubtful", "site=plain", "site=", "site=nowhere", "site=%61lways", "site=Always"]
)
DIFFICULTIES = st.sampled_from(
    [None] * 6 + ["0", "1", "6", "7", "05", "+1", " 1", "-1", "1.0", "x", "", "9" * 5000, "%32"]
)
OTHERS = st.sampled_from(
    [[]] * 6
    + [["url=https%3A%2F%2Fblog.example%2Fa"], ["url="], ["cursor=x"], ["site=plain"], ["difficulty=1"]]
)
ORIGINS = st.sampled_from(
    [[]] * 4 + [[(b"origin", SITE_ORIGIN.encode())], [(b"origin", b"https://elsewhere.example")]]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(site=SITE_FIELDS, difficulty=DIFFICULTIES, others=OTHERS, origin=ORIGINS, dropped=st.booleans())
def test_the_fast_path_answers_only_what_the_route_answers_the_same(
    apps: tuple[Apps, Context],
    site: str,
    difficulty: str | None,
    others: list[str],
    origin: Headers,
    dropped: bool,
) -> None:
    both, _ = apps
    fields = ([] if dropped else [site]) + others
    if difficulty is not None:
        fields.append(f"difficulty={difficulty}")
    target = f"{FORM}?{'&'.join(fields)}"
    both.call(both.plain, target, origin)  # whatever the route reads once is remembered from then on
    fast, plain, early = both.both(target, origin)
    assert alike(fast) == alike(plain), target
    event("answered before the router" if early else f"answered by the router: {fast[0]}")
    if early:
        assert fast[0] == 200


# What differs between two forms besides the date and the request id: the token and the challenge's parts,
# and so the length.
NEW_IN_EVERY_FORM = re.compile(rb'"(form_token|salt|challenge|signature)":"[^"]*"')
LENGTH = re.compile(rb"^content-length: \d+", re.MULTILINE)


async def test_the_protocol_writes_a_form_itself_in_the_bytes_uvicorn_writes_for_the_route(
    app: Any, ctx: Context
) -> None:
    create_site(ctx, "always", "Always", [SITE_ORIGIN], **SITES["always"])
    request = get(f"{FORM}?site=always", f"origin: {SITE_ORIGIN}")
    written = counting(app)
    answers = []
    for protocol, fast in (("httptools", False), ("rejoinder.web.wire:HttpProtocol", True)):
        app.envelope.forms = fast  # uvicorn's cycle to the route; our protocol on its own
        async with served(app, protocol) as (_, port):
            answer = await exchange(port, request, 1)
        blanked = NEW_IN_EVERY_FORM.sub(rb'"\1":"-"', VARYING.sub(b"\\1: -", answer))
        answers.append(LENGTH.sub(b"content-length: -", blanked))
    assert answers[0] == answers[1], answers
    assert answers[1].startswith(b"HTTP/1.1 200 OK\r\n") and b'"form_token":"-"' in answers[1]
    assert written == [200]  # ours, by the protocol: what the route read is remembered
