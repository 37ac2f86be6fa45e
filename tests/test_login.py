"""The login page, session cookies, CSRF, revoking sessions, personal and server-wide tokens over HTTP."""

from __future__ import annotations

import httpx
import pyotp
import pytest

from rejoinder import accounts
from rejoinder.apikeys import create_key
from rejoinder.audit import cli_actor
from rejoinder.context import Context
from rejoinder.settings import Settings
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.helpers import PASSWORD, error_fields, log_in, login_form_csrf, make_moderator


async def test_logging_in_sets_a_guarded_session_cookie(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    page = await client.get("/dashboard/login", params={"next": "/dashboard/?status=spam"})
    assert page.status_code == 200 and 'name="password"' in page.text
    response = await client.post(
        "/dashboard/login",
        data={
            "email": "ada@example.org",
            "password": PASSWORD,
            "csrf_token": login_form_csrf(page.text),
            "next": "/dashboard/?status=spam",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/?status=spam"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("rejoinder_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure (next test)
    me = (await client.get("/api/v1/me")).json()
    assert (me["email"], me["roles"]) == ("ada@example.org", {site: "moderator"}) and me["csrf_token"]


async def test_the_cookie_is_secure_behind_https(settings: Settings, ctx: Context, site: str) -> None:
    make_moderator(ctx, "ada@example.org", site)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https:
        page = await https.get("/dashboard/login")
        response = await https.post(
            "/dashboard/login",
            data={"email": "ada@example.org", "password": PASSWORD, "csrf_token": login_form_csrf(page.text)},
        )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("rejoinder_session="))
    assert "Secure" in cookie


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
async def test_login_never_sends_the_moderator_elsewhere(
    client: httpx.AsyncClient, ctx: Context, site: str, next_url: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    page = await client.get("/dashboard/login")
    response = await client.post(
        "/dashboard/login",
        data={
            "email": "ada@example.org",
            "password": PASSWORD,
            "csrf_token": login_form_csrf(page.text),
            "next": next_url,
        },
    )
    assert response.headers["location"] == "/dashboard/"


async def test_a_login_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    await client.get("/dashboard/login")
    response = await client.post("/dashboard/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 403 and "rejoinder_session" not in response.headers.get("set-cookie", "")


async def test_a_brute_force_login_is_limited(
    client: httpx.AsyncClient, ctx: Context, site: str, steady_rate_windows: None
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    page = await client.get("/dashboard/login")
    csrf = login_form_csrf(page.text)
    statuses = []
    for attempt in range(8):
        response = await client.post(
            "/dashboard/login",
            data={"email": "ada@example.org", "password": f"guess {attempt:04}", "csrf_token": csrf},
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429] * 3
    assert int(response.headers["retry-after"]) >= 1 and "too many login attempts" in response.text
    right = await client.post(
        "/dashboard/login", data={"email": "ada@example.org", "password": PASSWORD, "csrf_token": csrf}
    )
    assert right.status_code == 429  # locked out, even with the right password


async def test_login_with_totp_asks_for_the_code(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    make_moderator(ctx, "ada@example.org", site)
    factor = accounts.turn_on_totp(ctx, cli_actor(), "ada@example.org")
    page = await client.get("/dashboard/login")
    csrf = login_form_csrf(page.text)
    step = await client.post(
        "/dashboard/login", data={"email": "ada@example.org", "password": PASSWORD, "csrf_token": csrf}
    )
    assert (
        step.status_code == 200
        and 'name="code"' in step.text
        and "rejoinder_session" not in str(client.cookies)
    )
    marker = 'name="pending" value="'
    pending = step.text[step.text.index(marker) + len(marker) :].split('"')[0]
    wrong = await client.post(
        "/dashboard/login", data={"pending": pending, "code": "12345x", "csrf_token": csrf}
    )
    assert wrong.status_code == 401 and (await client.get("/api/v1/me")).status_code == 401
    forged = await client.post(
        "/dashboard/login", data={"pending": "1.forged", "code": "123456", "csrf_token": csrf}
    )
    assert forged.status_code == 401
    right = await client.post(
        "/dashboard/login",
        data={"pending": pending, "code": pyotp.TOTP(factor.secret).now(), "csrf_token": csrf},
    )
    assert right.status_code == 303
    assert (await client.get("/api/v1/me")).json()["totp"] is True


async def test_state_changes_with_the_cookie_need_the_csrf_token(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    csrf = await log_in(client, "ada@example.org")
    refused = await client.post("/api/v1/me/tokens", json={"label": "x"})
    assert error_fields(refused, 403, "forbidden") == {
        "csrf_token": refused.json()["error"]["fields"]["csrf_token"]
    }
    wrong = await client.post("/api/v1/me/tokens", json={"label": "x"}, headers={"X-CSRF-Token": csrf + "x"})
    assert "csrf_token" in error_fields(wrong, 403, "forbidden")
    done = await client.post("/api/v1/me/tokens", json={"label": "x"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201
    logout = await client.post("/dashboard/logout", data={})
    assert "csrf_token" in error_fields(logout, 403, "forbidden")
    logout = await client.post("/dashboard/logout", data={"csrf_token": csrf})
    assert logout.status_code == 303 and (await client.get("/api/v1/me")).status_code == 401


async def test_a_revoked_session_is_refused_at_once_by_another_process(
    client: httpx.AsyncClient, settings: Settings, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    csrf = await log_in(client, "ada@example.org")
    other_ctx = open_context(settings)  # another process: its own memory, the same database
    try:
        transport = httpx.ASGITransport(app=create_app(settings, context=other_ctx))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=client.cookies
        ) as other:
            assert (await other.get("/api/v1/me")).status_code == 200
            listed = (await client.get("/api/v1/me/sessions")).json()["sessions"]
            assert len(listed) == 1 and listed[0]["current"] is True
            revoked = await client.delete(
                f"/api/v1/me/sessions/{listed[0]['id']}", headers={"X-CSRF-Token": csrf}
            )
            assert revoked.status_code == 204
            assert error_fields(await other.get("/api/v1/me"), 401, "unauthorized")
            assert (await client.get("/api/v1/me")).status_code == 401
    finally:
        other_ctx.close()


async def test_a_changed_password_ends_every_session(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    await log_in(client, "ada@example.org")
    accounts.update_user(ctx, cli_actor(), "ada@example.org", password="another long password")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_personal_tokens_are_shown_once_listed_and_revoked(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "ada@example.org", site)
    csrf = await log_in(client, "ada@example.org")
    made = (
        await client.post("/api/v1/me/tokens", json={"label": "script"}, headers={"X-CSRF-Token": csrf})
    ).json()
    token = made["token"]
    listed = (await client.get("/api/v1/me/tokens")).json()["tokens"]
    assert [(t["id"], t["label"]) for t in listed] == [(made["id"], "script")] and "token" not in listed[0]
    bearer = {"Authorization": f"Bearer {token}"}
    client.cookies.clear()
    me = await client.get("/api/v1/me", headers=bearer)
    assert me.json()["email"] == "ada@example.org" and "csrf_token" not in me.json()
    # A token needs no CSRF token: it is not sent by browsers on their own.
    revoked = await client.delete(f"/api/v1/me/tokens/{made['id']}", headers=bearer)
    assert revoked.status_code == 204
    assert error_fields(await client.get("/api/v1/me", headers=bearer), 401, "unauthorized")


async def test_tokens_from_before_accounts_keep_working_on_every_site(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = create_key(ctx, "admin", None, "old script")
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["roles"] == {site: "admin"} and me["actor"].startswith("token:")


async def test_without_a_session_the_api_says_401_naming_authorization(client: httpx.AsyncClient) -> None:
    assert "Authorization" in error_fields(await client.get("/api/v1/me"), 401, "unauthorized")
    client.cookies.set("rejoinder_session", "forged")
    forged = await client.get("/api/v1/me")
    assert "Authorization" in error_fields(forged, 401, "unauthorized")
    assert "Authorization" in error_fields(
        await client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}), 401, "unauthorized"
    )
