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


def test_on_postgresql_the_tail_reads_every_time(ctx: Context) -> None:
    if ctx.db.backend != "postgresql":
        pytest.skip("SQLite counts its commits: tests below")
    assert ctx.db.watch_commits().version() is None


def test_the_tail_reads_nothing_until_another_process_commits(ctx: Context, other: Context) -> None:
    if ctx.db.backend != "sqlite":
        pytest.skip("PostgreSQL has no count of commits: its tail reads every time")
    create_site(ctx, "blog", "Blog", ["https://blog.example"])
    assert cached_site(other, "blog").name == "Blog"
    other.events.poll_unless_quiet()
    read = statements_read(other)
    for _ in range(5):
        other.events.poll_unless_quiet()
    assert read == []
    update_site(ctx, "blog", name="Renamed")
    other.events.poll_unless_quiet()
    assert read != []
    assert cached_site(other, "blog").name == "Renamed"


def test_an_event_its_writer_never_delivered_is_delivered_once_of_age_without_another_commit(
    ctx: Context, other: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ctx.db.backend != "sqlite":
        pytest.skip("PostgreSQL has no count of commits: its tail reads every time")
    ran: list[Event] = []
    other.events.subscribe_once(SiteChanged, ran.append)
    with ctx.db.write() as conn:  # what a kill -9 between the commit and the delivery leaves behind
        outbox_store.add(conn, "SiteChanged", encode(SiteChanged("blog")), datetime.now(UTC), delivered=False)
    other.events.poll_unless_quiet()
    assert ran == []  # too young: its writer may still be delivering it
    monkeypatch.setattr(bus, "REDELIVER_AFTER", timedelta(0))  # time passes; nothing is committed
    other.events.poll_unless_quiet()
    assert ran == [SiteChanged("blog")]
