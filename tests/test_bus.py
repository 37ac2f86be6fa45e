"""The event bus: events recorded with the change, delivered after the commit, in every process, at least
once; one-process subscribers delivered again when their writer never did."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from rejoinder.bus import GAP_LIMIT, GATHER_SECONDS, TAIL_BATCH
from rejoinder.context import Context
from rejoinder.events import CommentPosted, Event, SiteChanged, ThreadChanged, decode, encode
from rejoinder.model import Author, Comment, CommentStatus
from rejoinder.settings import Settings
from rejoinder.sites import cached_site, create_site, update_site
from rejoinder.store import outbox as outbox_store
from rejoinder.store.schema import outbox
from rejoinder.wiring import open_context
from tests.helpers import REDIS_URL, require_redis


def now() -> datetime:
    return datetime.now(UTC)




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
def started(settings: Settings) -> Iterator[Context]:
    """A server's context: the bus's own thread runs the one-process subscribers."""
    context = open_context(settings, start=True)
    yield context
    context.close()


def undelivered_sites(ctx: Context) -> set[str]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(outbox.c.payload).where(outbox.c.delivered_at.is_(None)))
        return {row.payload["site_key"] for row in rows}


def wait_until(done: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait until ``done()``; ``seconds`` only keeps a broken run from hanging."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.01)


def test_a_batch_subscriber_takes_the_events_committed_together_in_one_call(started: Context) -> None:
    calls: list[list[SiteChanged]] = []
    started.events.subscribe_once_batch((SiteChanged,), calls.append)
    with started.db.write() as conn:
        for i in range(20):
            started.events.record(conn, SiteChanged(f"site-{i}"))
    assert started.events.drain()
    assert len(calls) == 1 and [e.site_key for e in calls[0]] == [f"site-{i}" for i in range(20)]
    wait_until(lambda: undelivered_sites(started) == set())


TWENTY_SITES = [f"site-{i}" for i in range(20)]


def _commit_twenty_and_drain(ctx: Context) -> None:
    """Twenty events in one commit, then every subscriber done with them."""
    with ctx.db.write() as conn:
        for key in TWENTY_SITES:
            ctx.events.record(conn, SiteChanged(key))
    assert ctx.events.drain()


def test_a_batch_subscriber_takes_a_commits_events_in_one_call_however_long_their_writer_takes(
    started: Context,
) -> None:
    """The writer applies a commit's events here before it hands them to the bus's thread: one that takes
    longer than the thread's gathering (a busy machine, a slow subscriber) still hands them over whole."""
    calls: list[list[SiteChanged]] = []
    started.events.subscribe_once_batch((SiteChanged,), calls.append)

    def slow(event: SiteChanged) -> None:
        if event.site_key == "site-10":
            time.sleep(4 * GATHER_SECONDS)

    started.events.subscribe(SiteChanged, slow)
    _commit_twenty_and_drain(started)
    assert [[e.site_key for e in call] for call in calls] == [TWENTY_SITES]


def test_events_this_process_tailed_before_their_writer_delivered_them_are_delivered_by_the_writer(
    started: Context,
) -> None:
    """The tail reads committed rows, and may read a commit's rows while its writer is still applying
    them: what only the writer does with them (once-work, local subscribers) it does all the same."""
    calls: list[list[SiteChanged]] = []
    local: list[SiteChanged] = []
    started.events.subscribe_once_batch((SiteChanged,), calls.append)
    started.events.subscribe_local(SiteChanged, local.append)

    def tail_meanwhile(event: SiteChanged) -> None:
        if event.site_key == "site-10":
            started.events.poll()  # what the bus's thread may do on its clock at that moment

    started.events.subscribe(SiteChanged, tail_meanwhile)
    _commit_twenty_and_drain(started)
    assert [[e.site_key for e in call] for call in calls] == [TWENTY_SITES]
    assert [e.site_key for e in local] == TWENTY_SITES
    wait_until(lambda: undelivered_sites(started) == set())


def test_a_batch_that_fails_is_given_again_event_by_event_and_only_the_failing_event_waits(
    started: Context,
) -> None:
    calls: list[list[str]] = []

    def picky(events: list[SiteChanged]) -> None:
        calls.append([e.site_key for e in events])
        if any(e.site_key == "bad" for e in events):
            raise RuntimeError("one of them cannot be handled")

    started.events.subscribe_once_batch((SiteChanged,), picky)
    with started.db.write() as conn:
        for key in ("a", "bad", "c"):
            started.events.record(conn, SiteChanged(key))
    assert started.events.drain()
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    wait_until(lambda: undelivered_sites(started) == {"bad"})


def test_an_event_still_waiting_for_this_process_is_not_delivered_again_beside_it(
    started: Context,
) -> None:
    """A busy bus may run its own events later than the redelivery age: claiming them again would run
    the subscribers twice."""
    release, ran = threading.Event(), []

    def slow(event: SiteChanged) -> None:
        release.wait(10)
        ran.append(event)

    started.events.subscribe_once(SiteChanged, slow)
    with started.db.write() as conn:
        started.events.record(conn, SiteChanged("first"))
        started.events.record(conn, SiteChanged("second"))
    time.sleep(0.2)  # the bus's thread is inside ``slow`` for the first; the second waits behind it
    with started.db.write() as conn:
        conn.execute(update(outbox).values(created_at=datetime.now(UTC) - timedelta(minutes=1)))
    started.events.poll()  # what the thread does on its clock, here while it is busy
    release.set()
    assert started.events.drain()
    assert sorted(e.site_key for e in ran) == ["first", "second"]


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    require_redis()
    yield settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": f"test-{uuid.uuid4().hex}"})


def test_with_redis_another_process_hears_of_a_change_at_once(redis_settings: Settings) -> None:
    # The second reads the outbox once a minute only: what it hears within the test came through pub/sub.
    rarely = redis_settings.model_copy(update={"outbox_poll_seconds": 60})
    first, second = open_context(redis_settings, start=True), open_context(rarely, start=True)
    try:
        heard: list[Event] = []
        second.events.subscribe(SiteChanged, heard.append)
        create_site(first, "blog", "Blog", ["https://blog.example"])
        wait_until(lambda: bool(heard), 10)  # a bound on hanging: how soon is bench/staleness.py's
        assert heard == [SiteChanged("blog")]
        second.events.poll()  # the tail finds it too, and does not apply it twice
        assert heard == [SiteChanged("blog")]
        assert not first.cache.bypass and not second.cache.bypass
    finally:
        first.close()
        second.close()


def test_with_redis_threads_may_ask_for_unread_news_at_the_same_moment(redis_settings: Settings) -> None:
    """PostgreSQL's committer threads look up memos while the event loop does: asking whether news is
    unread must never fail because another thread asks at that instant."""
    ctx = open_context(redis_settings, start=True)
    try:
        pending = ctx.sites.pending
        assert pending is not None
        failures: list[BaseException] = []

        def ask() -> None:
            try:
                for _ in range(20_000):
                    pending()
            except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
                failures.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
    finally:
        ctx.close()
