"""How the processes of one deployment tell each other what changed: the fan-out behind the event bus.

Two implementations of one small interface. ``LocalFanout`` is the embedded default: one process, whose
own events are delivered to it directly, so there is nothing to send (other processes on the same
database still learn of every event by tailing the outbox). ``RedisFanout`` publishes each committed event
on a Redis channel that every process listens to, so a change made through one process reaches the
others' caches within a pub/sub round trip. Redis is never the only copy of anything: while it is down,
events still reach every process through the outbox, caches are bypassed, and ``up`` says so.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import enum
import fcntl
import logging
import os
import secrets
import select
import socket
import ssl
import termios
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

Message = dict[str, object]
Receiver = Callable[[list[Message]], None]
StateListener = Callable[[bool], None]


class Fanout(Protocol):
    up: bool  # False while the channel to other processes is broken

    def pending(self) -> bool:
        """True while news from other processes has arrived but is not applied yet: a cache must not answer
        from memory then."""

    def start(self, receive: Receiver, on_state: StateListener) -> None: ...

    def publish(self, messages: list[Message]) -> None:
        """Send to every other process, without blocking the caller."""

    def send(self, messages: list[Message]) -> Publication | None:
        """``publish`` without waiting for the answer: the ``Publication`` says on an event loop when the
        others have the news; None if there is nothing to wait for."""

    def close(self) -> None: ...


class LocalFanout:
    """One process: its events are delivered to it directly, nothing to send."""

    up = True

    def pending(self) -> bool:
        return False

    def start(self, receive: Receiver, on_state: StateListener) -> None:
        pass

    def publish(self, messages: list[Message]) -> None:
        pass

    def send(self, messages: list[Message]) -> Publication | None:
        return None

    def close(self) -> None:
        pass


class RedisFanout:
    """Redis pub/sub. Publishing happens on the writer's thread before the write is acknowledged. Redis
    queues the message for every subscriber before it answers the publisher, but it writes its queued
    answers newest first, so the publisher's answer can leave before the subscribers' copies; a second
    command's answer cannot, since Redis reads that command only after writing everything it had queued.
    So ``publish`` returns after a PING's answer, and by the time a client hears "done" from process A, the
    news is in process B's socket. B's listener thread applies it;
    until it has, ``pending()`` is true (the socket holds another process's unread news, or the listener is
    applying what it took) and B's caches answer nothing from memory. So a read through B that starts after
    A's answer never sees the state from before A's write. When the publication reached no subscriber but
    A's own (PUBLISH counts them), there is no B to wait for and no PING: a process alone beside Redis saves
    a round trip a batch.

    A process hears its own publications too, and applied them before publishing. Each publication names
    its sender first, so ``pending()`` looks at the unread bytes without taking them and is false while they
    are only this process's own news; the listener takes its own news without ever making ``pending()``
    true. Under steady writes the socket holds the process's own news much of the time: the caches stay on
    for the writers and the readers beside them. The subscription's bytes are read here, not by redis-py,
    so that they are taken a whole message at a time and never sit half-read in a parser's buffer."""

    RETRY_SECONDS = 1.0
    PUBLISH_TIMEOUT_SECONDS = 0.25  # a hung Redis must not hold a writer
    PUBLISH_PAUSE_SECONDS = 5.0  # after a failed publish, others learn from the outbox for this long
    # Unread news larger than this is not looked into on a reader's path: it counts as others' news.
    PEEK_LIMIT = 256 * 1024
    # A message cut short before its length can be read: the listener looks again this much later.
    CUT_SHORT_WAIT = 0.0005

    def __init__(self, url: str, channel: str, *, errors: Callable[[], None] | None = None) -> None:
        import redis

        self._redis = redis
        self.url = url
        self.channel = channel
        self.origin = secrets.token_hex(8)  # names this process's publications to itself
        self._news = _News(channel.encode(), self.origin.encode())
        self.up = False
        self._errors = errors or (lambda: None)
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # A separate connection for publishing, with a short timeout: a hung Redis must not hold a writer.
        timeout = self.PUBLISH_TIMEOUT_SECONDS
        self._publisher = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._publish_again_at = 0.0
        # Publications of committer threads, sent on a connection of their own, answers read by the loop.
        self._unanswered = _Publications(self)
        self._connection: Any = None  # redis.Connection of the subscription while subscribed
        self._socket: Any = None  # its socket, read by the listener
        # The same socket for ``pending``, without a timeout: Python waits for a socket with a timeout to
        # turn readable before it asks the kernel, and the listener may have just emptied it.
        self._peeker: socket.socket | None = None
        # ``pending`` runs on every read answered from memory: a poll object registered once costs half
        # a ``select.select`` call, which builds its descriptor sets anew each time.
        self._watch: Any = None
        # A poll object refuses a second thread while one is inside ``poll`` (RuntimeError): PostgreSQL's
        # committer threads look up memos at the same moment as the loop does.
        self._polling = threading.Lock()
        # Odd from before the listener takes another process's news until it has applied it, even
        # otherwise: ``pending`` compares it before and after looking at the socket.
        self._taking = 0

    def start(self, receive: Receiver, on_state: StateListener) -> None:
        self._receive, self._on_state = receive, on_state
        # Subscribe before returning, so nothing published after start is missed.
        self._connect_listener()
        thread = threading.Thread(target=self._listen, name="rejoinder-fanout", daemon=True)
        thread.start()
        self._threads.append(thread)

    def publish(self, messages: list[Message]) -> None:
        if not messages or time.monotonic() < self._publish_again_at:
            return
        try:
            heard_by = self._publisher.publish(self.channel, self._payload(messages))
            if self._others_heard(heard_by):
                self._publisher.ping()  # answered only once the subscribers' copies are written (see above)
        except self._redis.RedisError as exc:
            self._failed(f"could not publish {len(messages)} events to Redis ({exc})")

    def send(self, messages: list[Message]) -> Publication | None:
        """``publish`` for a committer thread: the PUBLISH is sent and the thread goes on to its next
        batch; the writers' event loop reads its answer (and makes the PING, if others heard) before they
        hear (``Publication.when_heard``). It had waited for the answer, and then for the GIL, in the
        committer: a round trip and a hand-over a batch for which the next batch waited."""
        if not messages or time.monotonic() < self._publish_again_at:
            return None
        return self._unanswered.send(self._payload(messages))

    def _payload(self, messages: list[Message]) -> bytes:
        # The sender's name first, where ``pending`` sees it without parsing the rest; older versions,
        # which read ``id``, ``topic`` and ``data`` only, still understand the message.
        return orjson.dumps([{"from": self.origin} | messages[0], *messages[1:]])

    def _failed(self, why: str) -> None:
        """A publication failed: the events are in the outbox, and other processes tail it, so nothing is
        lost, only later. Publishing pauses for a while."""
        self._publish_again_at = time.monotonic() + self.PUBLISH_PAUSE_SECONDS
        self._errors()
        log.warning("%s", why)

    def close(self) -> None:
        self._closed.set()
        try:
            self._disconnect()
        except Exception:  # closing a broken connection
            log.debug("closing the Redis subscription failed", exc_info=True)
        for thread in self._threads:
            thread.join(timeout=3)
        self._unanswered.close()
        self._client.close()
        self._publisher.close()

    def pending(self) -> bool:
        watch, sock = self._watch, self._peeker
        if watch is None or sock is None:
            return False  # not subscribed: the caches are bypassed anyway
        taking = self._taking
        if taking % 2:
            return True  # the listener is taking in another process's news
        try:
            events = self._poll(watch, sock)
            if events & ~select.POLLIN:
                return True  # closed under us: the listener says so, and the caches are bypassed then
            unread = _unread_bytes(sock) if events else 0
            if unread > self.PEEK_LIMIT:
                return True  # too much to look into on a reader's path
            try:
                head = sock.recv(unread, socket.MSG_PEEK | socket.MSG_DONTWAIT) if unread else b""
            except BlockingIOError:
                head = b""  # the listener took it since
            # Asked after the socket, not before: news the listener took from the socket meanwhile is
            # being applied, and ``_taking`` has moved.
            if self._taking != taking:
                return True
            if not head:
                return False
            news = self._news.read(head)
            return bool(news.others) or news.cut_short is _Sender.UNKNOWN
        except (OSError, ValueError):
            return True  # bytes that are not news: the listener says so

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except self._redis.RedisError:
            return False

    # -- inside

    def _others_heard(self, heard_by: int) -> bool:
        """Whether a publication that Redis gave to ``heard_by`` subscribers reached another process, whose
        copy the PING must then wait for. One that reached this process's own subscription only (a single
        process beside Redis, or the others not subscribed) needs no PING: nobody else holds a cache it
        could leave stale, and a process that subscribes later reads the database afresh.

        A subscription of this process that Redis has dropped is not counted, and Redis closed its socket
        before it sent the publication's answer: the socket says so then, the one count may be another
        process's, and the PING is made. (Across a network the close and the answer travel on two
        connections and may arrive out of order; in that moment this process hears nobody else's news
        either, which the listener reports as soon as the close arrives.)"""
        if heard_by == 0:
            return False
        watch, sock = self._watch, self._peeker
        if heard_by > 1 or watch is None or sock is None:
            return True
        return bool(self._poll(watch, sock) & ~select.POLLIN)

    def _poll(self, watch: Any, sock: Any) -> int:
        """poll(2)'s events for the socket now: 0, POLLIN, or more when Redis closed it or it broke."""
        if self._polling.acquire(blocking=False):
            try:
                found = watch.poll(0)
            finally:
                self._polling.release()
        else:  # another thread is polling the shared object right now: a poll object of our own
            own = select.poll()
            own.register(sock, _WATCHED)
            found = own.poll(0)
        return int(found[0][1]) if found else 0

    def _connect_listener(self) -> bool:
        connection: Any = None
        try:
            # redis-py connects (authentication, protocol, database); the subscription's bytes are read
            # here from then on. Confirmed before events are trusted to arrive.
            connection = self._client.connection_pool.make_connection()
            connection.connect()
            connection.send_command("SUBSCRIBE", self.channel)
            sock = connection._sock
            if isinstance(sock, ssl.SSLSocket):  # its bytes cannot be looked into without taking them
                raise self._redis.ConnectionError("the subscription to other processes' news needs plain TCP")
            confirmation = _take(sock, len(self._news.confirmation))
            if confirmation[1:] != self._news.confirmation[1:]:
                raise self._redis.ConnectionError(f"unexpected answer to SUBSCRIBE: {confirmation[:80]!r}")
        except (self._redis.RedisError, OSError) as exc:
            if connection is not None:
                connection.disconnect()
            self._set_state(False, exc)
            return False
        peeker = socket.socket(fileno=os.dup(sock.fileno()))
        peeker.settimeout(0)
        self._connection, self._socket, self._peeker = connection, sock, peeker
        watch = select.poll()
        watch.register(sock, _WATCHED)
        self._watch = watch
        self._publish_again_at = 0.0
        self._set_state(True, None)
        return True

    def _set_state(self, up: bool, error: Exception | None) -> None:
        if up == self.up:
            return
        self.up = up
        if up:
            log.warning("Redis at %s is reachable: caches are on", self.url)
        else:
            self._errors()
            log.warning("Redis at %s is unreachable (%s): reading from the database", self.url, error)
        self._on_state(up)

    def _listen(self) -> None:
        while not self._closed.is_set():
            sock = self._socket
            if sock is None:
                if not self._connect_listener():
                    self._closed.wait(self.RETRY_SECONDS)
                continue
            try:
                if select.select([sock], [], [], 1.0)[0]:
                    self._take_news(sock)
            except (self._redis.RedisError, OSError, ValueError) as exc:
                if self._closed.is_set():
                    return
                self._disconnect()
                self._set_state(False, exc)

    def _disconnect(self) -> None:
        connection, peeker = self._connection, self._peeker
        self._connection = self._socket = self._watch = self._peeker = None
        if connection is not None:
            connection.disconnect()
        if peeker is not None:
            peeker.close()

    def _take_news(self, sock: Any) -> None:
        """Take the whole messages the socket holds; apply those of other processes."""
        unread = _unread_bytes(sock)
        if unread == 0:
            raise self._redis.ConnectionError("Redis closed the subscription")
        news = self._news.read(sock.recv(unread, socket.MSG_PEEK))
        if news.size == 0:
            if not news.cut_short_size:
                self._closed.wait(self.CUT_SHORT_WAIT)  # too little of it to know how long it is
                return
            # One long message arriving: taken whole (it may not fit in the socket's buffer), counted as
            # another process's news until it is read.
            self._taking += 1
            try:
                message = _take(sock, news.cut_short_size)
                for data in self._news.read(message).others:
                    self._apply(data)
            finally:
                self._taking += 1
            return
        if not news.others:
            _take(sock, news.size)  # this process's own news only: applied already, and ``pending`` knows
            return
        # Marked before a byte of it is taken, unmarked once it is applied: ``pending`` is true from the
        # moment another process's news arrives until this process has applied it.
        self._taking += 1
        try:
            _take(sock, news.size)
            for data in news.others:
                self._apply(data)
        finally:
            self._taking += 1

    def _apply(self, data: bytes) -> None:
        try:
            self._receive(orjson.loads(data))
        except Exception:
            log.exception("could not apply a message from other processes")


class Publication:
    """A PUBLISH sent by a committer thread (``RedisFanout.send``), until the others have its news: its
    answer read, and the PING's too if another process heard it."""

    def __init__(self, publications: _Publications) -> None:
        self._publications = publications
        self.sent_at = time.monotonic()
        self.heard = False  # answered, or given up on (the outbox carries the news then)
        self._then: list[tuple[asyncio.AbstractEventLoop, Callable[[], None]]] = []

    def when_heard(self, then: Callable[[], None]) -> None:
        """On an event loop: call ``then`` there once the others have the news; at once if they have."""
        if self._publications.heard_else_wait(self, asyncio.get_running_loop(), then):
            then()

    def _done(self) -> None:
        """Heard (under the publications' lock): each waiting ``then`` runs on its loop."""
        self.heard = True
        waiting, self._then = self._then, []
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, then in waiting:
            if loop is running:
                then()
            else:
                with contextlib.suppress(RuntimeError):  # a loop closed: nobody left to tell
                    loop.call_soon_threadsafe(then)


_PUBLISHED, _PINGED = "published", "pinged"


class _Publications:
    """The connection on which committer threads publish without waiting (``RedisFanout.send``), and the
    answers they did not wait for, read by the writers' event loop without blocking it: each answer is
    one line (an integer for PUBLISH, ``+PONG``, or an error), in the order the commands were sent.

    Sent under a lock, by any thread; read under the same lock, on a loop (``when_heard`` first looks
    at what has come, and only a publication still unanswered watches the socket with the loop's poll). An
    answer that takes longer than the publisher's timeout breaks the connection, as a publish would time
    out: every publication waiting is taken as heard (the outbox carries the news) and publishing pauses."""

    def __init__(self, fanout: RedisFanout) -> None:
        self._fanout = fanout
        self._lock = threading.Lock()
        self._connection: Any = None  # redis-py's connection (it made the handshake), while connected
        self._sock: Any = None  # its socket, for sending (with the publisher's timeout)
        self._reader: socket.socket | None = None  # the same socket without a timeout, for the loop
        self._received = b""
        # What each answer still to come is for, oldest first.
        self._expected: deque[tuple[Publication, str]] = deque()
        # The loops watching the socket for answers, each with the descriptor it watches and a token of its
        # own (a loop that stopped watching and began again has a new one: its old timer ends).
        self._watching: dict[asyncio.AbstractEventLoop, tuple[int, object]] = {}

    def send(self, payload: bytes) -> Publication | None:
        with self._lock:
            try:
                if self._sock is None:
                    self._connect()
                publication = Publication(self)
                self._expected.append((publication, _PUBLISHED))
                command = self._connection.pack_command("PUBLISH", self._fanout.channel, payload)
                self._sock.sendall(b"".join(command))
            except (self._fanout._redis.RedisError, OSError) as exc:
                self._break(f"could not publish to Redis ({exc})")
                return None
        return publication

    def heard_else_wait(
        self, publication: Publication, loop: asyncio.AbstractEventLoop, then: Callable[[], None]
    ) -> bool:
        """On ``loop``: whether ``publication`` is heard, the answers come so far taken; if not, ``then``
        waits for it there, and the loop watches the socket for its answer."""
        with self._lock:
            self._read()
            if publication.heard:
                return True
            publication._then.append((loop, then))
            if self._reader is not None and loop not in self._watching:
                watch = (self._reader.fileno(), object())
                self._watching[loop] = watch
                loop.add_reader(watch[0], self._readable, loop, watch)
                loop.call_later(self._fanout.PUBLISH_TIMEOUT_SECONDS, self._late, loop, watch)
            return False

    def close(self) -> None:
        with self._lock:
            self._break(None)

    # -- inside (under the lock)

    def _connect(self) -> None:
        connection: Any = self._fanout._publisher.connection_pool.make_connection()
        try:
            connection.connect()
        except BaseException:
            connection.disconnect()
            raise
        sock = connection._sock
        reader = socket.socket(fileno=os.dup(sock.fileno()))
        reader.settimeout(0)
        self._connection, self._sock, self._reader, self._received = connection, sock, reader, b""

    def _read(self) -> None:
        """Take the answers that have come (on a loop: never waits for one)."""
        reader = self._reader
        if reader is None or not self._expected:
            return
        try:
            while True:
                try:
                    chunk = reader.recv(65536)
                except BlockingIOError:
                    break
                if not chunk:
                    raise ConnectionError("Redis closed the connection")
                self._received += chunk
            self._answered()
        except (OSError, ValueError) as exc:
            self._break(f"could not read Redis's answer to a publication ({exc})")

    def _answered(self) -> None:
        """Give the whole answers received to what they answer."""
        while (end := self._received.find(b"\r\n")) >= 0:
            line, self._received = self._received[:end], self._received[end + 2 :]
            if not self._expected:
                raise ValueError(f"an answer nothing was sent for: {line[:40]!r}")
            publication, kind = self._expected.popleft()
            if line.startswith(b"-"):
                self._fanout._failed(f"Redis refused a publication: {line[:200].decode(errors='replace')}")
                publication._done()
            elif kind == _PUBLISHED:
                if not line.startswith(b":"):
                    raise ValueError(f"not an answer to PUBLISH: {line[:40]!r}")
                if self._fanout._others_heard(int(line[1:])):
                    # Answered only once the subscribers' copies are written (``RedisFanout``).
                    self._expected.append((publication, _PINGED))
                    self._sock.sendall(b"".join(self._connection.pack_command("PING")))
                else:
                    publication._done()
            else:
                publication._done()

    def _break(self, why: str | None) -> None:
        """Drop the connection; every publication waiting is taken as heard. ``why``: a failure's, which
        pauses publishing (None: closing)."""
        connection, reader, expected = self._connection, self._reader, self._expected
        self._connection = self._sock = self._reader = None
        self._expected, self._received = deque(), b""
        if why is not None:
            self._fanout._failed(why)
        for publication, _ in expected:
            if not publication.heard:
                publication._done()
        watching, self._watching = self._watching, {}
        if reader is not None:
            # Each loop stops watching the descriptor before it is closed: here, or in a callback of its own.
            _unwatch_then_close(reader, [(loop, fd) for loop, (fd, _) in watching.items()])
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.disconnect()

    # -- on a loop

    def _readable(self, loop: asyncio.AbstractEventLoop, watch: tuple[int, object]) -> None:
        with self._lock:
            if self._watching.get(loop) is not watch:
                return  # given up on: the loop stops watching in a callback of its own
            self._read()
            if not self._expected and self._watching.get(loop) is watch:
                self._unwatch(loop, watch)

    def _late(self, loop: asyncio.AbstractEventLoop, watch: tuple[int, object]) -> None:
        with self._lock:
            if self._watching.get(loop) is not watch:
                return  # stopped watching since
            if not self._expected:
                self._unwatch(loop, watch)
                return
            oldest, _ = self._expected[0]
            waited = time.monotonic() - oldest.sent_at
            timeout = self._fanout.PUBLISH_TIMEOUT_SECONDS
            if waited >= timeout:
                self._break(f"Redis did not answer a publication within {timeout} s")
                return
        loop.call_later(timeout - waited, self._late, loop, watch)

    def _unwatch(self, loop: asyncio.AbstractEventLoop, watch: tuple[int, object]) -> None:
        del self._watching[loop]
        loop.remove_reader(watch[0])


def _unwatch_then_close(reader: socket.socket, watching: list[tuple[asyncio.AbstractEventLoop, int]]) -> None:
    """Close ``reader`` once no loop watches its descriptor: at once, or in the last watching loop's turn."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    others = []
    for loop, fd in watching:
        if loop is running:
            loop.remove_reader(fd)
        else:
            others.append((loop, fd))
    if not others:
        reader.close()
        return
    (loop, fd), rest = others[0], others[1:]

    def unwatch() -> None:
        loop.remove_reader(fd)
        _unwatch_then_close(reader, rest)

    try:
        loop.call_soon_threadsafe(unwatch)
    except RuntimeError:  # that loop is closed, and watches nothing any more
        _unwatch_then_close(reader, rest)


# Readable, and closed by Redis (a FIN leaves the socket merely readable, with nothing to read).
_WATCHED = select.POLLIN | select.POLLRDHUP


def _unread_bytes(sock: Any) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(sock, termios.FIONREAD, count)
    return count[0]


def _take(sock: Any, size: int) -> bytes:
    """Exactly ``size`` bytes from the socket (it holds them, or they are on their way)."""
    parts, left = [], size
    while left:
        part = sock.recv(left)
        if not part:
            raise ConnectionError("Redis closed the subscription")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class _Sender(enum.Enum):
    OWN = "own"  # this process
    UNKNOWN = "unknown"  # another process, or too little of the message is there to tell


@dataclass(frozen=True)
class _Read:
    others: list[bytes]  # the data of other processes' whole messages, in order
    size: int  # the bytes the whole messages take
    cut_short: _Sender | None = None  # who sent the message cut short after them, if any
    cut_short_size: int = 0  # that message's whole size, once its length is there


class _News:
    """The subscription's raw bytes (RESP2 or RESP3) read as messages, a process's own told from others'
    by the name that heads each of its publications."""

    def __init__(self, channel: bytes, origin: bytes) -> None:
        after_kind = b"3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$" % (len(channel), channel)
        self._heads = (b"*" + after_kind, b">" + after_kind)  # an array in RESP2, a push in RESP3
        self._own = b'[{"from":"' + origin + b'",'
        # What Redis answers SUBSCRIBE with, after the kind's one byte.
        self.confirmation = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel)

    def own(self, data: bytes) -> bool:
        return data.startswith(self._own)

    def read(self, unread: bytes) -> _Read:
        """The whole messages at the start of ``unread``, and what is known of one cut short after them.
        Raises ValueError for bytes that are no message on this channel."""
        at, size = 0, len(unread)
        others: list[bytes] = []
        while at < size:
            head = next((h for h in self._heads if unread.startswith(h, at)), None)
            if head is None:
                if any(h.startswith(unread[at:]) for h in self._heads):
                    return _Read(others, at, _Sender.UNKNOWN)
                raise ValueError(f"not a message: {unread[at : at + 40]!r}")
            length_at = at + len(head)
            length_end = unread.find(b"\r\n", length_at, length_at + 21)
            if length_end < 0:
                digits_so_far = unread[length_at:].removesuffix(b"\r")
                if length_at == size or (len(digits_so_far) < 21 and digits_so_far.isdigit()):
                    return _Read(others, at, _Sender.UNKNOWN)
                raise ValueError("a message's length is not a number")
            digits = unread[length_at:length_end]
            if not digits.isdigit():
                raise ValueError("a message's length is not a number")
            data_at = length_end + 2
            end = data_at + int(digits) + 2
            sender = _Sender.OWN if unread.startswith(self._own, data_at) else _Sender.UNKNOWN
            if end > size:
                return _Read(others, at, sender, end - at)
            if unread[end - 2 : end] != b"\r\n":
                raise ValueError("a message does not end where its length says")
            if sender is not _Sender.OWN:
                others.append(unread[data_at : end - 2])
            at = end
        return _Read(others, at)
