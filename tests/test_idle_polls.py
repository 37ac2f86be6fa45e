"""An idle deployment: the event bus's tail reads nothing while nothing is committed, yet learns of the next
commit, from any process, and still delivers an event whose writer never did once it comes of age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from rejoinder import bus
from rejoinder.context import Context
from rejoinder.events import Event, SiteChanged, encode
from rejoinder.settings import Settings
from rejoinder.sites import cached_site, create_site, update_site
from rejoinder.store import outbox as outbox_store
from rejoinder.wiring import open_context


@pytest.fixture
def other(settings: Settings) -> Iterator[Context]:
    """Another process on the same database, tailing the outbox when the test says so."""
    context = open_context(settings)
    yield context
    context.close()


def statements_read(ctx: Context) -> list[str]:
    seen: list[str] = []
    event.listen(ctx.db.reader, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def polls_read_nothing(ctx: Context, read: list[str], polls: int = 5, tries: int = 20) -> bool:
    """Whether ``polls`` of the tail in a row read nothing, in one of ``tries`` attempts: on PostgreSQL
    the watch is the whole server's, so another database's writes (another run of the tests) make the
    tail look too."""
    for _ in range(tries):
        read.clear()
        for _ in range(polls):
            ctx.events.poll_unless_quiet()
        if not read:
            return True
    return False


def test_the_version_moves_with_every_commit(ctx: Context) -> None:
    watch = ctx.db.watch_commits()
    try:
        before = watch.version()
        assert before is not None
        create_site(ctx, "blog", "Blog", ["https://blog.example"])
        assert watch.version() != before
    finally:
        watch.close()


def test_on_postgresql_a_commit_of_a_transaction_running_at_the_look_moves_the_version(ctx: Context) -> None:
    if ctx.db.backend != "postgresql":
        pytest.skip("SQLite's writers take turns: no transaction runs while the pragma is read")
    watch = ctx.db.watch_commits()
    try:
        with ctx.db.write() as conn:
            outbox_store.add(
                conn, "SiteChanged", encode(SiteChanged("blog")), datetime.now(UTC), delivered=True
            )
            looked = watch.version()  # the writer has its transaction id and has not committed
        assert watch.version() != looked
    finally:
        watch.close()


def test_the_tail_reads_nothing_until_another_process_commits(ctx: Context, other: Context) -> None:
    create_site(ctx, "blog", "Blog", ["https://blog.example"])
    assert cached_site(other, "blog").name == "Blog"
    other.events.poll_unless_quiet()
    read = statements_read(other)
    assert polls_read_nothing(other, read)
    update_site(ctx, "blog", name="Renamed")
    other.events.poll_unless_quiet()
    assert read != []
    assert cached_site(other, "blog").name == "Renamed"


def test_an_event_its_writer_never_delivered_is_delivered_once_of_age_without_another_commit(
    ctx: Context, other: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Event] = []
    other.events.subscribe_once(SiteChanged, ran.append)
    with ctx.db.write() as conn:  # what a kill -9 between the commit and the delivery leaves behind
        outbox_store.add(conn, "SiteChanged", encode(SiteChanged("blog")), datetime.now(UTC), delivered=False)
    other.events.poll_unless_quiet()
    assert ran == []  # too young: its writer may still be delivering it
    monkeypatch.setattr(bus, "REDELIVER_AFTER", timedelta(0))  # time passes; nothing is committed
    other.events.poll_unless_quiet()
    assert ran == [SiteChanged("blog")]
