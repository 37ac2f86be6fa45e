"""Personal data kept only as long as promised: addresses and user agents erased after the site's
``ip_retention_days`` by the periodic job, at once when the author deletes the comment, or kept only as
keyed hashes; a commenter's comments exported or erased by e-mail address."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select, update

from rejoinder import privacy
from rejoinder.cli import main
from rejoinder.context import Context
from rejoinder.datapage import LANGUAGES
from rejoinder.notify import webhooks
from rejoinder.sites import create_site, update_site
from rejoinder.store.schema import comments
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, comment_payload, error_fields, post, read

AGENT = {"User-Agent": "Tester/1.0"}


def client_data(ctx: Context, comment_id: int) -> tuple[str, str]:
    with ctx.db.read() as conn:
        row = conn.execute(
            select(comments.c.remote_addr, comments.c.user_agent).where(comments.c.id == comment_id)
        ).one()
    return row.remote_addr, row.user_agent


def age(ctx: Context, comment_id: int, days: float) -> None:
    with ctx.db.write() as conn:
        conn.execute(
            update(comments)
            .where(comments.c.id == comment_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


async def test_addresses_past_the_retention_are_erased_by_the_job(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    old = (await post(client, "old"))["comment"]["id"]
    recent = (await post(client, "recent"))["comment"]["id"]
    assert client_data(ctx, old)[0] == "203.0.113.7"
    age(ctx, old, 31)
    age(ctx, recent, 29)
    ctx.jobs.schedule_periodic()
    assert ctx.jobs.run_due("test") >= 1  # the periodic jobs, the erasure among them
    assert client_data(ctx, old) == ("", "")
    assert client_data(ctx, recent)[0] == "203.0.113.7"
    update_site(ctx, site, ip_retention_days=7)
    assert privacy.erase_expired_client_data(ctx) == 1
    assert client_data(ctx, recent) == ("", "")
    assert [c["html"] for c in (await read(client))["comments"]] == ["<p>old</p>", "<p>recent</p>"]


async def test_a_deleted_comment_keeps_no_address_at_once(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    response = await client.post("/api/v1/comments", json=comment_payload("regret"), headers=AGENT)
    posted = response.json()
    assert client_data(ctx, posted["comment"]["id"]) == ("203.0.113.7", "Tester/1.0")
    deleted = await client.delete(
        f"/api/v1/comments/{posted['comment']['id']}",
        headers={"Authorization": f"Bearer {posted['edit_token']}"},
    )
    assert deleted.status_code == 204
    assert client_data(ctx, posted["comment"]["id"]) == ("", "")


async def test_a_site_may_keep_only_keyed_hashes(client: httpx.AsyncClient, ctx: Context) -> None:
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False, client_data="hashed")
    response = await client.post("/api/v1/comments", json=comment_payload("hi"), headers=AGENT)
    address, agent = client_data(ctx, response.json()["comment"]["id"])
    assert address.startswith("h:") and agent.startswith("h:")
    assert "203.0.113.7" not in address and "Tester" not in agent
    again = await client.post("/api/v1/comments", json=comment_payload("again"), headers=AGENT)
    assert client_data(ctx, again.json()["comment"]["id"])[0] == address  # still tells senders apart


async def test_privacy_settings_are_checked(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    for settings in ({"ip_retention_days": -1}, {"client_data": "encrypted"}, {"restrict_thread_urls": 1}):
        try:
            update_site(ctx, site, **settings)
        except Exception as exc:  # InvalidInput naming the setting
            assert set(exc.fields) == set(settings)  # type: ignore[attr-defined]
        else:
            raise AssertionError(f"{settings} was accepted")


async def test_erasure_by_email_keeps_the_thread_shape(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    mine = (await post(client, "mine", email="Me@Example.org"))["comment"]["id"]
    reply = (await post(client, "a reply", parent_id=mine, email="other@example.org"))["comment"]["id"]
    exported = privacy.export_by_email(ctx, "me@example.org")
    assert [(c["id"], c["body"], c["remote_addr"]) for c in exported["comments"]] == [
        (mine, "mine", "203.0.113.7")
    ]
    assert privacy.erase_by_email(ctx, "me@example.org").comments == 1
    [top] = (await read(client))["comments"]
    assert top["id"] == mine and top["html"] == "" and [r["id"] for r in top["replies"]] == [reply]
    assert client_data(ctx, mine) == ("", "")
    assert privacy.export_by_email(ctx, "me@example.org")["comments"] == []


async def test_thread_urls_with_control_or_bidi_characters_are_refused(
    client: httpx.AsyncClient, site: str
) -> None:
    for bad in ("https://blog.example/a\x7fb", "https://blog.example/\u202egpj.exe", "/x\u200ey", "/a\x85b"):
        response = await client.post("/api/v1/comments", json=comment_payload("hi", url=bad))
        assert error_fields(response, 422, "invalid_input") == {
            "url": "must not contain control or bidirectional formatting characters"
        }, bad


async def test_new_sites_take_threads_only_on_their_origins(client: httpx.AsyncClient, ctx: Context) -> None:
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    foreign = await client.post("/api/v1/comments", json=comment_payload(url="https://elsewhere.example/x"))
    assert error_fields(foreign, 422, "invalid_input") == {"url": "must be on one of the site's origins"}
    assert (await client.post("/api/v1/comments", json=comment_payload(url=ARTICLE))).status_code == 201
    assert (await client.post("/api/v1/comments", json=comment_payload(url="/relative"))).status_code == 201
    update_site(ctx, "test", restrict_thread_urls=False)
    again = await client.post("/api/v1/comments", json=comment_payload(url="https://elsewhere.example/x"))
    assert again.status_code == 201


async def test_the_privacy_command_exports_and_erases(
    client: httpx.AsyncClient, ctx: Context, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = (await post(client, "mine", email="me@example.org"))["comment"]["id"]
    database = ["--database", ctx.settings.database_url]
    main(["privacy", "export", "--email", "me@example.org", *database])
    assert [c["id"] for c in json.loads(capsys.readouterr().out)["comments"]] == [mine]
    main(["privacy", "erase", "--email", "me@example.org", *database])
    assert capsys.readouterr().out == "erased 1 comments and 0 notification subscriptions\n"
    assert client_data(ctx, mine) == ("", "")


async def test_each_site_has_a_generated_data_page_in_three_languages(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    update_site(ctx, site, ip_retention_days=14)
    pages = {lang: await client.get(f"/privacy/{site}", params={"lang": lang}) for lang in ("en", "uk", "de")}
    assert {lang: page.status_code for lang, page in pages.items()} == {"en": 200, "uk": 200, "de": 200}
    assert "How your comment data is processed" in pages["en"].text and "14 days" in pages["en"].text
    assert "Як обробляються дані ваших коментарів" in pages["uk"].text
    assert "Wie deine Kommentardaten verarbeitet werden" in pages["de"].text
    assert "<style" not in pages["en"].text and "<script" not in pages["en"].text
    css = await client.get("/data-page.css")
    assert css.status_code == 200
    error_fields(await client.get("/privacy/nosuchsite"), 404, "unknown_site")


async def test_the_data_page_names_where_webhooks_send_comments_and_offers_no_mail_without_smtp(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    page = unescape((await client.get(f"/privacy/{site}")).text)
    assert "None: your browser talks only to this site" in page and "webhook" not in page
    assert "notifications" not in page  # this server sends no mail: the form offers none
    webhooks.add(ctx, site, "https://hooks.example.net/services/T0SECRET/B0SECRET?token=x")
    pages = {code: unescape((await client.get(f"/privacy/{site}?lang={code}")).text) for code, _ in LANGUAGES}
    for text in pages.values():
        assert "hooks.example.net" in text and "SECRET" not in text and "token" not in text
    assert "None: your browser" not in pages["en"]
    assert "services the site chose: hooks.example.net" in pages["en"]
    assert "erasing a comment blanks it there too" in pages["en"]


async def test_api_docs_load_nothing_from_another_server(client: httpx.AsyncClient) -> None:
    page = (await client.get("/api/docs")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/") and not source.startswith("//") for source in sources)
    for source in sources:
        assert (await client.get(source)).status_code == 200, source
    assert "validatorUrl: null" in (await client.get("/api/docs/start.js")).text
