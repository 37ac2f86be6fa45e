"""Logging readers in at a real OpenID Connect provider (tests/oidc), driven with httpx: the popup's
start and callback, the code exchanged for a reader token, and every way the flow must refuse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import update

from rejoinder.context import Context
from rejoinder.settings import Settings, load_settings
from rejoinder.store.schema import login_attempts
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.oidc_provider import OidcProvider, log_in_at_provider, provider_settings

WIDGET_STATE = "widget-state-0123456789abcdef"
PUBLIC_URL = "http://testserver"


@pytest.fixture
def settings(database_url: str, oidc_provider: OidcProvider) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "database_url": database_url,
            "secret_key": "test-secret",
            "public_url": PUBLIC_URL,
            "login_providers": provider_settings(oidc_provider, title="Test ID"),
        },
    )


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(settings)
    yield context
    context.close()


def start_query(**changes: str) -> dict[str, str]:
    return {"site": "test", "origin": SITE_ORIGIN, "state": WIDGET_STATE, **changes}


async def start(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    return await client.get("/auth/oidc/start", params=start_query(**changes))


def popup_data(page: str) -> dict[str, str]:
    found = dict(re.findall(r'data-(origin|state|code|error)="([^"]*)"', page))
    return {key: unescape(value) for key, value in found.items()}


async def callback(client: httpx.AsyncClient, address: str) -> httpx.Response:
    parts = urlsplit(address)
    assert parts.netloc == "testserver", address
    return await client.get(f"{parts.path}?{parts.query}")


async def log_in(client: httpx.AsyncClient, login: str = "ada") -> dict[str, str]:
    """The whole popup: start, the provider's log-in form, the callback page; what it posts to the opener."""
    started = await start(client)
    assert started.status_code == 302, started.text
    page = await callback(client, log_in_at_provider(started.headers["location"], login))
    assert page.status_code == 200, page.text
    return popup_data(page.text)


async def test_a_reader_logs_in_through_the_popup_and_gets_a_token(
    client: httpx.AsyncClient, site: str
) -> None:
    form = (await client.get("/api/v1/form", params={"site": site})).json()
    assert form["site"]["providers"] == [
        {
            "id": "oidc",
            "name": "Test ID",
            "preset": "oidc",
            "login_url": f"{PUBLIC_URL}/auth/oidc/start?site=test",
        }
    ]
    started = await start(client)
    assert started.status_code == 302
    authorize = urlsplit(started.headers["location"])
    asked = parse_qs(authorize.query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    assert asked["state"] != [WIDGET_STATE]  # the provider sees a state of the server's, not the widget's
    assert asked["redirect_uri"] == [f"{PUBLIC_URL}/auth/oidc/callback"]

    page = await callback(client, log_in_at_provider(started.headers["location"]))
    assert page.status_code == 200
    assert '<script src="/auth/popup.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script: the pages' CSP allows none
    assert page.headers["cross-origin-opener-policy"] == "unsafe-none"  # keeps window.opener
    data = popup_data(page.text)
    assert data["origin"] == SITE_ORIGIN and data["state"] == WIDGET_STATE and data["code"]
    assert not data["error"]

    session = await client.post("/api/v1/reader/session", json={"site": site, "code": data["code"]})
    assert session.status_code == 201, session.text
    body = session.json()
    assert body["token"].startswith("rdr_")
    assert body["identity"] == {
        "provider": "oidc",
        "provider_name": "Test ID",
        "name": "Ada",
        "profile_url": "https://people.example.org/ada",
        "avatar_url": None,  # the site does not show providers' pictures
        "email_verified": True,
    }
    me = await client.get(
        "/api/v1/reader", params={"site": site}, headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert me.status_code == 200
    assert me.json() == {"identity": body["identity"], "liked": [], "mine": []}


async def test_popup_js_posts_only_to_the_recorded_origin(client: httpx.AsyncClient) -> None:
    script = await client.get("/auth/popup.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "postMessage(message, origin)" in script.text and "window.close()" in script.text


async def test_a_code_works_once(client: httpx.AsyncClient, site: str) -> None:
    code = (await log_in(client))["code"]
    first = await client.post("/api/v1/reader/session", json={"site": site, "code": code})
    assert first.status_code == 201
    again = await client.post("/api/v1/reader/session", json={"site": site, "code": code})
    assert again.status_code == 401
    assert again.json()["error"]["fields"] == {"code": "is unknown, used or expired"}


async def test_a_tampered_or_made_up_code_is_refused(client: httpx.AsyncClient, site: str) -> None:
    code = (await log_in(client))["code"]
    for wrong in (code[:-2] + ("AA" if not code.endswith("AA") else "BB"), "made-up", ""):
        answer = await client.post("/api/v1/reader/session", json={"site": site, "code": wrong})
        assert answer.status_code == 401, wrong
        assert answer.json()["error"]["fields"] == {"code": "is unknown, used or expired"}


async def test_an_expired_code_is_refused(client: httpx.AsyncClient, site: str, ctx: Context) -> None:
    from rejoinder.store.schema import login_codes

    code = (await log_in(client))["code"]
    with ctx.db.write() as conn:
        conn.execute(update(login_codes).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    answer = await client.post("/api/v1/reader/session", json={"site": site, "code": code})
    assert answer.status_code == 401


async def test_an_origin_the_site_does_not_allow_is_refused_before_the_provider(
    client: httpx.AsyncClient, site: str
) -> None:
    for origin in ("https://evil.example", "", "https://blog.example.evil.example"):
        answer = await start(client, origin=origin)
        assert answer.status_code == 400, origin
        assert "text/html" in answer.headers["content-type"]
        assert "location" not in answer.headers


async def test_a_missing_or_short_widget_state_is_refused(client: httpx.AsyncClient, site: str) -> None:
    assert (await start(client, state="short")).status_code == 400
    assert (await start(client, state="")).status_code == 400


async def test_a_wrong_state_at_the_callback_is_refused(client: httpx.AsyncClient, site: str) -> None:
    started = await start(client)
    returned = log_in_at_provider(started.headers["location"])
    parts = urlsplit(returned)
    query = parse_qs(parts.query)
    forged = urlencode({"code": query["code"][0], "state": "not-the-state-" + "x" * 30})
    answer = await client.get(f"{parts.path}?{forged}")
    assert answer.status_code == 400
    assert "data-code" not in answer.text


async def test_a_replayed_state_is_refused(client: httpx.AsyncClient, site: str) -> None:
    started = await start(client)
    returned = log_in_at_provider(started.headers["location"])
    assert (await callback(client, returned)).status_code == 200
    again = await callback(client, returned)
    assert again.status_code == 400
    assert "data-code" not in again.text


async def test_an_expired_log_in_is_refused(client: httpx.AsyncClient, site: str, ctx: Context) -> None:
    started = await start(client)
    returned = log_in_at_provider(started.headers["location"])
    with ctx.db.write() as conn:
        conn.execute(update(login_attempts).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await callback(client, returned)).status_code == 400


async def test_a_nonce_that_does_not_match_the_id_token_is_refused(
    client: httpx.AsyncClient, site: str, ctx: Context
) -> None:
    started = await start(client)
    returned = log_in_at_provider(started.headers["location"])
    # As if the ID token had been issued for another log-in: the nonce kept here is not the token's.
    with ctx.db.write() as conn:
        conn.execute(update(login_attempts).values(nonce="another-nonce-" + "n" * 30))
    answer = await callback(client, returned)
    assert answer.status_code == 400
    assert "ID token" in answer.text and "data-code" not in answer.text


async def test_a_wrong_pkce_verifier_is_refused_by_the_provider(
    client: httpx.AsyncClient, site: str, ctx: Context
) -> None:
    started = await start(client)
    returned = log_in_at_provider(started.headers["location"])
    with ctx.db.write() as conn:
        conn.execute(update(login_attempts).values(code_verifier="w" * 60))
    answer = await callback(client, returned)
    assert answer.status_code == 400
    assert "refused the code" in answer.text


async def test_a_reader_who_declines_at_the_provider_is_told_to_the_widget(
    client: httpx.AsyncClient, site: str
) -> None:
    started = await start(client)
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    answer = await client.get("/auth/oidc/callback", params={"error": "access_denied", "state": state})
    assert answer.status_code == 200
    data = popup_data(answer.text)
    assert data == {"origin": SITE_ORIGIN, "state": WIDGET_STATE, "code": "", "error": "access_denied"}


async def test_an_unknown_provider_is_refused(client: httpx.AsyncClient, site: str) -> None:
    answer = await client.get("/auth/nope/start", params=start_query())
    assert answer.status_code == 404


async def test_logging_out_revokes_the_token(client: httpx.AsyncClient, site: str) -> None:
    code = (await log_in(client))["code"]
    token = (await client.post("/api/v1/reader/session", json={"site": site, "code": code})).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.delete("/api/v1/reader/session", headers=bearer)).status_code == 204
    assert (await client.delete("/api/v1/reader/session", headers=bearer)).status_code == 204  # idempotent
    answer = await client.get("/api/v1/reader", params={"site": site}, headers=bearer)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert "Authorization" in answer.json()["error"]["fields"]


async def test_a_tampered_or_expired_token_is_refused(
    client: httpx.AsyncClient, site: str, ctx: Context
) -> None:
    from rejoinder.store.schema import reader_sessions

    code = (await log_in(client))["code"]
    token = (await client.post("/api/v1/reader/session", json={"site": site, "code": code})).json()["token"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    answer = await client.get(
        "/api/v1/reader", params={"site": site}, headers={"Authorization": f"Bearer {tampered}"}
    )
    assert answer.status_code == 401
    with ctx.db.write() as conn:
        conn.execute(update(reader_sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    answer = await client.get(
        "/api/v1/reader", params={"site": site}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401


async def test_logging_in_again_updates_the_identity_not_a_second_one(
    client: httpx.AsyncClient, site: str, ctx: Context
) -> None:
    from sqlalchemy import func, select

    from rejoinder.store.schema import identities

    await log_in(client)
    await log_in(client)
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(identities)).scalar_one() == 1


async def test_log_ins_started_are_limited_per_client_address(
    client: httpx.AsyncClient, site: str, steady_rate_windows: None
) -> None:
    statuses = [(await start(client)).status_code for _ in range(21)]
    assert statuses == [302] * 20 + [429]
    refused = await start(client)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


async def test_a_discovery_document_for_another_issuer_is_refused(
    database_url: str, oidc_provider: OidcProvider
) -> None:
    from rejoinder.sites import create_site
    from rejoinder.web.app import create_app

    # The same provider under another name for its host: its discovery document names 127.0.0.1.
    elsewhere = OidcProvider(issuer=oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    configured = load_settings(
        environ={},
        overrides={
            "database_url": database_url,
            "secret_key": "test-secret",
            "public_url": PUBLIC_URL,
            "login_providers": provider_settings(elsewhere),
        },
    )
    context = open_context(configured)
    try:
        create_site(context, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
        transport = httpx.ASGITransport(app=create_app(configured, context=context))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answer = await start(http)
        assert answer.status_code == 400
        assert "discovery document for another issuer" in answer.text
    finally:
        context.close()


async def test_the_popups_last_page_speaks_the_sites_language(
    client: httpx.AsyncClient, site: str, ctx: Context
) -> None:
    from rejoinder.sites import update_site

    update_site(ctx, site, language="de")
    started = await start(client)
    page = await callback(client, log_in_at_provider(started.headers["location"]))
    assert "Du wirst angemeldet" in page.text and 'lang="de"' in page.text
    assert "Fertig. Du kannst dieses Fenster schließen" in page.text  # for a popup cut off from its opener


# ---------------------------------------------- claiming the code when the popup is cut off from the widget


async def claim(client: httpx.AsyncClient, state: str = WIDGET_STATE, site: str = "test") -> httpx.Response:
    return await client.post("/api/v1/reader/session", json={"site": site, "state": state})


def refused_state(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["fields"] == {"state": "is unknown, not finished yet, used or expired"}


async def test_the_widget_claims_the_code_with_its_state_once(client: httpx.AsyncClient, site: str) -> None:
    started = await start(client)
    authorize = started.headers["location"]
    refused_state(await claim(client))  # the reader is still at the provider
    await callback(client, log_in_at_provider(authorize))
    claimed = await claim(client)
    assert claimed.status_code == 201, claimed.text
    body = claimed.json()
    assert body["token"].startswith("rdr_") and body["identity"]["name"] == "Ada"
    me = await client.get(
        "/api/v1/reader", params={"site": site}, headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert me.status_code == 200
    refused_state(await claim(client))  # used up


async def test_a_claimed_code_cannot_be_exchanged_and_an_exchanged_one_cannot_be_claimed(
    client: httpx.AsyncClient, site: str
) -> None:
    code = (await log_in(client))["code"]
    assert (await claim(client)).status_code == 201
    late = await client.post("/api/v1/reader/session", json={"site": site, "code": code})
    assert late.status_code == 401
    assert late.json()["error"]["fields"] == {"code": "is unknown, used or expired"}

    code = (await log_in(client))["code"]
    assert (await client.post("/api/v1/reader/session", json={"site": site, "code": code})).status_code == 201
    refused_state(await claim(client))


async def test_a_wrong_state_another_site_or_another_address_claims_nothing(
    client: httpx.AsyncClient,
    site: str,
    app,  # type: ignore[no-untyped-def]
) -> None:
    from rejoinder.sites import create_site

    create_site(app.state.ctx, "other", "Other", [SITE_ORIGIN])
    await log_in(client)
    for wrong in ("widget-state-0123456789abcdeX", WIDGET_STATE[:-1], "short", ""):
        answer = await claim(client, wrong)
        assert answer.status_code == 401, wrong
    refused_state(await claim(client, site="other"))
    # Whoever made up the start address (and so knows the state) cannot claim from elsewhere the log-in
    # of a reader who followed it.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        refused_state(await claim(elsewhere))
    assert (await claim(client)).status_code == 201  # none of that used it up


async def test_an_expired_code_cannot_be_claimed(client: httpx.AsyncClient, site: str, ctx: Context) -> None:
    from rejoinder.store.schema import login_codes

    await log_in(client)
    with ctx.db.write() as conn:
        conn.execute(update(login_codes).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    refused_state(await claim(client))


async def test_neither_code_nor_state_or_an_overlong_state_is_refused(
    client: httpx.AsyncClient, site: str
) -> None:
    answer = await client.post("/api/v1/reader/session", json={"site": site})
    assert answer.status_code == 401
    assert answer.json()["error"]["fields"] == {"code": "is unknown, used or expired"}
    too_long = await claim(client, "x" * 201)
    assert too_long.status_code == 422 and "state" in str(too_long.json()["error"]["fields"])


async def test_a_claim_that_finds_nothing_costs_one_select(
    client: httpx.AsyncClient, site: str, ctx: Context
) -> None:
    from tests.test_queries import statements_run

    await start(client)
    refused_state(await claim(client))  # the site is remembered from here on
    with statements_run(ctx) as seen:
        for _ in range(3):
            refused_state(await claim(client))
    assert len(seen) == 3 and all(s.lstrip().upper().startswith("SELECT") for s in seen), seen
