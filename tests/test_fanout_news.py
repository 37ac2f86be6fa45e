"""The Redis fan-out tells a process's own news from other processes': its own never turns its caches off,
others' does from the moment it arrives until it is applied."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from rejoinder.fanout import Message, RedisFanout, _News, _Sender
from tests.helpers import REDIS_URL, require_redis

CHANNEL = b"site:events"
ORIGIN = b"0123456789abcdef"


def message(data: bytes, kind: bytes = b">") -> bytes:
    return kind + b"3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(CHANNEL),
        CHANNEL,
        len(data),
        data,
    )


OWN = b'[{"from":"0123456789abcdef","id":1,"topic":"site","data":{}}]'
OTHERS = b'[{"from":"fedcba9876543210","id":2,"topic":"site","data":{}}]'
OLDER = b'[{"id":3,"topic":"site","data":{}}]'  # from a version that does not name its sender


@pytest.mark.parametrize("kind", [b"*", b">"], ids=["RESP2", "RESP3"])
def test_whole_messages_are_read_and_only_other_processes_news_is_kept(kind: bytes) -> None:
    news = _News(CHANNEL, ORIGIN)
    unread = message(OWN, kind) + message(OTHERS, kind) + message(OWN, kind) + message(OLDER, kind)
    read = news.read(unread)
    assert read.others == [OTHERS, OLDER]
    assert read.size == len(unread)
    assert read.cut_short is None
    assert news.read(message(OWN, kind) * 3).others == []


def test_a_message_cut_short_counts_as_own_only_once_its_sender_shows() -> None:
    news = _News(CHANNEL, ORIGIN)
    whole = message(OWN)
    for cut in range(1, len(whole)):
        read = news.read(message(OWN) + whole[:cut])
        assert read.others == [] and read.size == len(whole)
        data_at = whole.index(b"[{")
        expected = _Sender.OWN if cut >= data_at + len(b'[{"from":"0123456789abcdef",') else _Sender.UNKNOWN
        assert read.cut_short is expected, cut
        assert read.cut_short_size in (0, len(whole))
    cut_other = news.read(message(OTHERS)[:-5])
    assert cut_other.size == 0 and cut_other.cut_short is _Sender.UNKNOWN


@pytest.mark.parametrize(
    "unread",
    [
        b"+OK\r\n",
        b"*3\r\n$9\r\nsubscribe\r\n",
        message(OWN).replace(b"$%d" % len(OWN), b"$x"),
        message(OWN)[:-1] + b"!",
    ],
    ids=["a reply", "another kind", "a length that is no number", "a wrong end"],
)
def test_bytes_that_are_not_a_message_on_the_channel_are_refused(unread: bytes) -> None:
    with pytest.raises(ValueError):
        _News(CHANNEL, ORIGIN).read(unread)


class Unheard(RedisFanout):
    """A process whose listener never gets to the socket: what arrives stays unread."""

    def _listen(self) -> None:
        pass


@pytest.fixture
def channel() -> Iterator[str]:
    require_redis()
    yield f"test-{uuid.uuid4().hex}:events"


def started(fanout: RedisFanout, receive: Callable[[list[Message]], None] = lambda _: None) -> RedisFanout:
    fanout.start(receive, lambda up: None)
    assert fanout.up
    return fanout


def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Whether ``condition()`` came to hold; ``seconds`` only keeps a broken run from hanging."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_own_news_left_unread_is_not_pending_and_others_news_behind_it_is(channel: str) -> None:
    mine, other = started(Unheard(REDIS_URL, channel)), started(RedisFanout(REDIS_URL, channel))
    try:
        for i in range(3):
            mine.publish([{"id": i, "topic": "site", "data": {}}])
            assert not mine.pending()
        other.publish([{"id": 10, "topic": "site", "data": {}}])
        # Redis wrote it to this process's socket before answering the publisher: pending at once.
        assert mine.pending()
    finally:
        mine.close()
        other.close()


def test_others_news_is_pending_until_applied_and_own_news_never_is(channel: str) -> None:
    applying, release = threading.Event(), threading.Event()
    heard: list[Message] = []

    def apply_slowly(messages: list[Message]) -> None:
        applying.set()
        release.wait(10)
        heard.extend(messages)

    mine = started(RedisFanout(REDIS_URL, channel), apply_slowly)
    other_heard: list[Message] = []
    other = started(RedisFanout(REDIS_URL, channel), other_heard.extend)
    try:
        for i in range(50):
            mine.publish(
                [{"id": i, "topic": "site", "data": {"n": i}}, {"id": i + 1000, "topic": "site", "data": {}}]
            )
            assert not mine.pending(), i
        assert eventually(lambda: len(other_heard) == 100)
        assert [m["id"] for m in other_heard[:2]] == [0, 1000] and other_heard[1]["data"] == {}
        assert heard == [] and not applying.is_set()  # its own news is never applied twice

        other.publish([{"id": 7, "topic": "site", "data": {}}])
        assert mine.pending()
        assert applying.wait(10)
        assert mine.pending()  # taken from the socket, not applied yet
        release.set()
        assert eventually(lambda: not mine.pending())
        assert [m["id"] for m in heard] == [7] and heard[0]["from"] == other.origin
    finally:
        release.set()
        mine.close()
        other.close()


def counting_pings(fanout: RedisFanout) -> list[None]:
    """The PINGs its publisher sends from now on, one item each."""
    pings: list[None] = []
    ping = fanout._publisher.ping

    def counted() -> object:
        pings.append(None)
        return ping()

    fanout._publisher.ping = counted  # type: ignore[method-assign]
    return pings


def test_a_process_alone_publishes_without_a_ping_and_pings_once_another_listens(channel: str) -> None:
    mine = started(RedisFanout(REDIS_URL, channel))
    pings = counting_pings(mine)
    other_heard: list[Message] = []
    try:
        mine.publish([{"id": 1, "topic": "site", "data": {}}])
        assert pings == []  # only its own subscription heard it: nobody else to wait for
        other = started(RedisFanout(REDIS_URL, channel), other_heard.extend)
        try:
            mine.publish([{"id": 2, "topic": "site", "data": {}}])
            assert len(pings) == 1
            assert eventually(lambda: [m["id"] for m in other_heard] == [2])
        finally:
            other.close()
    finally:
        mine.close()


def test_a_process_whose_subscription_redis_dropped_pings_for_the_one_that_heard(channel: str) -> None:
    import redis

    mine = started(Unheard(REDIS_URL, channel))  # never reads its socket, so it never reconnects either
    other = started(Unheard(REDIS_URL, channel))
    pings = counting_pings(mine)
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        host, port = mine._socket.getsockname()[:2]
        admin.client_kill(f"{host}:{port}")
        mine.publish([{"id": 1, "topic": "site", "data": {}}])
        assert len(pings) == 1  # the one subscriber that heard it was the other process
        assert other.pending()
    finally:
        admin.close()
        mine.close()
        other.close()
