"""A committer thread publishes its batch's events without waiting for Redis's answer (``RedisFanout.send``),
and goes on to its next batch; the writers' event loop reads the answer, and the PING's where another process
heard, before the writers hear of their commit. So a writer's answer still follows the other processes'
copies of its news (docs/design.md, "The staleness bound"), and a Redis that does not answer holds a
writer no longer than a publish did."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
import redis
from sqlalchemy import Connection, insert

from rejoinder.context import Context
from rejoinder.events import SiteChanged
from rejoinder.fanout import Message, Publication, RedisFanout, _unread_bytes
from rejoinder.store.db import Database
from rejoinder.store.schema import server_secrets
from tests.helpers import REDIS_URL, require_redis
from tests.mailbox import free_port
from tests.test_fanout_news import Unheard, started
from tests.test_pgwrites_committers import piece, stored_names
from tests.test_scale_out import OwnRedis


@pytest.fixture
def channel() -> Iterator[str]:
    require_redis()
    yield f"test-{uuid.uuid4().hex}:events"


async def heard(publication: Publication | None, then: Callable[[], None] = lambda: None) -> float:
    """Wait on this loop until ``publication`` is heard, calling ``then`` at that moment; when it was."""
    assert publication is not None
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def on_heard() -> None:
        then()
        done.set_result(time.monotonic())

    publication.when_heard(on_heard)
    return await asyncio.wait_for(done, 10)


def last_command(admin: redis.Redis, fanout: RedisFanout) -> str:
    """The last command Redis read on the connection of ``fanout``'s unanswered publications."""
    host, port = fanout._unanswered._sock.getsockname()[:2]
    (client,) = [c for c in admin.client_list() if c["addr"] == f"{host}:{port}"]
    return str(client["cmd"])


async def test_writers_hear_only_once_another_process_holds_the_news(channel: str) -> None:
    mine, other = started(RedisFanout(REDIS_URL, channel)), started(Unheard(REDIS_URL, channel))
    try:
        held: list[int] = []
        for i in range(10):
            publication = mine.send([{"id": i, "topic": "site", "data": {"n": i}}])
            await heard(publication, lambda: held.append(_unread_bytes(other._socket)))
        # At each writer's answer the other process's socket held one more message than at the one before.
        assert all(after > before for before, after in zip([0, *held], held, strict=False)), held
    finally:
        mine.close()
        other.close()


async def test_a_process_alone_makes_no_ping_and_one_beside_another_does(channel: str) -> None:
    admin = redis.Redis.from_url(REDIS_URL)
    mine = started(RedisFanout(REDIS_URL, channel))
    try:
        await heard(mine.send([{"id": 1, "topic": "site", "data": {}}]))
        assert last_command(admin, mine) == "publish"  # only its own subscription heard it
        other = started(Unheard(REDIS_URL, channel))
        try:
            await heard(mine.send([{"id": 2, "topic": "site", "data": {}}]))
            assert last_command(admin, mine) == "ping"
            assert other.pending()
        finally:
            other.close()
    finally:
        admin.close()
        mine.close()


async def test_publications_sent_one_after_another_are_each_heard_in_turn(channel: str) -> None:
    mine, other = started(RedisFanout(REDIS_URL, channel)), started(Unheard(REDIS_URL, channel))
    try:
        # Two committers' publications on the one connection before the loop reads any answer.
        sent = [mine.send([{"id": i, "topic": "site", "data": {}}]) for i in range(5)]
        times = [await heard(publication) for publication in sent]
        assert all(publication is not None and publication.heard for publication in sent)
        assert times == sorted(times)
    finally:
        mine.close()
        other.close()


async def test_a_redis_that_does_not_answer_holds_writers_no_longer_than_a_publish_and_pauses_it(
    tmp_path: Path,
) -> None:
    own = OwnRedis(free_port(), tmp_path)
    own.start()
    assert own.process is not None
    mine = started(RedisFanout(own.url, "test:events"))
    try:
        await heard(mine.send([{"id": 1, "topic": "site", "data": {}}]))
        os.kill(own.process.pid, signal.SIGSTOP)
        try:
            sent = time.monotonic()
            when = await heard(mine.send([{"id": 2, "topic": "site", "data": {}}]))
            assert RedisFanout.PUBLISH_TIMEOUT_SECONDS <= when - sent < 2
            # Publishing pauses: the outbox carries the news meanwhile.
            assert mine.send([{"id": 3, "topic": "site", "data": {}}]) is None
        finally:
            os.kill(own.process.pid, signal.SIGCONT)
    finally:
        mine.close()
        own.stop()


class HeardWhenTold:
    """What a batch's writers wait for, heard when the test says (``tell``)."""

    def __init__(self) -> None:
        self.then: Callable[[], None] | None = None

    def when_heard(self, then: Callable[[], None]) -> None:
        self.then = then

    def tell(self) -> None:
        assert self.then is not None
        self.then()


async def test_writers_hear_once_their_publication_is_heard_and_later_writes_go_on(pg_db: Database) -> None:
    publication = HeardWhenTold()

    def publishing(conn: Connection) -> str:
        conn.execute(insert(server_secrets).values(name="piece-publishing", value="v"))
        held = pg_db.held_answers()
        assert held is not None  # a committer thread of the lane
        held.append(publication)
        return "committed"

    first = asyncio.ensure_future(pg_db.transaction_async(publishing))
    while publication.then is None:  # the batch committed and its writers' loop waits for the answer
        await asyncio.sleep(0.002)
    ran: list[str] = []
    await asyncio.wait_for(pg_db.transaction_async(piece("piece-after", ran)), 10)
    assert not first.done()  # committed, but not heard of before its publication is
    publication.tell()
    assert await asyncio.wait_for(first, 10) == "committed"
    assert stored_names(pg_db) == {"piece-publishing", "piece-after"}


def test_a_write_outside_the_lanes_publishes_and_waits_in_place(pg_db: Database) -> None:
    seen: list[object] = []
    thread = threading.Thread(
        target=lambda: seen.append(pg_db.transaction(lambda conn: pg_db.held_answers()))
    )
    thread.start()
    thread.join(10)
    assert seen == [None]


class Recording:
    """A fan-out that notes what was published, and what was sent to be answered later (heard at once)."""

    up = True

    def __init__(self) -> None:
        self.published: list[list[Message]] = []
        self.sent: list[list[Message]] = []

    def pending(self) -> bool:
        return False

    def start(self, receive: object, on_state: object) -> None:
        pass

    def publish(self, messages: list[Message]) -> None:
        self.published.append(messages)

    def send(self, messages: list[Message]) -> HeardWhenTold:
        self.sent.append(messages)
        return HeardAtOnce()

    def close(self) -> None:
        pass


class HeardAtOnce(HeardWhenTold):
    def when_heard(self, then: Callable[[], None]) -> None:
        then()


async def test_a_committer_sends_its_batchs_events_and_a_write_elsewhere_publishes_them(
    ctx: Context, pg_db: Database
) -> None:
    fanout = Recording()
    ctx.events.fanout = fanout  # type: ignore[assignment]

    def changing(conn: Connection) -> None:
        ctx.events.record(conn, SiteChanged(site_key="elsewhere"))

    await pg_db.transaction_async(changing)
    assert [len(messages) for messages in fanout.sent] == [1] and fanout.published == []
    await anyio.to_thread.run_sync(lambda: pg_db.transaction(changing))
    assert [len(messages) for messages in fanout.published] == [1] and len(fanout.sent) == 1
