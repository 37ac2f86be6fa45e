"""Live updates: ``GET /api/v1/threads/events`` streams a thread's changes to the readers who follow it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rejoinder import moderation
from rejoinder.context import Context
from rejoinder.events import CommentEdited, CommentLiked, CommentPosted
from rejoinder.live import QUEUE_SIZE, LiveHub, message_for
from rejoinder.model import Author, Comment, CommentStatus
from rejoinder.settings import Settings
from rejoinder.sites import update_site
from rejoinder.threads import thread_url
from rejoinder.web.app import create_app
from rejoinder.web.serialize import public_comment
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, as_listed, post, read
from tests.sse import HANG_SECONDS, open_app_stream

OTHER_ARTICLE = "https://blog.example/2026/12/rock-pools"


async def test_a_stream_is_event_stream_uncached_unbuffered_and_readable_by_the_sites_origin(
    app: Any, site: str
) -> None:
    async with open_app_stream(app, site=site, url=ARTICLE, headers={"Origin": SITE_ORIGIN}) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        assert stream.headers["access-control-allow-origin"] == SITE_ORIGIN
        assert "content-length" not in stream.headers
        await stream.reader.opened()
        assert stream.reader.raw.startswith("retry: 5000\n")  # sent at once, not held back
    evil = {"Origin": "https://evil.example"}
    async with open_app_stream(app, site=site, url=ARTICLE, headers=evil) as other:
        assert other.status == 200 and "access-control-allow-origin" not in other.headers


async def test_a_published_comment_arrives_as_the_api_lists_it_then_the_count(
    app: Any, client: httpx.AsyncClient, site: str
) -> None:
    async with open_app_stream(app, site=site, url=ARTICLE) as stream:
        posted = await post(client, "Anemones!", email="ada@example.org", website="https://ada.example")
        event = await stream.reader.event()
        listed = (await read(client))["comments"][0]
        assert event.event == "comment"
        assert event.data == posted["comment"] and as_listed(event.data) == listed
        assert "ada@example.org" not in stream.reader.raw and "203.0.113.7" not in stream.reader.raw
        count = await stream.reader.event()
        assert (count.event, count.data) == ("count", {"comment_count": 1})
        assert event.id is not None and count.id is not None and int(count.id) > int(event.id)


async def test_only_followers_of_that_thread_hear_of_it(
    app: Any, client: httpx.AsyncClient, site: str
) -> None:
    async with (
        open_app_stream(app, site=site, url=OTHER_ARTICLE) as elsewhere,
        open_app_stream(app, site=site, url="HTTPS://Blog.Example:443/2026/11/tide-pools#c") as here,
    ):
        await post(client, "for the tide pools only")
        assert (await here.reader.event()).event == "comment"  # the same thread, however its URL was spelled
        assert await elsewhere.reader.events_until_quiet() == []


async def test_a_held_comment_reaches_nobody_until_a_moderator_approves_it(
    app: Any, client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    update_site(ctx, site, moderation=True)
    async with open_app_stream(app, site=site, url=ARTICLE) as stream:
        held = await post(client, "please approve me, secret words")
        assert await stream.reader.events_until_quiet() == []
        assert "secret words" not in stream.reader.raw
        # A moderator's decision is published from a worker thread: handed over to the loop all the same.
        await asyncio.to_thread(moderation.moderate, ctx, held["comment"]["id"], moderation.Decision.APPROVE)
        approved = await stream.reader.event()
        assert approved.event == "comment" and approved.data["id"] == held["comment"]["id"]
        assert approved.data["status"] == "published"
        assert (await stream.reader.event()).data == {"comment_count": 1}


async def test_edits_likes_and_deletions_arrive_as_updates(
    app: Any, client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    posted = await post(client, "first words")
    comment_id, token = posted["comment"]["id"], posted["edit_token"]
    async with open_app_stream(app, site=site, url=ARTICLE) as stream:
        edited = await client.patch(
            f"/api/v1/comments/{comment_id}",
            json={"body": "better words"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert edited.status_code == 200
        update, *rest = await stream.reader.events_until_quiet(at_least=2)
        assert [(e.event, e.data) for e in rest] == [("count", {"comment_count": 1})]  # an edit may hold it
        assert update.event == "update"
        assert {**update.data, "comment": as_listed(update.data["comment"])} == {
            "id": comment_id,
            "likes": 0,
            "gone": False,
            "comment": (await read(client))["comments"][0],
        }
        assert update.data["comment"]["html"] == "<p>better words</p>"

        liker = {"X-Rejoinder-Liker": "reader-0001"}
        liked = await client.put(f"/api/v1/comments/{comment_id}/like", headers=liker)
        assert liked.status_code == 200
        events = await stream.reader.events_until_quiet(at_least=1)
        likes = [e for e in events if e.event == "update"]
        assert [(e.data["id"], e.data["likes"]) for e in likes] == [(comment_id, 1)]
        assert all(e.event != "count" for e in events)  # a like changes no count

        await client.delete(f"/api/v1/comments/{comment_id}", headers={"Authorization": f"Bearer {token}"})
        gone = await stream.reader.event()
        assert gone.event == "update" and gone.data["comment"]["status"] == "deleted"
        assert gone.data["comment"]["html"] == "" and gone.data["comment"]["author"]["name"] is None
        assert (await stream.reader.event()).data == {"comment_count": 0}


def _comment(status: CommentStatus, body: str = "what it says") -> Comment:
    now = datetime.now(UTC)
    return Comment(
        7, 1, None, None, Author("Ada", "ada@example.org"), body, f"<p>{body}</p>", status, now, None, 2,
        remote_addr="203.0.113.9",
    )


@pytest.mark.parametrize("status", [CommentStatus.PENDING, CommentStatus.SPAM])
def test_a_comment_that_stops_showing_is_gone_and_nothing_of_it_is_told(status: CommentStatus) -> None:
    url = thread_url(ARTICLE)
    assert message_for(CommentPosted("test", url, _comment(status)), public_comment) is None
    gone = message_for(CommentEdited("test", url, _comment(status)), public_comment)
    assert gone is not None and (gone.event, gone.data) == ("update", b'{"id":7,"gone":true}')


def test_no_message_carries_an_email_or_an_address() -> None:
    url = thread_url(ARTICLE)
    for event in (CommentPosted, CommentEdited, CommentLiked):
        message = message_for(event("test", url, _comment(CommentStatus.PUBLISHED)), public_comment)
        assert message is not None
        assert b"ada@example.org" not in message.data and b"203.0.113.9" not in message.data


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"site": "nope", "url": ARTICLE}, 404, "site"),
        ({"site": "test", "url": "not a web address"}, 422, "url"),
        ({"site": "test"}, 422, "url"),
    ],
)
async def test_an_unknown_site_or_a_bad_url_is_the_usual_json_error(
    app: Any, site: str, params: dict[str, str], status: int, field: str
) -> None:
    async with open_app_stream(app, **params) as stream:
        assert stream.status == status
        assert stream.headers["content-type"] == "application/json"
        assert field in httpx.Response(status, content=stream.body).json()["error"]["fields"]


async def test_a_thread_without_comments_yet_can_be_followed(
    app: Any, client: httpx.AsyncClient, site: str
) -> None:
    fresh = "https://blog.example/2026/12/brand-new"
    async with open_app_stream(app, site=site, url=fresh) as stream:
        await post(client, "first!", url=fresh)
        assert (await stream.reader.event()).event == "comment"
        assert (await stream.reader.event()).data == {"comment_count": 1}


@pytest.fixture
def limited(settings: Settings) -> Any:
    ctx = open_context(settings.model_copy(update={"sse_max_connections": 1}))
    yield create_app(settings, context=ctx)
    ctx.close()


async def test_beyond_the_limit_streams_are_refused_with_503_and_retry_after(limited: Any, site: str) -> None:
    async with open_app_stream(limited, site=site, url=ARTICLE) as first:
        assert first.status == 200
        async with open_app_stream(limited, site=site, url=OTHER_ARTICLE) as second:
            assert second.status == 503
            assert second.headers["retry-after"] == "5"
            error = httpx.Response(503, content=second.body).json()["error"]
            assert error["code"] == "streams_exhausted" and "url" in error["fields"]
    await asyncio.sleep(0)
    async with open_app_stream(limited, site=site, url=OTHER_ARTICLE) as again:
        assert again.status == 200  # a closed stream frees its place


async def test_a_reader_who_stops_reading_is_dropped_not_buffered(
    app: Any, client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    posted = await post(client, "like me a lot")
    comment_id = posted["comment"]["id"]
    async with (
        open_app_stream(app, site=site, url=ARTICLE, stall_after=1),
        open_app_stream(app, site=site, url=ARTICLE) as fine,
    ):
        await asyncio.sleep(0.05)
        assert ctx.live.open_streams == 2
        for i in range(QUEUE_SIZE + 5):
            liker = {"X-Rejoinder-Liker": f"reader-{i:04}"}
            # Readers of their own addresses: more likes than one address may send (like_rate_limit).
            transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{i % 200 + 1}", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as reader:
                liked = await reader.put(f"/api/v1/comments/{comment_id}/like", headers=liker)
            assert liked.status_code == 200, liked.text
            await asyncio.sleep(0)  # let the fine reader write what it got
        assert ctx.live.dropped == 1 and ctx.live.open_streams == 1
        seen = [e.data["likes"] for e in await fine.reader.events_until_quiet(at_least=QUEUE_SIZE + 5)]
        assert seen == list(range(1, QUEUE_SIZE + 6))


async def test_idle_streams_get_keep_alive_lines(ctx: Context, settings: Settings, site: str) -> None:
    hub = LiveHub(ctx.db, keep_alive_seconds=0.05)
    stream = hub.open(("test", thread_url(ARTICLE)), public_comment)
    frames = [await asyncio.wait_for(stream.next(), HANG_SECONDS) for _ in range(2)]
    assert frames == [b": keep-alive\n\n"] * 2
    hub.close()


async def test_closing_the_hub_ends_every_stream_and_refuses_new_ones(
    app: Any, ctx: Context, site: str
) -> None:
    async with open_app_stream(app, site=site, url=ARTICLE) as stream:
        await asyncio.sleep(0.05)
        await asyncio.to_thread(ctx.live.close)  # as a signal handler would, from outside the loop
        await asyncio.wait_for(stream.ended.wait(), HANG_SECONDS)
        assert ctx.live.open_streams == 0
    async with open_app_stream(app, site=site, url=ARTICLE) as refused:
        assert refused.status == 503
