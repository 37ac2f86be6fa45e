"""Commenters export or erase their own data from the data page: a form that mails a single-use link to
the address (the same answer for an address nothing is kept under, and no mail then), a page with one
button, and the export or erasure the privacy commands do, in the audit log under the address's hash."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from rejoinder import privacy
from rejoinder.context import Context
from rejoinder.datapage import LANGUAGES
from rejoinder.settings import Settings
from rejoinder.sites import create_site, update_site
from rejoinder.store.schema import audit_log, privacy_requests
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import comment_payload, error_fields, read
from tests.mailbox import Mailbox, text_of

SERVER = "http://testserver"  # the server's own origin, as a browser on its data page sends it
SAME_ORIGIN = {"Origin": SERVER}
ME = "me@example.org"


@pytest.fixture
def mctx(mail_settings: Settings) -> Iterator[Context]:
    context = open_context(mail_settings)
    create_site(context, "test", "Tide Notes", [SITE_ORIGIN], spam_filter=False)
    yield context
    context.close()


@pytest.fixture
async def web(mail_settings: Settings, mctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(mail_settings, context=mctx), client=("203.0.113.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url=SERVER) as http:
        yield http


@pytest.fixture
def audit_lines() -> Iterator[list[str]]:
    """What the ``rejoinder.audit`` logger writes while the test runs (whatever else configured logging)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("rejoinder.audit")
    handler, level, disabled = Keep(logging.INFO), logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.disabled = disabled


async def comment(web: httpx.AsyncClient, body: str, email: str, **extra: Any) -> int:
    answer = await web.post("/api/v1/comments", json=comment_payload(body, email=email) | extra)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["comment"]["id"])


async def ask(web: httpx.AsyncClient, email: str, action: str, **headers: str) -> httpx.Response:
    return await web.post(
        "/privacy/test/request",
        data={"email": email, "action": action, "lang": "en"},
        headers=headers or SAME_ORIGIN,
    )


def mails_about_privacy(mailbox: Mailbox) -> list[Any]:
    return [m for m in mailbox.messages if "/privacy/" in text_of(m)]


async def link_for(web: httpx.AsyncClient, ctx: Context, mailbox: Mailbox, email: str, action: str) -> str:
    """Ask on the data page's form, let the mail job send it, and take the link from the mail."""
    before = len(mails_about_privacy(mailbox))
    answer = await ask(web, email, action)
    assert answer.status_code == 202, answer.text
    ctx.jobs.run_due("test")
    deadline = time.monotonic() + 20
    while len(mails_about_privacy(mailbox)) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    [*_, message] = mails_about_privacy(mailbox)
    assert message["To"] == email.lower()
    found = re.search(r"https://comments\.blog\.example(/privacy/test/confirm\?t=[\w-]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


def audit_entries(ctx: Context) -> list[Any]:
    with ctx.db.read() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.id)))


async def test_an_export_by_mailed_link_downloads_the_comments_and_subscriptions(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    mine = await comment(web, "Anemones!", "Me@Example.org", notify=["thread"])
    other = await comment(web, "Someone else", "other@example.org")
    link = await link_for(web, mctx, mailbox, "Me@Example.org", "export")
    [mail] = mails_about_privacy(mailbox)
    assert mail["Subject"] == "Your copy of your comment data from Tide Notes"

    page = await web.get(link)  # what a mail scanner does: nothing is used up
    assert page.status_code == 200 and '<form method="post"' in page.text and ME in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert (await web.get(link)).status_code == 200

    download = await web.post(link)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/json"
    assert download.headers["content-disposition"] == 'attachment; filename="comment-data.json"'
    exported = json.loads(download.content)
    assert [(c["id"], c["body"]) for c in exported["comments"]] == [(mine, "Anemones!")]
    assert other not in [c["id"] for c in exported["comments"]]
    assert [(s["site"], s["kind"], s["thread"]) for s in exported["subscriptions"]] == [
        ("test", "thread", "https://blog.example/2026/11/tide-pools")
    ]
    # The same content as the moderators' command, but for the moment it was made at.
    command = privacy.export_by_email(mctx, ME)
    assert {k: v for k, v in exported.items() if k != "exported_at"} == {
        k: v for k, v in command.items() if k != "exported_at"
    }

    again = await web.post(link)
    assert again.status_code == 404 and "is unknown, used or expired" in again.text
    assert (await web.get(link)).status_code == 404

    [by_commenter, *_] = [e for e in audit_entries(mctx) if e.action == "privacy.export"]
    assert by_commenter.actor == privacy.commenter_actor(mctx, ME)
    assert by_commenter.actor.startswith("commenter:") and "example.org" not in by_commenter.actor
    assert "@" not in json.dumps(by_commenter.after) and by_commenter.after["comments"] == 1


async def test_an_erasure_by_mailed_link_leaves_placeholders_and_says_what_went(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox, audit_lines: list[str]
) -> None:
    mine = await comment(web, "Erase me", ME, notify=["thread"])
    reply = await comment(web, "A reply", "other@example.org", parent_id=mine)
    link = await link_for(web, mctx, mailbox, ME, "erase")
    page = await web.get(link)
    assert page.status_code == 200 and "cannot be undone" in page.text
    assert [c["html"] for c in (await read(web))["comments"]] == ["<p>Erase me</p>"]  # the GET erased nothing

    done = await web.post(link)
    assert done.status_code == 200
    # The log line says what was done, naming the commenter by the hash only.
    assert [line.split(":")[0] for line in audit_lines] == ["erased 1 comments signed with commenter"]
    assert ME not in " ".join(audit_lines)
    assert "1 comments" in unescape(done.text) and "1 notification subscriptions" in unescape(done.text)
    [top] = (await read(web))["comments"]
    assert top["id"] == mine and top["html"] == "" and [r["id"] for r in top["replies"]] == [reply]
    assert "Erase me" not in json.dumps(await read(web))
    assert privacy.export_by_email(mctx, ME)["subscriptions"] == []
    assert (await web.post(link)).status_code == 404  # single use

    [entry] = [e for e in audit_entries(mctx) if e.action == "privacy.erase"]
    assert entry.actor == privacy.commenter_actor(mctx, ME)
    assert entry.after == {
        "email_hash": entry.actor.removeprefix("commenter:"),
        "comments": 1,
        "subscriptions": 1,
    }


async def test_an_expired_link_does_nothing(web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox) -> None:
    mine = await comment(web, "Keep me", ME)
    link = await link_for(web, mctx, mailbox, ME, "erase")
    with mctx.db.write() as conn:
        conn.execute(update(privacy_requests).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await web.get(link)).status_code == 404
    assert (await web.post(link)).status_code == 404
    assert [c["id"] for c in (await read(web))["comments"]] == [mine]
    assert (await read(web))["comments"][0]["html"] == "<p>Keep me</p>"
    # The hourly privacy job forgets links nobody used.
    assert privacy.erase_expired_client_data(mctx) == 0
    mctx.jobs.schedule_periodic()
    mctx.jobs.run_due("test")
    with mctx.db.read() as conn:
        assert conn.execute(select(privacy_requests)).all() == []


async def test_a_link_works_only_under_its_own_site_and_when_untampered(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    create_site(mctx, "other", "Other blog", ["https://other.example"], spam_filter=False)
    await comment(web, "Keep me", ME)
    link = await link_for(web, mctx, mailbox, ME, "erase")
    tampered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
    assert (await web.post(tampered)).status_code == 404
    assert (await web.get(link.replace("/privacy/test/", "/privacy/other/"))).status_code == 404
    assert (await web.get(link)).status_code == 200  # neither used it up
    assert (await read(web))["comments"][0]["html"] == "<p>Keep me</p>"


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await comment(web, "Known", ME)
    unknown = await ask(web, "nobody@example.org", "export")
    known = await ask(web, ME, "export")
    assert unknown.status_code == known.status_code == 202
    assert unknown.text.replace("nobody@example.org", ME) == known.text
    mctx.jobs.run_due("test")
    mailbox.wait_for(1)
    time.sleep(0.3)  # a mail to the unknown address would have arrived with the other
    assert [m["To"] for m in mails_about_privacy(mailbox)] == [ME]
    with mctx.db.read() as conn:
        assert [row.email for row in conn.execute(select(privacy_requests))] == [ME]


async def test_requests_are_limited_per_email_and_per_client_address(
    web: httpx.AsyncClient, mctx: Context, steady_rate_windows: None
) -> None:
    answers = [(await ask(web, ME, "export")).status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]
    refused = await ask(web, ME, "export")
    assert refused.headers["retry-after"] and "<code>email</code> allows 3 per 1 hour" in refused.text
    others = [(await ask(web, f"reader{n}@example.org", "erase")).status_code for n in range(3)]
    assert others == [202, 202, 429]  # five from one client address in an hour, whatever the address
    assert "<code>client</code> allows 5 per 1 hour" in (await ask(web, "new@example.org", "erase")).text


async def test_bad_input_and_cross_site_posts_are_refused_naming_the_field(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await comment(web, "Known", ME)
    bad_email = await ask(web, "not an address", "export")
    assert (
        bad_email.status_code == 422 and "<code>email</code> is not a valid e-mail address" in bad_email.text
    )
    bad_action = await ask(web, ME, "delete-everyone")
    assert (
        bad_action.status_code == 422 and "<code>action</code> must be &#39;export&#39; or" in bad_action.text
    )
    cross_site = (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://["},
        {"X-No": "1"},
    )
    for headers in cross_site:
        crossed = await ask(web, ME, "erase", **headers)
        assert crossed.status_code == 403, headers
        assert "<code>Origin</code> must be this server&#39;s own origin" in crossed.text
    for broken in (
        "/privacy/test/confirm?t=" + "x" * 300,
        "/privacy/test/confirm",
        "/privacy/nosuch/confirm?t=a",
    ):
        assert (await web.post(broken)).status_code in (404, 422), broken
    unknown_site = await web.post(
        "/privacy/nosuch/request", data={"email": ME, "action": "export"}, headers=SAME_ORIGIN
    )
    assert unknown_site.status_code == 404
    mctx.jobs.run_due("test")
    time.sleep(0.2)
    assert mails_about_privacy(mailbox) == []


async def test_the_data_page_offers_the_form_in_three_languages(web: httpx.AsyncClient) -> None:
    for code, _ in LANGUAGES:
        page = await web.get("/privacy/test", params={"lang": code})
        assert page.status_code == 200
        assert '<form method="post" action="/privacy/test/request"' in page.text, code
        assert 'name="email"' in page.text and 'value="erase"' in page.text and 'value="export"' in page.text
        assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text
    assert "Get a copy of your data" in (await web.get("/privacy/test?lang=en")).text
    assert "Стерти свої коментарі" in (await web.get("/privacy/test?lang=uk")).text
    assert "Deine Kommentare löschen" in (await web.get("/privacy/test?lang=de")).text


async def test_without_mail_there_is_no_form_and_the_page_says_to_ask_the_owner(
    client: httpx.AsyncClient, site: str
) -> None:
    page = unescape((await client.get(f"/privacy/{site}")).text)
    assert "/request" not in page and "<form" not in page
    assert "Ask the site's owner for an export (JSON)" in page
    answer = await client.post(
        f"/privacy/{site}/request", data={"email": ME, "action": "export"}, headers=SAME_ORIGIN
    )
    assert answer.status_code == 422 and "this server sends no mail" in unescape(answer.text)


async def test_the_json_api_asks_the_same_way(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await comment(web, "Known", ME)
    for email in (ME, "nobody@example.org"):
        answer = await web.post(
            "/api/v1/privacy/requests", json={"site": "test", "email": email, "action": "erase"}
        )
        assert (answer.status_code, answer.json()) == (202, {"sent": True}), email
    bad = await web.post("/api/v1/privacy/requests", json={"site": "test", "email": ME, "action": "delete"})
    assert "action" in error_fields(bad, 422, "invalid_input")
    unknown = await web.post(
        "/api/v1/privacy/requests", json={"site": "nosuch", "email": ME, "action": "export"}
    )
    assert error_fields(unknown, 404, "unknown_site") == {"site": "is not a site on this server"}
    mctx.jobs.run_due("test")
    mailbox.wait_for(1)
    time.sleep(0.3)
    [mail] = mails_about_privacy(mailbox)
    assert mail["To"] == ME and mail["Subject"] == "Erasing your comments on Tide Notes"
    schema = (await web.get("/api/openapi.json")).json()
    body = schema["components"]["schemas"]["PrivacyRequestIn"]
    assert body["properties"]["action"]["enum"] == ["export", "erase"]


async def test_hostile_input_is_refused_never_a_500(web: httpx.AsyncClient, mctx: Context) -> None:
    await comment(web, "Known", ME)
    answers = [
        await web.post("/privacy/%00/request", data={"email": ME, "action": "export"}, headers=SAME_ORIGIN),
        await ask(web, "me\x00@example.org", "export"),
        await ask(web, "x" * 400 + "@example.org", "export"),
        await ask(web, ME, "export\x00"),
        await web.get("/privacy/%00/confirm?t=" + "a" * 40),
        await web.post("/privacy/test/confirm?t=" + "a" * 39 + "%00"),
        await web.post("/api/v1/privacy/requests", json={"site": "\x00", "email": ME, "action": "export"}),
        await web.post(
            "/api/v1/privacy/requests", json={"site": "test", "email": "\u202e@x", "action": "erase"}
        ),
    ]
    assert [a.status_code for a in answers] == [404, 422, 422, 422, 404, 404, 404, 422]


async def test_the_mail_and_the_links_page_speak_the_sites_language(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    update_site(mctx, "test", language="uk")
    await comment(web, "Привіт", ME)
    link = await link_for(web, mctx, mailbox, ME, "erase")
    [mail] = mails_about_privacy(mailbox)
    assert mail["Subject"] == "Стирання ваших коментарів на Tide Notes"
    page = await web.get(link)
    assert '<html lang="uk">' in page.text and "Стерти все" in page.text
