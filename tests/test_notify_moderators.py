"""Mail to moderators, with a real SMTP server: a held comment is mailed to the site's moderators with
approve and spam links that act only through the button on their page, once; digests batch; a reported
comment is mailed; each moderator chooses by API."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import update

from rejoinder.cli import main
from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.model import Author, CommentStatus
from rejoinder.notify import moderators
from rejoinder.notify.letters import Letters
from rejoinder.reports import report
from rejoinder.settings import Settings
from rejoinder.sites import create_site, update_site
from rejoinder.store.comments import get_comment
from rejoinder.store.moderators import remove_role
from rejoinder.store.schema import moderator_mail
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.helpers import ARTICLE, error_fields, log_in, make_moderator
from tests.mailbox import Mailbox, html_of, text_of
from tests.render_mail import keep_for_docs


@pytest.fixture
def mctx(mail_settings: Settings) -> Iterator[Context]:
    context = open_context(mail_settings)
    create_site(context, "test", "Tide Notes", ["https://blog.example"], spam_filter=False, moderation=True)
    create_site(context, "other", "Elsewhere", ["https://other.example"], spam_filter=False, moderation=True)
    yield context
    context.close()


@pytest.fixture
async def web(mail_settings: Settings, mctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=create_app(mail_settings, context=mctx), client=("203.0.113.7", 50000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


def held(ctx: Context, body: str, site: str = "test", url: str = ARTICLE) -> int:
    new = NewComment(site, url, body, "Tide pools", author=Author("Ada", "ada@example.org"))
    posted = post_comment(ctx, new, Client())
    assert posted.comment.status is CommentStatus.PENDING
    return posted.comment.id


def status_of(ctx: Context, comment_id: int) -> CommentStatus:
    with ctx.db.read() as conn:
        comment = get_comment(conn, comment_id)
    assert comment is not None
    return comment.status


def links(message: EmailMessage) -> dict[str, str]:
    found = dict(
        re.findall(r"^(Approve|Mark as spam): https://comments\.blog\.example(\S+)$", text_of(message), re.M)
    )
    return {"approve": found["Approve"], "spam": found["Mark as spam"]}


async def test_a_held_comment_is_mailed_and_approved_only_by_the_button(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    make_moderator(mctx, "mod@blog.example", "test", "moderator")
    make_moderator(mctx, "elsewhere@other.example", "other", "moderator")
    comment_id = held(mctx, "Is this *allowed*?")
    mctx.jobs.run_due("test")
    [mail] = mailbox.wait_for(1)
    keep_for_docs("moderators", mail)
    assert mail["To"] == "mod@blog.example"  # not the other site's moderator
    assert mail["Subject"] == "Comments to moderate on Tide Notes (1)"
    assert "[Held for moderation] Ada on “Tide pools”:" in text_of(mail)
    assert "<em>allowed</em>" in html_of(mail)
    approve = links(mail)["approve"]

    page = await web.get(approve)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Is this *allowed*?" in page.text and ">Approve</button>" in page.text
    assert status_of(mctx, comment_id) is CommentStatus.PENDING

    done = await web.post(approve)
    assert done.status_code == 200 and "Approved" in done.text
    assert status_of(mctx, comment_id) is CommentStatus.PUBLISHED
    again = await web.post(approve)
    assert again.status_code == 409 and "used already" in again.text


async def test_the_spam_link_and_links_that_must_not_work(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    moderator = make_moderator(mctx, "mod@blog.example", "test", "moderator")
    comment_id = held(mctx, "Cheap pills")
    mctx.jobs.run_due("test")
    [mail] = mailbox.wait_for(1)
    assert (await web.post(links(mail)["spam"])).status_code == 200
    assert status_of(mctx, comment_id) is CommentStatus.SPAM

    forged = await web.post("/notify/moderate/" + "x" * 40)
    assert forged.status_code == 404
    # A link of another purpose does not moderate.
    unsubscribe = mctx.signer.link_token("unsubscribe", [moderator.id, comment_id, "approve", "n"])
    assert (await web.post(f"/notify/moderate/{unsubscribe}")).status_code == 404
    # A moderator who lost the site cannot use a link mailed before.
    other = held(mctx, "Another")
    token = moderators.action_url(mctx, moderator.id, other, "approve").rsplit("/", 1)[1]
    with mctx.db.write() as conn:
        remove_role(
            conn, moderator.id, conn.exec_driver_sql("SELECT id FROM sites WHERE key = 'test'").scalar()
        )
    refused = await web.post(f"/notify/moderate/{token}")
    assert refused.status_code == 404
    assert status_of(mctx, other) is CommentStatus.PENDING


async def test_an_hourly_digest_batches_held_comments(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    moderator = make_moderator(mctx, "mod@blog.example", "test", "moderator")
    moderators.set_preference(mctx, moderator, "hourly", False)
    held(mctx, "First held")
    held(mctx, "Second held")
    mctx.jobs.run_due("test")
    assert mailbox.messages == []
    with mctx.db.write() as conn:  # the hour is up
        conn.execute(update(moderator_mail).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
    moderators.send_due(mctx, Letters())
    mctx.jobs.run_due("test")
    [digest] = mailbox.wait_for(1)
    assert digest["Subject"] == "Comments to moderate on Tide Notes (2)"
    assert "First held" in text_of(digest) and "Second held" in text_of(digest)
    assert text_of(digest).count("Approve: ") == 2


async def test_a_comment_held_by_reports_is_mailed_and_every_comment_on_request(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    update_site(mctx, "test", moderation=False, report_threshold=1)
    watcher = make_moderator(mctx, "all@blog.example", "test", "moderator")
    moderators.set_preference(mctx, watcher, "instant", True)
    make_moderator(mctx, "held-only@blog.example", "test", "moderator")
    posted = post_comment(
        mctx, NewComment("test", ARTICLE, "Published at once", author=Author("Bob")), Client()
    )
    mctx.jobs.run_due("test")
    [new] = mailbox.wait_for(1)
    assert new["To"] == "all@blog.example" and "[New comment]" in text_of(new)
    assert "Approve:" not in text_of(new)  # nothing to decide

    report(mctx, posted.comment.id, "abuse", "", Client(remote_addr="198.51.100.9", origin=None))
    mctx.jobs.run_due("test")
    mails = mailbox.wait_for(3)
    assert {m["To"] for m in mails[1:]} == {"all@blog.example", "held-only@blog.example"}
    assert all("[Held after readers' reports]" in text_of(m) for m in mails[1:])


async def test_a_report_that_holds_nothing_is_mailed_with_a_spam_link(
    web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox
) -> None:
    update_site(mctx, "test", moderation=False, report_threshold=3)
    make_moderator(mctx, "mod@blog.example", "test", "moderator")
    posted = post_comment(
        mctx, NewComment("test", ARTICLE, "Still up after one report", author=Author("Bob")), Client()
    )
    mctx.jobs.run_due("test")
    assert mailbox.wait_for(0) == []  # a published comment: nothing to moderate yet
    for reader in ("198.51.100.9", "198.51.100.10"):  # two reports before the mail: one notice
        report(mctx, posted.comment.id, "spam", "", Client(remote_addr=reader, origin=None))
    mctx.jobs.run_due("test")
    [mail] = mailbox.wait_for(1)
    assert "[Reported by a reader]" in text_of(mail) and "Still up after one report" in text_of(mail)
    assert "Mark as spam: " in text_of(mail) and "Approve: " not in text_of(mail)


async def test_a_moderator_chooses_by_api(web: httpx.AsyncClient, mctx: Context, mailbox: Mailbox) -> None:
    make_moderator(mctx, "mod@blog.example", "test", "moderator")
    csrf = await log_in(web, "mod@blog.example")
    assert (await web.get("/api/v1/me/notifications")).json() == {"mode": "instant", "all_comments": False}
    bad = await web.put("/api/v1/me/notifications", json={"mode": "weekly"}, headers={"X-CSRF-Token": csrf})
    assert "mode" in error_fields(bad, 422, "invalid_input")
    chosen = await web.put(
        "/api/v1/me/notifications",
        json={"mode": "off", "all_comments": False},
        headers={"X-CSRF-Token": csrf},
    )
    assert chosen.status_code == 200 and chosen.json()["mode"] == "off"
    held(mctx, "Nobody hears of this")
    mctx.jobs.run_due("test")
    assert mailbox.messages == []
    no_csrf = await web.put("/api/v1/me/notifications", json={"mode": "daily"})
    assert no_csrf.status_code == 403


def test_the_command_line_shows_and_sets_a_moderators_mail(mctx: Context) -> None:
    make_moderator(mctx, "mod@blog.example", "test", "moderator")

    def run(*args: str) -> dict[str, object]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["mail", "moderator", "mod@blog.example", "--database", mctx.settings.database_url, *args])
        return json.loads(out.getvalue())  # type: ignore[no-any-return]

    assert run() == {"email": "mod@blog.example", "mode": "instant", "all_comments": False}
    assert run("--mode", "daily", "--all-comments")["mode"] == "daily"
    assert run() == {"email": "mod@blog.example", "mode": "daily", "all_comments": True}
