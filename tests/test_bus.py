"""The event bus: events recorded with the change, delivered after the commit, in every process, at least
once; one-process subscribers delivered again when their writer never did."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select, update

from rejoinder.bus import GAP_LIMIT, TAIL_BATCH
from rejoinder.context import Context
from rejoinder.events import CommentPosted, Event, SiteChanged, ThreadChanged, decode, encode
from rejoinder.model import Author, Comment, CommentStatus
from rejoinder.settings import Settings
from rejoinder.sites import cached_site, create_site, update_site
from rejoinder.store import outbox as outbox_store
from rejoinder.store.schema import outbox
from rejoinder.wiring import open_context


def now() -> datetime:
    return datetime.now(UTC)


REDIS_URL = os.environ.get("REJOINDER_TEST_REDIS", "redis://127.0.0.1:6379/0")


def a_comment(**changes: object) -> Comment:
    values: dict[str, object] = {
        "id": 7,
        "thread_id": 3,
        "parent_id": None,
        "root_id": None,
        "author": Author("Ada", "ada@example.org", "https://ada.example"),
        "body": "the source",
        "html": "<p>Hi</p>",
        "status": CommentStatus.PUBLISHED,
        "created_at": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        "edited_at": None,
        "likes": 2,
        "remote_addr": "203.0.113.9",
        "user_agent": "Firefox",
        "version": 4,
    }
    values.update(changes)
    return Comment(**values)  # type: ignore[arg-type]


def test_an_event_travels_as_json_without_what_readers_may_not_see() -> None:
    event = CommentPosted("blog", "https://blog.example/a", a_comment(), site_id=1, fingerprint=-5)
    data = encode(event)
    text = repr(data)
    assert "ada@example.org" not in text and "203.0.113.9" not in text and "the source" not in text
    back = decode(event.topic(), data)
    assert isinstance(back, CommentPosted)
    assert back.comment.author == Author("Ada", "", "https://ada.example")
    assert (back.comment.id, back.comment.likes, back.comment.version, back.fingerprint) == (7, 2, 4, -5)
    assert back.comment.created_at == event.comment.created_at


def test_subscribers_run_after_the_commit_and_never_for_a_rollback(ctx: Context) -> None:
    seen: list[Event] = []
    ctx.events.subscribe(ThreadChanged, seen.append)
    with ctx.db.write() as conn:
        ctx.events.record(conn, ThreadChanged("blog", "https://blog.example/a"))
        assert seen == []  # not before the commit
    assert seen == [ThreadChanged("blog", "https://blog.example/a")]
    with pytest.raises(RuntimeError), ctx.db.write() as conn:
        ctx.events.record(conn, ThreadChanged("blog", "https://blog.example/b"))
        raise RuntimeError("rolled back")
    assert len(seen) == 1
    with ctx.db.read() as conn:
        assert [r.payload["thread_url"] for r in conn.execute(select(outbox))] == ["https://blog.example/a"]


def test_many_events_recorded_in_one_statement_arrive_in_order_after_the_commit(
    ctx: Context, other: Context
) -> None:
    seen: list[Event] = []
    ctx.events.subscribe(ThreadChanged, seen.append)
    events = [ThreadChanged("blog", f"https://blog.example/{i}") for i in range(600)]
    with ctx.db.write() as conn:
        ctx.events.record_many(conn, events)
        assert seen == []
    assert seen == events
    with ctx.db.read() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.payload).order_by(outbox.c.id)).all()
    assert [r.payload["thread_url"] for r in rows] == [e.thread_url for e in events]
    heard: list[Event] = []
    other.events.subscribe(ThreadChanged, heard.append)
    other.events.poll()  # another process reads them from the outbox like any others
    assert heard == events


def test_the_ids_the_tail_has_passed_are_forgotten_and_no_event_is_applied_twice(ctx: Context) -> None:
    heard: list[Event] = []
    ctx.events.subscribe(ThreadChanged, heard.append)
    events = [ThreadChanged("blog", f"https://blog.example/{i}") for i in range(3 * TAIL_BATCH)]
    with ctx.db.write() as conn:
        ctx.events.record_many(conn, events)
    assert len(ctx.events._seen) == len(events)  # applied here; the tail has not read them yet
    for _ in range(4):
        ctx.events.poll()  # the tail reads this process's own events too, a batch at a time
    assert heard == events  # each applied once
    assert len(ctx.events._seen) <= GAP_LIMIT + 1  # the last id the tail read and those just below it


def test_group_committed_writes_deliver_each_event_once(ctx: Context) -> None:
    seen: list[Event] = []
    ctx.events.subscribe(ThreadChanged, seen.append)

    def work(url: str):  # type: ignore[no-untyped-def]
        return lambda conn: ctx.events.record(conn, ThreadChanged("blog", url))

    for i in range(3):
        ctx.db.transaction(work(f"https://blog.example/{i}"))
    assert sorted(e.thread_url for e in seen if isinstance(e, ThreadChanged)) == [  # type: ignore[attr-defined]
        f"https://blog.example/{i}" for i in range(3)
    ]


@pytest.fixture
def other(settings: Settings) -> Iterator[Context]:
    """Another process on the same database (no Redis: it learns of changes by tailing the outbox, here
    when the test says so rather than on its own thread's clock)."""
    context = open_context(settings)
    yield context
    context.close()


def test_another_process_learns_of_a_change_by_tailing_the_outbox(ctx: Context, other: Context) -> None:
    create_site(ctx, "blog", "Blog", ["https://blog.example"])
    assert cached_site(other, "blog").name == "Blog"  # remembered there now
    update_site(ctx, "blog", name="Renamed")
    other.events.poll()  # what its own thread does every outbox_poll_seconds
    assert cached_site(other, "blog").name == "Renamed"


def test_a_one_process_subscriber_runs_again_for_an_event_its_writer_never_delivered(
    ctx: Context, other: Context
) -> None:
    """What a kill -9 between the commit and the delivery leaves behind: a committed, undelivered event."""
    ran: list[Event] = []
    other.events.subscribe_once(SiteChanged, ran.append)
    with ctx.db.write() as conn:  # the writer has no such subscriber: it writes the row as undelivered
        event_id = outbox_store.add(conn, "SiteChanged", encode(SiteChanged("blog")), now(), delivered=False)
    other.events.poll()
    assert ran == []  # too young: its writer may still be delivering it
    with ctx.db.write() as conn:
        old = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(update(outbox).where(outbox.c.id == event_id).values(created_at=old))
    other.events.poll()
    assert ran == [SiteChanged("blog")]
    with ctx.db.read() as conn:
        assert conn.execute(select(outbox.c.delivered_at).where(outbox.c.id == event_id)).scalar() is not None
    other.events.poll()
    assert len(ran) == 1  # delivered: not again


def test_a_failing_one_process_subscriber_leaves_the_event_to_be_delivered_again(ctx: Context) -> None:
    calls: list[Event] = []

    def flaky(event: SiteChanged) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("mail server down")

    ctx.events.subscribe_once(SiteChanged, flaky)
    create_site(ctx, "blog", "Blog", ["https://blog.example"])
    assert len(calls) == 1
    with ctx.db.write() as conn:
        conn.execute(update(outbox).values(created_at=datetime.now(UTC) - timedelta(minutes=1)))
    ctx.events.poll()
    assert len(calls) == 2
    ctx.events.poll()
    assert len(calls) == 2


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); scripts/services redis starts it")
    finally:
        client.close()
    yield settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": f"test-{uuid.uuid4().hex}"})


def test_with_redis_another_process_hears_of_a_change_at_once(redis_settings: Settings) -> None:
    first, second = open_context(redis_settings, start=True), open_context(redis_settings, start=True)
    try:
        heard: list[Event] = []
        second.events.subscribe(SiteChanged, heard.append)
        create_site(first, "blog", "Blog", ["https://blog.example"])
        deadline = time.monotonic() + 2
        while not heard and time.monotonic() < deadline:  # pub/sub: well before the outbox poll
            time.sleep(0.001)
        assert heard == [SiteChanged("blog")]
        second.events.poll()  # the tail finds it too, and does not apply it twice
        assert heard == [SiteChanged("blog")]
        assert not first.cache.bypass and not second.cache.bypass
    finally:
        first.close()
        second.close()
