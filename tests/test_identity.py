"""Logged-in readers: comments signed by their identity with a verified badge, edits and likes that
follow them across devices, guests kept off their addresses, bans by identity, and mailed log-in links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from rejoinder import bans, identity
from rejoinder.audit import cli_actor
from rejoinder.context import Context
from rejoinder.settings import Settings
from rejoinder.sites import create_site, update_site
from rejoinder.store import identity as store
from rejoinder.store.schema import comments, login_links
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, comment_payload, error_fields, flatten, read
from tests.mailbox import Mailbox, text_of
from tests.test_queries import THREAD_READ_STATEMENTS, statements_run

ELSEWHERE = "https://blog.example/2026/11/elsewhere"


async def log_in_as(
    client: httpx.AsyncClient,
    ctx: Context,
    subject: str = "ada",
    *,
    site: str = "test",
    provider: str = "github",
    email: str = "ada@example.org",
) -> str:
    """A reader token, as a log-in at ``provider`` ends: the identity upserted, a one-time code issued
    (what ``oauth.finish`` does after the provider answered), the code exchanged through the API."""
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        found = store.upsert_identity(
            conn,
            provider=provider,
            subject=subject,
            name=subject.capitalize(),
            email=email,
            email_verified=bool(email),
            profile_url=f"https://github.com/{subject}",
            avatar_url=f"https://avatars.example/{subject}.png",
            now=now,
        )
        site_id = ctx.sites.get(site).id if ctx.sites.get(site) else None
        if site_id is None:
            from rejoinder.store.sites import get_site

            found_site = get_site(conn, site)
            assert found_site is not None
            site_id = found_site.id
        code = identity.issue_code(conn, found.id, site_id, now)
    answer = await client.post("/api/v1/reader/session", json={"site": site, "code": code})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_as(client: httpx.AsyncClient, token: str, body: str = "Signed", **kw: str) -> httpx.Response:
    payload = comment_payload(
        body, name="Mallory", email="mallory@example.org", website="https://evil.example"
    )
    payload.update(kw)
    return await client.post("/api/v1/comments", json=payload, headers=bearer(token))


async def test_a_logged_in_readers_comment_is_signed_by_the_identity_with_a_badge(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = await log_in_as(client, ctx)
    posted = await post_as(client, token)
    assert posted.status_code == 201, posted.text
    comment = posted.json()["comment"]
    assert comment["author"] == {"name": "Ada", "website": "https://github.com/ada"}  # not the form's
    assert comment["verified"] == {
        "provider": "github",
        "provider_name": "github",  # no provider of that name is configured: its name stands
        "profile_url": "https://github.com/ada",
        "avatar_url": None,  # the site does not show providers' pictures
    }
    assert "avatar_url" not in comment  # the badge holds the picture
    [shown] = flatten((await read(client))["comments"])
    assert shown["verified"] == comment["verified"]
    with ctx.db.read() as conn:
        stored = conn.execute(comments.select()).one()
    assert stored.author_email == "ada@example.org" and stored.identity_id is not None


async def test_a_guests_comment_has_no_badge(client: httpx.AsyncClient, site: str) -> None:
    posted = await client.post("/api/v1/comments", json=comment_payload())
    assert posted.json()["comment"]["verified"] is None


async def test_avatars_are_kept_only_when_the_site_shows_them(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    create_site(ctx, "pictures", "Pictures", [SITE_ORIGIN], spam_filter=False, provider_avatars=True)
    token = await log_in_as(client, ctx, site="pictures")
    posted = await post_as(client, token, site="pictures")
    assert posted.json()["comment"]["verified"]["avatar_url"] == "https://avatars.example/ada.png"
    me = await client.get("/api/v1/reader", params={"site": "pictures"}, headers=bearer(token))
    assert me.json()["identity"]["avatar_url"] == "https://avatars.example/ada.png"
    [shown] = flatten((await read(client, site="pictures"))["comments"])
    assert shown["verified"]["avatar_url"] == "https://avatars.example/ada.png"

    # Turned off, no comment names a picture any more: readers' browsers would load it from the provider.
    update_site(ctx, "pictures", provider_avatars=False)
    [shown] = flatten((await read(client, site="pictures"))["comments"])
    assert shown["verified"]["avatar_url"] is None and shown["verified"]["provider"] == "github"
    me = await client.get("/api/v1/reader", params={"site": "pictures"}, headers=bearer(token))
    assert me.json()["identity"]["avatar_url"] is None


async def test_reading_a_thread_of_verified_comments_costs_the_same_queries(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = await log_in_as(client, ctx)
    for i in range(12):
        if i % 2:
            assert (await post_as(client, token, f"verified {i}")).status_code == 201
        else:
            assert (
                await client.post(
                    "/api/v1/comments", json=comment_payload(f"guest {i}", email="bob@example.org")
                )
            ).status_code == 201
    ctx.cache.clear()
    ctx.sites.clear()
    with statements_run(ctx) as seen:
        page = await read(client)
    assert len(seen) == THREAD_READ_STATEMENTS, seen
    assert sum(1 for c in flatten(page["comments"]) if c.get("verified")) == 6


async def test_a_guest_may_not_use_a_verified_readers_address(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await log_in_as(client, ctx, email="ada@example.org")
    answer = await client.post("/api/v1/comments", json=comment_payload(email="ADA@example.org"))
    fields = error_fields(answer, 422, "invalid_input")
    assert fields == {"author.email": "belongs to a verified reader: log in to use it"}
    other = await client.post("/api/v1/comments", json=comment_payload(email="bob@example.org"))
    assert other.status_code == 201
    # Now that the thread exists, its lookup asks about the address in the same statement: refused alike.
    again = await client.post("/api/v1/comments", json=comment_payload(email="ada@example.ORG"))
    assert error_fields(again, 422, "invalid_input") == fields


async def test_an_address_a_provider_did_not_verify_stays_free_for_guests(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await log_in_as(client, ctx, "nobody", email="")
    with ctx.db.write() as conn:
        store.upsert_identity(
            conn, provider="x", subject="1", name="Eve", email="eve@example.org", email_verified=False,
            profile_url=None, avatar_url=None, now=datetime.now(UTC),
        )  # fmt: skip
    answer = await client.post("/api/v1/comments", json=comment_payload(email="eve@example.org"))
    assert answer.status_code == 201


async def test_a_reader_edits_and_deletes_from_a_second_device(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    laptop = await log_in_as(client, ctx)
    phone = await log_in_as(client, ctx)  # a second log-in: another token, the same identity
    assert laptop != phone
    comment_id = (await post_as(client, laptop)).json()["comment"]["id"]

    mine = await client.get("/api/v1/reader", params={"site": site, "url": ARTICLE}, headers=bearer(phone))
    [own] = mine.json()["mine"]
    assert own["id"] == comment_id and own["edit_until"]

    assert (await client.get(f"/api/v1/comments/{comment_id}", headers=bearer(phone))).status_code == 200
    edited = await client.patch(
        f"/api/v1/comments/{comment_id}", json={"body": "From my phone"}, headers=bearer(phone)
    )
    assert edited.status_code == 200, edited.text
    assert "From my phone" in edited.json()["comment"]["html"]

    someone = await log_in_as(client, ctx, "bob", email="bob@example.org")
    refused = await client.patch(
        f"/api/v1/comments/{comment_id}", json={"body": "Hijack"}, headers=bearer(someone)
    )
    assert error_fields(refused, 403, "forbidden") == {"Authorization": "is not the author's reader token"}

    assert (await client.delete(f"/api/v1/comments/{comment_id}", headers=bearer(phone))).status_code == 204


async def test_a_readers_edit_window_closes_on_every_device(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = await log_in_as(client, ctx)
    comment_id = (await post_as(client, token)).json()["comment"]["id"]
    with ctx.db.write() as conn:
        conn.execute(update(comments).values(created_at=datetime.now(UTC) - timedelta(days=1)))
    late = await client.patch(f"/api/v1/comments/{comment_id}", json={"body": "Late"}, headers=bearer(token))
    assert late.status_code == 403
    assert late.json()["error"]["code"] == "edit_window_closed"


async def test_a_verified_readers_like_counts_once_across_devices(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    posted = await client.post("/api/v1/comments", json=comment_payload(email="bob@example.org"))
    comment_id = posted.json()["comment"]["id"]
    laptop = await log_in_as(client, ctx)
    phone = await log_in_as(client, ctx)
    first = await client.put(
        f"/api/v1/comments/{comment_id}/like",
        headers={**bearer(laptop), "X-Rejoinder-Liker": "laptop-liker-id"},
    )
    assert first.json() == {"likes": 1, "liked": True}
    second = await client.put(
        f"/api/v1/comments/{comment_id}/like",
        headers={**bearer(phone), "X-Rejoinder-Liker": "phone-liker-id-2"},
    )
    assert second.json() == {"likes": 1, "liked": True}
    state = await client.get("/api/v1/reader", params={"site": site, "url": ARTICLE}, headers=bearer(phone))
    assert state.json()["liked"] == [comment_id]
    taken_back = await client.delete(f"/api/v1/comments/{comment_id}/like", headers=bearer(phone))
    assert taken_back.json() == {"likes": 0, "liked": False}


async def test_a_token_made_for_another_site_is_refused(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    create_site(ctx, "other", "Other", ["https://other.example"], spam_filter=False)
    token = await log_in_as(client, ctx, site="other")
    answer = await client.get("/api/v1/reader", params={"site": site}, headers=bearer(token))
    assert error_fields(answer, 401, "unauthorized") == {
        "Authorization": "is an unknown or expired reader token"
    }
    assert (await post_as(client, token)).status_code == 401


async def test_a_banned_identity_may_not_post_or_edit(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = await log_in_as(client, ctx, "12345")
    comment_id = (await post_as(client, token)).json()["comment"]["id"]
    ban = bans.create_ban(ctx, cli_actor(), site, "identity", "github:12345", reason="trolling").ban
    refused = await post_as(client, token, "Again")
    assert error_fields(refused, 403, "banned") == {"Authorization": "is banned on this site (identity)"}
    edit = await client.patch(
        f"/api/v1/comments/{comment_id}", json={"body": "Edited"}, headers=bearer(token)
    )
    assert edit.status_code == 403
    assert [b.value for _, b in bans.list_bans(ctx, cli_actor(), site)] == ["github:12345"]
    someone = await log_in_as(client, ctx, "999", email="bob@example.org")
    assert (await post_as(client, someone)).status_code == 201  # only that identity
    bans.lift_ban(ctx, cli_actor(), ban.id)
    assert (await post_as(client, token, "Back")).status_code == 201


def test_identity_bans_name_provider_and_subject(ctx: Context, site: str) -> None:
    from rejoinder.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        bans.create_ban(ctx, cli_actor(), site, "identity", "no colon here")
    assert refused.value.fields == {"value": "must be provider:subject, like github:12345"}


async def test_the_dashboard_ban_list_offers_identity_bans(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    from rejoinder.web.dashboard.texts import TEXTS

    assert all("kind_identity" in words for words in TEXTS.values())


# -- mailed log-in links ---------------------------------------------------------------------------


@pytest.fixture
def mail_ctx(mail_settings: Settings) -> Context:
    context = open_context(mail_settings)
    yield context  # type: ignore[misc]
    context.close()


@pytest.fixture
async def mail_client(mail_settings: Settings, mail_ctx: Context):  # type: ignore[no-untyped-def]
    from rejoinder.web.app import create_app

    create_site(mail_ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    transport = httpx.ASGITransport(
        app=create_app(mail_settings, context=mail_ctx), client=("203.0.113.9", 1)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def ask_for_link(client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox, email: str) -> str:
    before = len(mailbox.messages)
    answer = await client.post(
        "/api/v1/reader/email", json={"site": "test", "email": email, "return_url": ARTICLE + "?a=1#comments"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"sent": True}
    ctx.jobs.run_due("test")
    message = mailbox.wait_for(before + 1)[-1]
    found = re.search(
        r"https://comments\.blog\.example(/auth/email/verify\?t=[A-Za-z0-9_-]+)", text_of(message)
    )
    assert found, text_of(message)
    return found.group(1)


async def test_a_mailed_link_logs_a_reader_in_once(
    mail_client: httpx.AsyncClient, mail_ctx: Context, mailbox: Mailbox
) -> None:
    form = (await mail_client.get("/api/v1/form", params={"site": "test"})).json()
    assert form["site"]["email_login"] is True
    link = await ask_for_link(mail_client, mail_ctx, mailbox, "Ada@Example.org")
    [message] = mailbox.to("ada@example.org")
    assert "Test blog" in message["Subject"]

    page = await mail_client.get(link)  # what a mail scanner does: nothing is used up
    assert page.status_code == 200 and "ada@example.org" in page.text and '<form method="post"' in page.text
    # The form's redirect to the blog's page is allowed by the page's policy, and nothing else is.
    policy = page.headers["content-security-policy"]
    assert "form-action 'self' https://blog.example;" in policy and "script-src 'self';" in policy
    assert (await mail_client.get(link)).status_code == 200

    used = await mail_client.post(link)
    assert used.status_code == 303
    target = urlsplit(used.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}?{target.query}" == ARTICLE + "?a=1"
    code = parse_qs(target.fragment)["rejoinder-login"][0]
    session = await mail_client.post("/api/v1/reader/session", json={"site": "test", "code": code})
    assert session.status_code == 201
    assert session.json()["identity"] == {
        "provider": "email",
        "provider_name": "e-mail",
        "name": "ada",
        "profile_url": None,
        "avatar_url": None,
        "email_verified": True,
    }
    again = await mail_client.post(link)
    assert again.status_code == 404
    assert "rejoinder-login" not in again.headers.get("location", "")


async def test_an_expired_mailed_link_is_refused(
    mail_client: httpx.AsyncClient, mail_ctx: Context, mailbox: Mailbox
) -> None:
    link = await ask_for_link(mail_client, mail_ctx, mailbox, "ada@example.org")
    with mail_ctx.db.write() as conn:
        conn.execute(update(login_links).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await mail_client.get(link)).status_code == 404
    assert (await mail_client.post(link)).status_code == 404


async def test_a_tampered_mailed_link_is_refused(
    mail_client: httpx.AsyncClient, mail_ctx: Context, mailbox: Mailbox
) -> None:
    link = await ask_for_link(mail_client, mail_ctx, mailbox, "ada@example.org")
    tampered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
    assert (await mail_client.post(tampered)).status_code == 404


async def test_a_mailed_link_returns_only_to_the_sites_pages(
    mail_client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    for elsewhere in (
        "https://evil.example/",
        "javascript:alert(1)",
        "//evil.example/x",
        "https://blog.example.evil.example/",
    ):
        answer = await mail_client.post(
            "/api/v1/reader/email", json={"site": "test", "email": "ada@example.org", "return_url": elsewhere}
        )
        assert error_fields(answer, 422, "invalid_input") == {
            "return_url": "must be a page on one of the site's allowed origins"
        }, elsewhere
    assert mailbox.messages == []


async def test_mailed_links_are_limited_per_address(
    mail_client: httpx.AsyncClient, mail_ctx: Context, steady_rate_windows: None
) -> None:
    payload = {"site": "test", "email": "ada@example.org", "return_url": ARTICLE}
    answers = [(await mail_client.post("/api/v1/reader/email", json=payload)).status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]


async def test_without_mail_the_form_offers_no_mailed_link(client: httpx.AsyncClient, site: str) -> None:
    form = (await client.get("/api/v1/form", params={"site": site})).json()
    assert form["site"]["email_login"] is False
    assert form["site"]["providers"] == [] and form["site"]["avatars"] is False


def test_a_verified_readers_approved_comments_vouch_for_them_whatever_the_address(ctx: Context) -> None:
    from rejoinder.comments import Client, NewComment, post_comment

    create_site(ctx, "filtered", "Filtered", [SITE_ORIGIN], spam_filter=True)
    with ctx.db.write() as conn:
        reader = store.upsert_identity(
            conn, provider="x", subject="42", name="Ada", email="", email_verified=False,
            profile_url=None, avatar_url=None, now=datetime.now(UTC),
        )  # fmt: skip

    def post(body: str) -> int:
        new = NewComment(site="filtered", url=ARTICLE, body=body, identity=reader)
        return post_comment(ctx, new, Client(remote_addr="198.51.100.4")).comment.id

    first = post("A first thought about tide pools and the creatures that live in them.")
    with ctx.db.write() as conn:  # a moderator approved it
        conn.execute(
            update(comments)
            .where(comments.c.id == first)
            .values(status="published", moderated_at=datetime.now(UTC))
        )
    second = post("A second thought about tide pools, anemones and the crabs under the rocks.")
    with ctx.db.read() as conn:
        reasons = conn.execute(comments.select().where(comments.c.id == second)).one().spam_reasons
    assert "1 earlier comment by the same author approved" in reasons


async def test_the_data_page_lists_log_ins_and_the_providers_pictures_when_shown(
    database_url: str, tmp_path: object
) -> None:
    from rejoinder.settings import load_settings
    from rejoinder.sites import update_site
    from rejoinder.web.app import create_app

    configured = load_settings(
        environ={},
        overrides={
            "database_url": database_url,
            "secret_key": "test-secret",
            "login_providers": [
                {"name": "github", "preset": "github", "client_id": "a", "client_secret": "b"},
                {"name": "google", "preset": "google", "client_id": "c", "client_secret": "d"},
            ],
        },
    )
    context = open_context(configured)
    try:
        create_site(context, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
        transport = httpx.ASGITransport(app=create_app(configured, context=context))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = (await http.get("/privacy/test", params={"lang": "en"})).text
            assert "If you log in to comment (with GitHub, Google)" in page
            assert "does your browser go to that provider (GitHub, Google)" in page
            assert "nothing is sent to anyone else" in page  # no pictures from providers
            update_site(context, "test", provider_avatars=True)
            page = (await http.get("/privacy/test", params={"lang": "en"})).text
            assert "loads these pictures from the providers" in page
            assert "nothing is sent to anyone else" not in page
            for lang in ("uk", "de"):
                assert "GitHub, Google" in (await http.get("/privacy/test", params={"lang": lang})).text
    finally:
        context.close()


async def test_the_hourly_purge_forgets_expired_sessions_and_codes(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    from sqlalchemy import func, select

    from rejoinder.retention import purge
    from rejoinder.store.schema import identities, login_codes, reader_sessions, sites

    token = await log_in_as(client, ctx)
    with ctx.db.write() as conn:
        reader_id = conn.execute(select(identities.c.id)).scalar_one()
        site_id = conn.execute(select(sites.c.id).where(sites.c.key == site)).scalar_one()
        identity.issue_code(conn, reader_id, site_id, datetime.now(UTC) - timedelta(hours=1))
        conn.execute(update(reader_sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    purge(ctx)
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(reader_sessions)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(login_codes)).scalar_one() == 0
    assert (
        await client.get("/api/v1/reader", params={"site": site}, headers=bearer(token))
    ).status_code == 401


async def test_without_mail_a_demo_writes_the_link_to_the_log(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from rejoinder.settings import load_settings
    from rejoinder.web.app import create_app

    demo = load_settings(
        environ={},
        overrides={"database_url": database_url, "secret_key": "test-secret", "login_links_to_log": True},
    )
    context = open_context(demo)
    try:
        create_site(context, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
        transport = httpx.ASGITransport(app=create_app(demo, context=context), client=("203.0.113.9", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/api/v1/form", params={"site": "test"})).json()["site"]["email_login"]
            payload = {"site": "test", "email": "ada@example.org", "return_url": ARTICLE}
            with caplog.at_level("WARNING", logger="rejoinder.identity"):
                assert (await http.post("/api/v1/reader/email", json=payload)).status_code == 202
            found = re.search(r"/auth/email/verify\?t=[A-Za-z0-9_-]+", caplog.text)
            assert found, caplog.text
            assert (await http.post(found.group(0))).status_code == 303
    finally:
        context.close()


async def test_export_and_erasure_by_address_cover_the_readers_identity(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    from rejoinder.privacy import erase_by_email, export_by_email

    token = await log_in_as(client, ctx)
    comment_id = (await post_as(client, token)).json()["comment"]["id"]
    exported = export_by_email(ctx, "ada@example.org")
    assert [found["provider"] for found in exported["identities"]] == ["github"]
    assert [c["id"] for c in exported["comments"]] == [comment_id]
    erase_by_email(ctx, "ada@example.org")
    with ctx.db.read() as conn:
        assert store.identities_by_email(conn, "ada@example.org") == []
        erased = conn.execute(comments.select()).one()
    assert (erased.identity_id, erased.verified, erased.status) == (None, None, "deleted")
    assert (
        await client.get("/api/v1/reader", params={"site": site}, headers=bearer(token))
    ).status_code == 401


async def test_the_queue_shows_the_badge_and_offers_to_ban_the_identity(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    from tests.helpers import log_in, make_moderator

    token = await log_in_as(client, ctx, "12345")
    comment_id = (await post_as(client, token)).json()["comment"]["id"]
    with ctx.db.write() as conn:  # held for a moderator
        conn.execute(update(comments).values(status="pending"))
    make_moderator(ctx, "mod@example.org", site, role="admin")
    await log_in(client, "mod@example.org")
    item = (await client.get(f"/api/v1/moderation/comments/{comment_id}")).json()["comment"]
    assert item["identity"] == "github:12345"
    assert item["verified"]["provider"] == "github"
    page = await client.get("/dashboard/", params={"status": "pending"}, headers={"Accept": "text/html"})
    assert "kind=identity&amp;value=github%3A12345" in page.text
    assert "verified: github" in page.text
    bans_page = await client.get(
        "/dashboard/bans",
        params={"kind": "identity", "value": "github:12345"},
        headers={"Accept": "text/html"},
    )
    assert 'value="identity" selected' in bans_page.text and 'value="github:12345"' in bans_page.text


async def test_banning_an_identity_can_mark_its_held_comments_as_spam(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = await log_in_as(client, ctx, "777")
    mine = (await post_as(client, token)).json()["comment"]["id"]
    guest = (await client.post("/api/v1/comments", json=comment_payload(email="bob@example.org"))).json()
    with ctx.db.write() as conn:
        conn.execute(update(comments).values(status="pending"))
    banned = bans.create_ban(ctx, cli_actor(), site, "identity", "github:777", mark_held_as_spam=True)
    assert banned.marked_as_spam == [mine]
    with ctx.db.read() as conn:
        statuses = dict(
            conn.execute(comments.select().with_only_columns(comments.c.id, comments.c.status)).all()
        )
    assert statuses == {mine: "spam", guest["comment"]["id"]: "pending"}


async def test_what_a_reader_did_in_a_thread_costs_the_same_queries_for_any_thread(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    token = await log_in_as(client, ctx)
    counts = []
    for many in (2, 20):
        url = f"https://blog.example/thread-of-{many}"
        for i in range(many):
            comment_id = (await post_as(client, token, f"comment {i}", url=url)).json()["comment"]["id"]
            await client.put(f"/api/v1/comments/{comment_id}/like", headers=bearer(token))
        ctx.sites.clear()
        with statements_run(ctx) as seen:
            state = await client.get(
                "/api/v1/reader", params={"site": site, "url": url}, headers=bearer(token)
            )
        assert len(state.json()["mine"]) == many and len(state.json()["liked"]) == many
        counts.append(len(seen))
    # the site, the session with its identity, the thread, the liked ids, the reader's own comments
    assert counts == [5, 5]


async def test_the_badge_travels_with_events_to_other_processes(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    from rejoinder.events import CommentPosted, decode, encode
    from rejoinder.store import comments as comment_store
    from rejoinder.web.serialize import public_comment

    token = await log_in_as(client, ctx)
    comment_id = (await post_as(client, token)).json()["comment"]["id"]
    with ctx.db.read() as conn:
        comment = comment_store.get_comment(conn, comment_id)
    assert comment is not None
    event = CommentPosted(site, ARTICLE, comment, 1)
    received = decode(CommentPosted.topic(), encode(event))
    assert isinstance(received, CommentPosted)
    badge = public_comment(comment)["verified"]
    assert badge is not None and public_comment(received.comment)["verified"] == badge
    assert received.comment.author.email == ""  # nothing private crosses
