"""Readers' notifications end to end, with a real SMTP server: double opt-in, the mail after a reply,
hourly batching, unsubscribing by link and by RFC 8058's POST, the list of an address's subscriptions,
suppression, and no mail for what never committed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.datapage import LANGUAGES
from rejoinder.events import CommentPosted
from rejoinder.model import Author
from rejoinder.notify import subscriptions
from rejoinder.settings import Settings
from rejoinder.sites import create_site, get_site, site_settings, update_site
from rejoinder.store import comments as comment_store
from rejoinder.store import threads as thread_store
from rejoinder.store.schema import jobs
from rejoinder.store.schema import subscriptions as subscriptions_table
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.helpers import ARTICLE, comment_payload, error_fields
from tests.mailbox import Mailbox, html_of, text_of
from tests.render_mail import keep_for_docs

READER = "reader@example.org"


@pytest.fixture
def mctx(mail_settings: Settings) -> Iterator[Context]:
    context = open_context(mail_settings)
    create_site(context, "test", "Tide Notes", ["https://blog.example"], spam_filter=False)
    yield context
    context.close()


@pytest.fixture
async def web(mail_settings: Settings, mctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(mail_settings, context=mctx)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def run_jobs(ctx: Context) -> int:
    return ctx.jobs.run_due("test-runner")


async def comment(
    web: httpx.AsyncClient, body: str, email: str, name: str = "Ada", **extra: Any
) -> dict[str, Any]:
    payload = comment_payload(body, name=name, email=email) | extra
    response = await web.post("/api/v1/comments", json=payload)
    assert response.status_code == 201, response.text
    return response.json()["comment"]  # type: ignore[no-any-return]


def link(message: Any, path: str) -> str:
    found = re.search(r"https://comments\.blog\.example(/notify/" + path + r"/[^\s\"<]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


async def subscribed(
    web: httpx.AsyncClient, ctx: Context, mailbox: Mailbox, kinds: list[str]
) -> dict[str, Any]:
    """The reader posts with notifications on, and confirms them by the mailed link and the button."""
    mine = await comment(web, "I wonder about the anemones.", READER, name="Reader", notify=kinds)
    run_jobs(ctx)
    [confirmation] = mailbox.wait_for(1)
    assert (await web.post(link(confirmation, "confirm"))).status_code == 200
    mailbox.messages.clear()
    return mine


async def test_a_new_address_is_asked_to_confirm_and_gets_nothing_before(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await comment(web, "First!", READER, name="Reader", notify=["thread"])
    assert mailbox.messages == []  # a job sends it, never the request
    run_jobs(mctx)
    [confirmation] = mailbox.wait_for(1)
    keep_for_docs("confirm", confirmation)
    assert confirmation["To"] == READER
    assert confirmation["From"] == "Blog comments <comments@blog.example>"
    assert confirmation["Subject"] == "Confirm your notifications from Tide Notes"
    assert "New comments on “Tide pools”" in text_of(confirmation)
    assert "<img" not in html_of(confirmation)  # no tracking pixels, no images at all

    # Not confirmed: a new comment mails nobody.
    await comment(web, "Welcome", "ada@example.org")
    run_jobs(mctx)
    assert len(mailbox.messages) == 1

    # The link shows a button and does nothing by itself (mail scanners open links).
    confirm = link(confirmation, "confirm")
    page = await web.get(confirm)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    await comment(web, "Still nothing", "ada@example.org")
    run_jobs(mctx)
    assert len(mailbox.messages) == 1

    assert (await web.post(confirm)).status_code == 200
    await comment(web, "Now you hear me", "ada@example.org")
    run_jobs(mctx)
    mailbox.wait_for(2)
    assert "Now you hear me" in text_of(mailbox.messages[1])


async def test_a_reply_is_mailed_with_one_click_unsubscribe_headers(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    mine = await subscribed(web, mctx, mailbox, ["replies"])
    await comment(web, "Someone else, elsewhere in the thread", "bob@example.org", name="Bob")
    await comment(web, "They close at low tide.", "ada@example.org", parent_id=mine["id"])
    run_jobs(mctx)
    [mail] = mailbox.wait_for(1)
    keep_for_docs("replies", mail)
    assert mail["Subject"] == "New replies to your comment on “Tide pools”"
    body = text_of(mail)
    assert "Ada wrote:" in body and "They close at low tide." in body
    assert "elsewhere in the thread" not in body  # not a reply to the reader's comment
    assert f"{ARTICLE}#rj-comment-" in body
    unsubscribe = mail["List-Unsubscribe"]
    assert re.fullmatch(r"<https://comments\.blog\.example/notify/unsubscribe/[^>]+>", unsubscribe)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "<p>They close at low tide.</p>" in html_of(mail)  # the comment's sanitised HTML


async def test_the_readers_own_comments_are_not_mailed_to_them(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await subscribed(web, mctx, mailbox, ["thread"])
    await comment(web, "Talking to myself", READER.upper(), name="Reader")
    run_jobs(mctx)
    assert mailbox.messages == []
    await comment(web, "Someone else", "ada@example.org")
    run_jobs(mctx)
    [mail] = mailbox.wait_for(1)
    assert "Someone else" in text_of(mail) and "Talking to myself" not in text_of(mail)


async def test_comments_within_the_hour_are_batched_into_one_mail(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await subscribed(web, mctx, mailbox, ["thread"])
    await comment(web, "One", "ada@example.org")
    run_jobs(mctx)
    mailbox.wait_for(1)
    await comment(web, "Two", "bob@example.org", name="Bob")
    await comment(web, "Three", "ada@example.org")
    run_jobs(mctx)
    assert len(mailbox.messages) == 1  # the next mail waits for the hour to pass
    with mctx.db.read() as conn:
        due = conn.scalar(subscriptions_table.select().with_only_columns(subscriptions_table.c.due_at))
        planned = conn.scalars(
            jobs.select().with_only_columns(jobs.c.run_at).where(jobs.c.kind == subscriptions.SEND_DUE)
        ).all()
    assert due is not None and timedelta(minutes=59) < due - datetime.now(UTC) <= timedelta(hours=1)
    assert due in planned  # a job is queued for that moment

    # An hour later (the clock moved by moving the due time):
    with mctx.db.write() as conn:
        conn.execute(update(subscriptions_table).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
    subscriptions.send_due(mctx, subscriptions.Letters())
    run_jobs(mctx)
    mailbox.wait_for(2)
    batch = mailbox.messages[1]
    keep_for_docs("comments", batch)
    assert "Two" in text_of(batch) and "Three" in text_of(batch) and "One" not in text_of(batch)
    assert batch["Subject"] == "New comments on “Tide pools”"


async def test_unsubscribing_by_the_link_needs_the_button(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await subscribed(web, mctx, mailbox, ["thread"])
    await comment(web, "One", "ada@example.org")
    run_jobs(mctx)
    [mail] = mailbox.wait_for(1)
    unsubscribe = link(mail, "unsubscribe")
    page = await web.get(unsubscribe)
    assert page.status_code == 200 and "New comments on “Tide pools”" in page.text
    assert subscriptions.subscriptions_of(mctx, READER) != []  # looking is not unsubscribing
    done = await web.post(unsubscribe)
    assert done.status_code == 200 and "no more e-mail" in done.text
    assert subscriptions.subscriptions_of(mctx, READER) == []
    await comment(web, "Two", "ada@example.org")
    run_jobs(mctx)
    assert len(mailbox.messages) == 1
    again = await web.post(unsubscribe)  # twice is harmless
    assert again.status_code == 200 and "cancelled already" in again.text


async def test_unsubscribing_by_the_list_unsubscribe_post(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await subscribed(web, mctx, mailbox, ["thread"])
    await comment(web, "One", "ada@example.org")
    run_jobs(mctx)
    [mail] = mailbox.wait_for(1)
    target = mail["List-Unsubscribe"].strip("<>").removeprefix("https://comments.blog.example")
    # What a mail client sends for RFC 8058's one-click unsubscribe: no cookies, no page.
    response = await web.post(
        target,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert subscriptions.subscriptions_of(mctx, READER) == []


async def test_forged_or_misused_links_are_refused(web: httpx.AsyncClient, mctx: Context) -> None:
    for path in ("confirm", "unsubscribe", "manage"):
        response = await web.post(f"/notify/{path}/forged.token")
        assert response.status_code == 404 and "This link does not work" in response.text
    # A token made for unsubscribing does not confirm.
    token = mctx.signer.link_token("unsubscribe", 1)
    assert (await web.post(f"/notify/confirm/{token}")).status_code == 404


async def test_the_manage_page_lists_and_cancels_an_addresss_subscriptions(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    mine = await subscribed(web, mctx, mailbox, ["thread", "replies"])
    await comment(web, "One", "ada@example.org", parent_id=mine["id"])
    run_jobs(mctx)
    [mail] = mailbox.wait_for(1)  # one mail: the thread's covers the reply
    manage = link(mail, "manage")
    page = await web.get(manage)
    assert "New comments on “Tide pools”" in page.text and "Replies to your comment" in page.text
    assert READER in page.text
    bad = await web.post(manage, content=b"cancel=nonsense")
    assert error_fields(bad, 422, "invalid_input") == {"cancel": "must be a subscription's id or 'all'"}
    thread_sub = next(s for s in subscriptions.subscriptions_of(mctx, READER) if s.kind == "thread")
    done = await web.post(manage, content=f"cancel={thread_sub.id}".encode())
    assert done.status_code == 303
    assert [s.kind for s in subscriptions.subscriptions_of(mctx, READER)] == ["replies"]
    await web.post(manage, content=b"cancel=all")
    assert subscriptions.subscriptions_of(mctx, READER) == []


async def test_a_suppressed_address_gets_no_mail(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    await subscribed(web, mctx, mailbox, ["thread"])
    subscriptions.suppress(mctx, "test", READER)
    await comment(web, "One", "ada@example.org")
    run_jobs(mctx)
    assert mailbox.messages == []
    await comment(web, "Me again", "nobody@example.org", notify=["thread"])  # and no confirmation either
    subscriptions.suppress(mctx, "test", "nobody@example.org")
    run_jobs(mctx)
    assert mailbox.messages == []


async def test_confirmation_requests_are_at_most_hourly(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    for n in range(3):
        await comment(web, f"Comment {n}", READER, notify=["thread", "replies"])
    run_jobs(mctx)
    assert len(mailbox.wait_for(1)) == 1


async def test_mail_is_written_in_the_sites_language(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    update_site(mctx, "test", language="uk")
    await comment(web, "Привіт", READER, notify=["thread"])
    run_jobs(mctx)
    [mail] = mailbox.wait_for(1)
    keep_for_docs("confirm-uk", mail)
    assert mail["Subject"] == "Підтвердьте сповіщення від Tide Notes"
    page = await web.get(link(mail, "confirm"))
    assert 'lang="uk"' in page.text and "Підтвердити" in page.text


async def test_what_a_comment_may_ask_for(web: httpx.AsyncClient, mctx: Context) -> None:
    form = (await web.get("/api/v1/form", params={"site": "test", "url": ARTICLE})).json()
    assert form["site"]["notify"] == ["thread", "replies"]  # no feed_url: no new posts to announce
    response = await web.post("/api/v1/comments", json=comment_payload(email="") | {"notify": ["thread"]})
    assert error_fields(response, 422, "invalid_input") == {
        "author.email": "is needed to send the notifications asked for"
    }
    response = await web.post("/api/v1/comments", json=comment_payload() | {"notify": ["posts"]})
    assert error_fields(response, 422, "invalid_input") == {"notify": "posts is not offered on this site"}
    response = await web.post("/api/v1/comments", json=comment_payload() | {"notify": ["everything"]})
    assert "notify.0" in error_fields(response, 422, "invalid_input")


async def test_a_server_without_mail_offers_no_notifications(client: httpx.AsyncClient, site: str) -> None:
    form = (await client.get("/api/v1/form", params={"site": site, "url": ARTICLE})).json()
    assert form["site"]["notify"] == []
    response = await client.post("/api/v1/comments", json=comment_payload() | {"notify": ["thread"]})
    assert error_fields(response, 422, "invalid_input") == {
        "notify": "is not offered: this server sends no mail"
    }


def test_a_rolled_back_comment_sends_nothing(mctx: Context, mailbox: Mailbox) -> None:
    site = get_site(mctx, "test")
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), mctx.db.write() as conn:
        thread = thread_store.get_or_create_thread(conn, site.id, ARTICLE, "Tide pools", now)
        stored = comment_store.insert_comment(
            conn,
            thread_id=thread.id,
            parent=None,
            author=Author("Reader", READER),
            body="never",
            html="<p>never</p>",
            status=comment_store.CommentStatus.PUBLISHED,
            now=now,
            remote_addr="",
            user_agent="",
            verdict=None,
        )
        subscriptions.request(
            mctx, conn, site, site_settings(mctx, site), thread, stored, frozenset({"thread"}), now
        )
        mctx.events.record(conn, CommentPosted(site.key, thread.url, stored, site.id))
        raise RuntimeError("the transaction fails after everything was written")
    assert run_jobs(mctx) == 0
    mctx.events.poll()
    assert mailbox.messages == []
    assert subscriptions.subscriptions_of(mctx, READER) == []


def test_posting_through_the_service_asks_for_confirmation_after_the_commit(
    mctx: Context, mailbox: Mailbox
) -> None:
    posted = post_comment(
        mctx,
        NewComment(
            "test", ARTICLE, "Hello", "Tide pools", author=Author("R", READER), notify=frozenset({"thread"})
        ),
        Client(),
    )
    assert posted.comment.id
    run_jobs(mctx)
    assert mailbox.wait_for(1)[0]["To"] == READER


async def test_the_data_page_says_what_notifications_keep_and_how_to_leave_them(
    web: httpx.AsyncClient, mctx: Context
) -> None:
    pages = {lang: unescape((await web.get(f"/privacy/test?lang={lang}")).text) for lang, _ in LANGUAGES}
    days = subscriptions.CONFIRM_FOR.days
    assert "If you ask for e-mail notifications (new comments in a thread, replies to your comment)" in (
        pages["en"]
    )
    assert f"works for {days} days" in pages["en"]
    assert "the site's new posts" not in pages["en"]  # the site names no feed of its own
    assert "through the mail server the site sends its mail with" in pages["en"]
    assert "lists all your subscriptions on this site" in pages["en"]
    assert "An export by e-mail address lists your subscriptions too, and an erasure removes them" in (
        pages["en"]
    )
    assert "відповіді на ваш коментар" in pages["uk"] and f"діє {days} днів" in pages["uk"]
    assert "Antworten auf deinen Kommentar" in pages["de"] and f"gilt {days} Tage" in pages["de"]
    create_site(mctx, "posts", "Posts", ["https://blog.example"], feed_url="https://blog.example/feed.xml")
    assert "the site's new posts" in unescape((await web.get("/privacy/posts?lang=en")).text)


async def test_export_and_erasure_by_address_cover_subscriptions(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    from rejoinder.privacy import erase_by_email, export_by_email

    await subscribed(web, mctx, mailbox, ["thread", "replies"])
    exported = export_by_email(mctx, READER)
    assert sorted(s["kind"] for s in exported["subscriptions"]) == ["replies", "thread"]
    assert all(s["confirmed"] for s in exported["subscriptions"])
    assert {s["thread"] for s in exported["subscriptions"]} == {ARTICLE}
    subscriptions.suppress(mctx, "test", READER)
    erased = erase_by_email(mctx, READER)
    assert erased.subscriptions == 2
    assert subscriptions.subscriptions_of(mctx, READER) == []
    # The moderator's suppression outlives the erasure: asking again mails nothing.
    await comment(web, "Back again", READER, notify=["thread"])
    run_jobs(mctx)
    assert mailbox.messages == []
