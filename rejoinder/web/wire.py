"""What the server writes to a connection: an answer's head and body in one system call, and a cached
read's answer written by the protocol itself.

uvicorn writes an answer's status line and headers as soon as the application starts it, then the body
as a second write; uvloop sends each write at once. On a cached read that is two ``send`` calls, two TCP
segments and two wake-ups of the reader where one would do — the largest single cost of such a read
outside the application. ``HttpProtocol`` is uvicorn's own (httptools) protocol on a transport that
gathers what is written during one step of the event loop and sends it with one ``writev`` at the end of
that step: the same bytes, in the same order, a fraction of a millisecond later at most.

Once the ASGI layers before the answer were gone, what remained of a cached read outside the application
was uvicorn's cycle: a scope completed, a ``RequestResponseCycle`` and a task per request, two regular
expressions per header, a keep-alive timer cancelled and made again per answer. The protocol therefore asks
the app (``answer_now``, ``web/envelope.py``) for a ``GET`` it can answer from memory as soon as the request's
head is parsed, and writes that answer in the bytes uvicorn would have written; everything else goes
through uvicorn's cycle, behind whatever is still being answered on the connection.

A writer's answer (any method but ``GET``, ``HEAD`` and ``OPTIONS``) whose write was settled at once
(``store/settling.py``: PostgreSQL, while few writes are in flight) leaves as soon as it is complete, not at
the end of the step: the end of the step is the loop's next turn, and beside 32 readers a turn is their
requests' worth of CPU, which a writer waiting for its answer before its next post paid once more on every
write. Every other answer still leaves at the end of the step: sent sooner, a closed loop of readers (or of
many writers) comes back sooner and takes the others' share of the loop (docs/benchmarks.md, "writers that
go on in the turn that settles them, while few are in flight").
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, cast

import httptools
from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from rejoinder.store.settling import SETTLED_AT_ONCE
from rejoinder.web.turns import READS

# uvicorn's ``http`` option: this protocol by its import path, so the processes of ``--workers`` find it too.
HTTP_PROTOCOL = "rejoinder.web.wire:HttpProtocol"
Data = bytes | bytearray | memoryview
Headers = list[tuple[bytes, bytes]]
# Writes an answer's status, headers and body to the connection.
WriteAnswer = Callable[[int, Headers, bytes], None]
# The app's: answers a request's scope from memory through a ``WriteAnswer``, or returns False.
AnswerNow = Callable[[Scope, WriteAnswer], bool]
# A request that has a body goes to the app: it is the app's to read or refuse.
BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def request_target(url: bytes) -> tuple[bytes, bytes]:
    """The path and the query of a request's target, as uvicorn reads them (``httptools.parse_url``).

    A target of the usual form (a path, maybe a query, no fragment) is split at its first ``?``, which is
    what ``parse_url`` finds in it: the parser has already refused the bytes no URL may hold. ``parse_url``
    validates and builds an object as it goes, and for the twenty addresses of a counts query (1.4 KB)
    that cost more than the answer itself. Any other form is read by ``parse_url``."""
    if url[:1] == b"/" and b"#" not in url:
        path, _, query = url.partition(b"?")
        return path, query
    parsed = httptools.parse_url(url)
    return parsed.path, parsed.query or b""


class StepWrites(asyncio.Transport):
    """A transport that sends the writes made to it during one step of the event loop together."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[Data] = []

    def write(self, data: Data) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._send)
        self._pending.append(data)

    def writelines(self, list_of_data: Iterable[Data]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send what waits now, in one call, rather than at the end of the step (a writer's complete
        answer). The end of the step's own send, if one is due, then finds nothing."""
        self._send()

    def _send(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self._transport.is_closing():  # a lost connection: nobody to send them to
            return
        if len(pending) == 1:
            self._transport.write(pending[0])
        else:
            self._transport.writelines(pending)

    # Whatever ends or measures the stream sees the pending writes first.
    def close(self) -> None:
        self._send()
        self._transport.close()

    def write_eof(self) -> None:
        self._send()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(data) for data in self._pending)

    # The rest is the connection's own.
    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through ``StepWrites``, and answering a ``GET`` whose whole
    answer memory holds itself (``answer_now``), with none of the ASGI cycle: no task, no scope
    completion, no per-header checks on headers made here. Anything else is uvicorn's as before."""

    _answered = False  # the message being parsed was answered here: its body, if any, is nobody's
    # When the connection's last answer was complete; None while a request is on its way or being answered.
    _idle_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(StepWrites(transport, self.loop))
        self._answer_now: AnswerNow | None = getattr(self.app, "answer_now", None)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    # The keep-alive timeout, as uvicorn's: a connection is closed once it has been idle that long after an
    # answer. uvicorn cancels a timer when a request arrives and makes a new one after every answer; here
    # one timer per connection notes the time instead, and when it fires, looks: closes an idle connection
    # whose time is up, waits on for one idle since more recently, and is made again by the next answer
    # if a request is being answered.
    def _unset_keepalive_if_required(self) -> None:  # uvicorn's name: on every data received
        self._idle_since = None

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:  # requests that arrived while this one was answered: the next one goes now
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self._idle_for_long)

    def _idle_for_long(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._idle_for_long)
        else:
            self.timeout_keep_alive_handler()

    def on_message_begin(self) -> None:
        self._answered = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        if self._answer_now is not None and self._answerable():
            try:
                self._answered = self._answer_from_memory(self._answer_now)
            except Exception:
                # Raised inside the parser, it would be answered 400 as a malformed request. Unless the
                # answer is out already, the ASGI path asks again and answers what it meets as any error.
                self.logger.exception("Exception answering a request from memory")
            if self._answered:
                return
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and self.scope["method"] not in READS:
            cycle.on_response = self._write_answered

    def _write_answered(self) -> None:
        """A writer's answer is complete: if its write was settled at once, it leaves now; then the
        connection goes on as after any answer."""
        if SETTLED_AT_ONCE.get() and isinstance(self.transport, StepWrites):
            self.transport.flush()
        self.on_response_complete()

    def on_body(self, body: bytes) -> None:
        if not self._answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._answered:
            super().on_message_complete()

    def _answerable(self) -> bool:
        """A keep-alive ``GET`` with no body, on a connection with nothing before it still being answered,
        nothing waiting behind it and room to write: the cases uvicorn's cycle would answer in one go."""
        parser = self.parser
        if parser.get_method() != b"GET" or parser.get_http_version() != "1.1":
            return False
        if not parser.should_keep_alive():  # uvicorn adds ``connection: close`` and closes: its way
            return False
        if parser.should_upgrade() or self.expect_100_continue or self.limit_concurrency is not None:
            return False
        if (self.cycle is not None and not self.cycle.response_complete) or self.pipeline:
            return False
        if self.flow.write_paused or self.transport.is_closing():
            return False
        return not any(name in BODY_HEADERS for name, _ in self.headers)

    def _answer_from_memory(self, answer_now: AnswerNow) -> bool:
        scope = self.scope
        scope["method"] = "GET"
        raw_path, query = request_target(self.url)
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        scope["query_string"] = query
        return answer_now(cast(Scope, scope), self._write_answer)  # uvicorn's TypedDict, ASGI's mapping

    def _write_answer(self, status: int, headers: Headers, body: bytes) -> None:
        """The bytes uvicorn's cycle writes for this answer, then what it does once an answer is complete."""
        head = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            head.extend((name, b": ", value, b"\r\n"))
        head.append(b"\r\n")
        self.transport.write(b"".join(head))
        self.transport.write(body)
        self._answered = True  # whatever happens after this, the request has its answer
        self.on_response_complete()
