"""Live updates: what changes in a thread, fanned out to the readers who have it open (Server-Sent Events).

One ``LiveHub`` per process, owned by the ``Context``, subscribes to ``CommentChanged``. Each committed
change becomes one message, encoded once and queued for every open stream of that thread; each stream
has a small bounded queue of its own, and a reader who cannot keep up is dropped (their browser
reconnects and catches up) rather than let the queue grow. Event handlers may run on any thread (the event
loop's, a worker thread, a Redis listener), so the hand-over to the loop goes through
``call_soon_threadsafe``. Only published comments reach readers; held and spam ones are never described.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson

from rejoinder.cache import ThreadKey
from rejoinder.errors import StreamsExhausted
from rejoinder.events import CommentChanged, CommentLiked, CommentModerated, CommentPosted
from rejoinder.model import Comment, CommentStatus
from rejoinder.store import sites as site_store
from rejoinder.store import threads as thread_store
from rejoinder.store.db import Database

log = logging.getLogger(__name__)

# Messages a stream may have waiting before its reader counts as too slow and is dropped.
QUEUE_SIZE = 64
# How long a dropped or refused browser should wait before it comes back, in seconds.
RETRY_AFTER_SECONDS = 5
KEEP_ALIVE = b": keep-alive\n\n"
# Sent first: makes proxies pass the headers on at once, and tells EventSource how long to wait
# before reconnecting after the server closed the stream.
OPENING = f"retry: {RETRY_AFTER_SECONDS * 1000}\n: connected\n\n".encode()


# The comment's public JSON, exactly as a thread read lists it: the web layer's serializer, handed over
# when the first stream opens (services never import the web layer).
Publisher = Callable[[Comment], dict[str, Any]]


@dataclass(frozen=True)
class Message:
    """One change of a thread, as readers see it: an SSE event name and its JSON data."""

    event: str  # "comment", "update" or "count"
    data: bytes

    def frame(self, event_id: int) -> bytes:
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, self.event.encode(), self.data)


def message_for(event: CommentChanged, public_fields: Publisher) -> Message | None:
    """What readers of the thread are told of ``event``; None if they may not know of it."""
    comment = event.comment
    published = comment.status is CommentStatus.PUBLISHED
    if isinstance(event, CommentPosted):
        # A held comment reaches nobody but its author, who has it from the POST's answer.
        return Message("comment", _json(public_fields(comment))) if published else None
    if isinstance(event, CommentModerated) and published:
        # Approved (or "not spam") is new to readers; readers who had it already treat it as an update.
        return Message("comment", _json(public_fields(comment)))
    if published or comment.status is CommentStatus.DELETED:
        fields = public_fields(comment)
        update = {"id": comment.id, "likes": fields["likes"], "gone": False, "comment": fields}
        return Message("update", _json(update))
    # Held or spam now: gone from the thread. Only the id leaves, never what the comment says.
    return Message("update", _json({"id": comment.id, "gone": True}))


def _json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_UTC_Z)


def changes_count(event: CommentChanged) -> bool:
    """Whether the event may have moved the thread's comment count (likes never do)."""
    if isinstance(event, CommentLiked):
        return False
    return not (isinstance(event, CommentPosted) and event.comment.status is not CommentStatus.PUBLISHED)


class Stream:
    """One reader's open stream: frames waiting to be written, at most ``QUEUE_SIZE`` of them."""

    def __init__(self, key: ThreadKey) -> None:
        self.key = key
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)
        self.closed = False

    def push(self, frame: bytes) -> bool:
        """Queue ``frame``; False (and the stream closed) when the reader is too far behind."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.close()
            return False
        return True

    def close(self) -> None:
        """End the stream after nothing more: what is still queued for a slow reader is dropped."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def next(self) -> bytes | None:
        """The next frame to write, or None once the stream is over."""
        if self.closed and self.queue.empty():
            return None
        return await self.queue.get()


@dataclass
class _Counting:
    """A count being read for a thread, and whether another change arrived meanwhile."""

    again: bool = False


@dataclass
class LiveHub:
    db: Database
    max_streams: int = 2000
    keep_alive_seconds: float = 20.0
    _streams: dict[ThreadKey, set[Stream]] = field(default_factory=dict)
    _open: int = 0
    _sequence: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _loop_thread: int | None = None
    _keeping_alive: asyncio.Task[None] | None = None
    _counting: dict[ThreadKey, _Counting] = field(default_factory=dict)
    _last_count: dict[ThreadKey, int] = field(default_factory=dict)  # last told, per followed thread
    _public: Publisher | None = None
    _closed: bool = False
    dropped: int = 0  # streams closed because their reader fell behind

    @property
    def open_streams(self) -> int:
        return self._open

    def open(self, key: ThreadKey, public_fields: Publisher) -> Stream:
        """A new stream of thread ``key``; on the event loop. Refused beyond ``max_streams`` or after close.

        ``public_fields`` turns a comment into the JSON readers may see (the API's serializer)."""
        if self._closed or self._open >= self.max_streams:
            reason = "is shutting down" if self._closed else f"has {self._open:,} streams open, its limit"
            raise StreamsExhausted(
                f"this server {reason}; try again shortly",
                {"url": f"cannot be followed live right now: this server {reason}"},
                retry_after=RETRY_AFTER_SECONDS,
            )
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._loop_thread = loop, threading.get_ident()
            self._keeping_alive = loop.create_task(self._keep_alive())
        self._public = public_fields
        stream = Stream(key)
        self._streams.setdefault(key, set()).add(stream)
        self._open += 1
        return stream

    def release(self, stream: Stream) -> None:
        """Forget a stream whose connection ended; on the event loop."""
        streams = self._streams.get(stream.key)
        if streams is None or stream not in streams:
            return
        streams.discard(stream)
        self._open -= 1
        if not streams:
            del self._streams[stream.key]
            self._last_count.pop(stream.key, None)
        stream.close()

    def on_event(self, event: CommentChanged) -> None:
        """Subscriber of the event bus; may be called on any thread."""
        loop, public, key = self._loop, self._public, (event.site_key, event.thread_url)
        if loop is None or public is None or key not in self._streams:
            return  # nobody here follows that thread: nothing to encode
        message = message_for(event, public)
        recount = changes_count(event)
        if message is None and not recount:
            return
        self._on_loop(loop, self._deliver, key, message, recount)

    def close(self) -> None:
        """End every stream and refuse new ones; callable from any thread (a signal handler too)."""
        self._closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # Always through the loop's queue: a signal handler may interrupt the loop mid-step.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._close_all)

    def _on_loop(self, loop: asyncio.AbstractEventLoop, call: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            call(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is listening
                loop.call_soon_threadsafe(call, *args)

    def _deliver(self, key: ThreadKey, message: Message | None, recount: bool) -> None:
        if message is not None:
            self._send(key, message)
        if recount and key in self._streams:
            counting = self._counting.get(key)
            if counting is not None:
                counting.again = True  # one read after the current one covers every change so far
            else:
                self._counting[key] = _Counting()
                assert self._loop is not None
                self._loop.create_task(self._recount(key))

    def _send(self, key: ThreadKey, message: Message) -> None:
        self._sequence += 1
        frame = message.frame(self._sequence)
        for stream in list(self._streams.get(key, ())):
            if not stream.push(frame):
                self.dropped += 1
                self.release(stream)

    async def _recount(self, key: ThreadKey) -> None:
        counting = self._counting[key]
        try:
            while True:
                counting.again = False
                count = await anyio.to_thread.run_sync(self._read_count, key)
                if count is not None and key in self._streams and self._last_count.get(key) != count:
                    self._last_count[key] = count
                    self._send(key, Message("count", b'{"comment_count":%d}' % count))
                if not counting.again:
                    break
        except Exception:
            log.exception("reading the comment count of %s failed", key)
        finally:
            del self._counting[key]

    def _read_count(self, key: ThreadKey) -> int | None:
        if self._closed:
            return None  # the database may be closing too
        site_key, url = key
        with self.db.read() as conn:
            site = site_store.get_site(conn, site_key)
            if site is None:
                return 0
            return thread_store.comment_counts(conn, site.id, [url]).get(url, 0)

    async def _keep_alive(self) -> None:
        # One timer for every stream, rather than one per connection.
        while True:
            await asyncio.sleep(self.keep_alive_seconds)
            for streams in list(self._streams.values()):
                for stream in list(streams):
                    if not stream.push(KEEP_ALIVE):
                        self.dropped += 1
                        self.release(stream)

    def _close_all(self) -> None:
        for streams in list(self._streams.values()):
            for stream in list(streams):
                stream.close()
        if self._keeping_alive is not None:
            self._keeping_alive.cancel()
