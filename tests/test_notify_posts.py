"""*Notify me of new posts*: the poller against a feed served by the test, over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import update

from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.model import Author
from rejoinder.notify import posts, subscriptions
from rejoinder.notify.letters import Letters
from rejoinder.settings import Settings
from rejoinder.sites import create_site, get_site
from rejoinder.store import notify as store
from rejoinder.store.schema import feed_polls
from rejoinder.wiring import open_context
from tests.helpers import ARTICLE
from tests.mailbox import Mailbox, html_of, text_of
from tests.render_mail import keep_for_docs

READER = "reader@example.org"


def atom(*titles: str) -> bytes:
    entries = "".join(
        f"<entry><id>tag:blog.example,2026:{n}</id><title>{title}</title>"
        f'<link href="https://blog.example/posts/{n}"/><updated>2026-12-0{n}T10:00:00Z</updated></entry>'
        for n, title in reversed(list(enumerate(titles, 1)))
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Tide Notes</title><id>tag:blog.example,2026:feed</id><updated>2026-12-02T10:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


class FeedServer:
    """Serves ``body`` with an ETag; answers 304 to a matching If-None-Match, or ``fail`` when set."""

    def __init__(self) -> None:
        self.body = atom("Low tide")
        self.fail: int | None = None
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append({k.lower(): v for k, v in self.headers.items()})
                etag = f'"{hash(server.body) & 0xFFFFFFFF:x}"'
                if server.fail:
                    self.send_response(server.fail)
                    if server.fail == 503:
                        self.send_header("Retry-After", "10800")
                    self.end_headers()
                elif self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/atom+xml")
                    self.send_header("ETag", etag)
                    self.end_headers()
                    self.wfile.write(server.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/feed.atom"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def pctx(mail_settings: Settings, feed: FeedServer) -> Iterator[Context]:
    context = open_context(mail_settings)
    create_site(context, "test", "Tide Notes", ["https://blog.example"], spam_filter=False, feed_url=feed.url)
    yield context
    context.close()


def poll_now(ctx: Context) -> None:
    with ctx.db.write() as conn:  # the feed's own pace has passed
        conn.execute(update(feed_polls).values(next_poll_at=datetime.now(UTC) - timedelta(seconds=1)))
    posts.poll_feeds(ctx, Letters())
    ctx.jobs.run_due("test")


def test_new_posts_are_mailed_to_confirmed_subscribers_politely(
    pctx: Context, feed: FeedServer, mailbox: Mailbox
) -> None:
    post_comment(
        pctx,
        NewComment("test", ARTICLE, "Hi", author=Author("R", READER), notify=frozenset({"posts"})),
        Client(),
    )
    pctx.jobs.run_due("test")
    [confirmation] = mailbox.wait_for(1)
    assert "New posts on Tide Notes" in text_of(confirmation)
    token = text_of(confirmation).split("/notify/confirm/")[1].split()[0]
    subscriptions.confirm(pctx, token)

    posts.poll_feeds(pctx, Letters())  # the first look only learns what is there
    pctx.jobs.run_due("test")
    assert len(mailbox.messages) == 1 and len(feed.requests) == 1
    assert feed.requests[0]["user-agent"].startswith("Rejoinder/")

    posts.poll_feeds(pctx, Letters())  # not due yet: the feed is not asked again
    assert len(feed.requests) == 1

    poll_now(pctx)  # unchanged: a conditional request, answered 304
    assert feed.requests[1]["if-none-match"]
    assert len(mailbox.messages) == 1

    feed.body = atom("Low tide", "Anemones at dusk")
    poll_now(pctx)
    [_, announcement] = mailbox.wait_for(2)
    keep_for_docs("post", announcement)
    assert announcement["Subject"] == "New post on Tide Notes: Anemones at dusk"
    assert "https://blog.example/posts/2" in text_of(announcement)
    assert 'href="https://blog.example/posts/2"' in html_of(announcement)
    assert announcement["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    poll_now(pctx)  # announced once
    assert len(mailbox.messages) == 2


def test_a_failing_feed_is_asked_less_often(pctx: Context, feed: FeedServer) -> None:
    site = get_site(pctx, "test")
    feed.fail = 503
    posts.poll_feeds(pctx, Letters())
    with pctx.db.read() as conn:
        state = store.feed_poll(conn, site.id)
    assert state is not None and state.failures == 1
    wait = state.next_poll_at - datetime.now(UTC)
    assert timedelta(minutes=179) < wait <= timedelta(hours=3)  # the server's Retry-After: 3 hours
    feed.fail = 500
    with pctx.db.write() as conn:
        conn.execute(update(feed_polls).values(next_poll_at=datetime.now(UTC)))
    posts.poll_feeds(pctx, Letters())
    with pctx.db.read() as conn:
        state = store.feed_poll(conn, site.id)
    assert state is not None and state.failures == 2
    # Thirty minutes' pace, doubled for each failure in a row: two hours after the second.
    assert timedelta(minutes=119) < state.next_poll_at - datetime.now(UTC) <= timedelta(hours=2)
