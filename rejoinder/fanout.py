"""How the processes of one deployment tell each other what changed: the fan-out behind the event bus.

Two implementations of one small interface. ``LocalFanout`` is the embedded default: one process, whose
own events are delivered to it directly, so there is nothing to send (other processes on the same
database still learn of every event by tailing the outbox). ``RedisFanout`` publishes each committed event
on a Redis channel that every process listens to, so a change made through one process reaches the
others' caches within a pub/sub round trip. Redis is never the only copy of anything: while it is down,
events still reach every process through the outbox, caches are bypassed, and ``up`` says so.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
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

    def close(self) -> None:
        pass


class RedisFanout:
    """Redis pub/sub. Publishing happens on the writer's thread before the write is acknowledged; Redis
    writes the message to every subscriber's connection before it answers the publisher, so by the time a
    client hears "done" from process A, the news is in process B's socket. B's listener thread applies it;
    until it has, ``pending()`` is true (the socket has unread bytes, or the listener is applying what it
    read) and B's caches answer nothing from memory. So a read through B that starts after A's answer never
    sees the state from before A's write."""

    RETRY_SECONDS = 1.0
    PUBLISH_PAUSE_SECONDS = 5.0  # after a failed publish, others learn from the outbox for this long

    def __init__(self, url: str, channel: str, *, errors: Callable[[], None] | None = None) -> None:
        import redis

        self._redis = redis
        self.url = url
        self.channel = channel
        self.up = False
        self._errors = errors or (lambda: None)
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # A separate connection for publishing, with a short timeout: a hung Redis must not hold a writer.
        self._publisher = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._publish_again_at = 0.0
        self._pubsub: Any = None  # redis.client.PubSub while subscribed
        self._socket: Any = None  # its socket, watched by ``pending``
        # ``pending`` runs on every read answered from memory: a poll object registered once costs half
        # a ``select.select`` call, which builds its descriptor sets anew each time.
        self._watch: Any = None
        # A poll object refuses a second thread while one is inside ``poll`` (RuntimeError): PostgreSQL's
        # committer threads look up memos at the same moment as the loop does.
        self._polling = threading.Lock()
        self._applying = False

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
            self._publisher.publish(self.channel, orjson.dumps(messages))
        except self._redis.RedisError as exc:
            # The events are in the outbox: other processes tail it, so nothing is lost, only later.
            self._publish_again_at = time.monotonic() + self.PUBLISH_PAUSE_SECONDS
            self._errors()
            log.warning("could not publish %d events to Redis (%s)", len(messages), exc)

    def close(self) -> None:
        self._closed.set()
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:  # closing a broken connection
                log.debug("closing the Redis subscription failed", exc_info=True)
        for thread in self._threads:
            thread.join(timeout=3)
        self._client.close()
        self._publisher.close()

    def pending(self) -> bool:
        if self._applying:
            return True
        watch, sock = self._watch, self._socket
        if watch is None:
            return False  # not subscribed: the caches are bypassed anyway
        try:
            if self._polling.acquire(blocking=False):
                try:
                    return bool(watch.poll(0))  # readable, or closed under us (then the listener says so)
                finally:
                    self._polling.release()
            # Another thread is polling the shared object right now: ask the kernel on our own.
            return bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except self._redis.RedisError:
            return False

    # -- inside

    def _connect_listener(self) -> bool:
        try:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(self.channel)
            # The subscription is confirmed before events are trusted to arrive.
            pubsub.get_message(timeout=1)
        except self._redis.RedisError as exc:
            self._set_state(False, exc)
            return False
        self._pubsub = pubsub
        connection = pubsub.connection
        assert connection is not None  # subscribed: the subscription holds its connection
        self._socket = connection._sock
        watch = select.poll()
        watch.register(self._socket, select.POLLIN)
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
            pubsub = self._pubsub
            if pubsub is None:
                if not self._connect_listener():
                    self._closed.wait(self.RETRY_SECONDS)
                continue
            try:
                if not select.select([self._socket], [], [], 1.0)[0]:
                    continue
                # Marked before a byte is read, cleared once everything read is applied: ``pending`` is
                # true from the moment the news arrives until this process has applied it.
                self._applying = True
                try:
                    self._drain(pubsub)
                finally:
                    self._applying = False
            except (self._redis.RedisError, OSError, ValueError, AttributeError) as exc:
                if self._closed.is_set():
                    return
                self._pubsub = self._socket = self._watch = None
                self._set_state(False, exc)

    def _drain(self, pubsub: Any) -> None:
        while True:
            message = pubsub.get_message(timeout=0)
            if message is None:
                return
            if message.get("type") == "message":
                try:
                    self._receive(orjson.loads(message["data"]))
                except Exception:
                    log.exception("could not apply a message from other processes")
            if not pubsub.connection.can_read(timeout=0):
                return
