"""Reading Server-Sent Events in tests: in-process from the ASGI app, and over HTTP from a real server.

httpx's ASGI transport hands back a response only once it is complete, and a stream never completes;
so in-process streams call the application directly, as a server would, and read what it sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

PATH = "/api/v1/threads/events"
# Waits for what must arrive are bounded only to keep a broken run from hanging: a loaded machine may take
# seconds, and how soon events arrive is for the benchmarks to measure.
HANG_SECONDS = 30.0
# A stream's ``retry:`` line is sent as it opens: waited for no longer than this, well short of the first
# keep-alive (20 s), which would flush anything held back.
OPENING_SECONDS = 10.0


@dataclass
class Event:
    event: str
    data: Any
    id: str | None = None


def parse(block: str) -> Event | None:
    """One SSE block (the text between blank lines); None for comment-only blocks (keep-alives)."""
    fields: dict[str, list[str]] = {}
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
    if "data" not in fields:
        return None
    data = "\n".join(fields["data"])
    return Event(fields.get("event", ["message"])[0], json.loads(data), fields.get("id", [None])[0])


@dataclass
class Reader:
    """Splits a byte stream into SSE blocks; keeps the raw text too (keep-alives are comments)."""

    raw: str = ""
    blocks: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _pending: str = ""

    def feed(self, chunk: bytes) -> None:
        text = chunk.decode()
        self.raw += text
        self._pending += text
        while "\n\n" in self._pending:
            block, self._pending = self._pending.split("\n\n", 1)
            self.blocks.put_nowait(block)

    async def opened(self) -> None:
        """Wait for the stream's first bytes (its ``retry:`` line)."""
        async with asyncio.timeout(OPENING_SECONDS):
            while not self.raw:
                await asyncio.sleep(0.01)

    async def event(self, timeout: float = HANG_SECONDS) -> Event:
        """The next event with data, skipping comment lines; fails after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                found = parse(await self.blocks.get())
                if found is not None:
                    return found

    async def events_until_quiet(self, quiet: float = 0.3, *, at_least: int = 0) -> list[Event]:
        """The events that arrive until none has for ``quiet`` seconds, after waiting for the first
        ``at_least`` of them as long as ``event`` does: the quiet spell only ever ends the wait for more than
        are expected, so a slow machine cannot cut short what a test expects to see."""
        found = [await self.event() for _ in range(at_least)]
        with contextlib.suppress(TimeoutError):
            while True:
                found.append(await self.event(quiet))
        return found


@dataclass
class AppStream:
    """One open stream against the ASGI application in this process."""

    status: int
    headers: dict[str, str]
    reader: Reader
    ended: asyncio.Event
    body: bytes = b""  # the whole body of a non-streaming (error) answer


@contextlib.asynccontextmanager
async def open_app_stream(
    app: ASGIApp, *, stall_after: int | None = None, headers: dict[str, str] | None = None, **params: str
) -> AsyncIterator[AppStream]:
    """Open ``GET /api/v1/threads/events?…`` in-process; the client disconnects on the way out.

    ``stall_after``: the client stops reading after that many body chunks (a slow reader).
    """
    disconnect = asyncio.Event()
    started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
    reader, ended = Reader(), asyncio.Event()
    parts: list[bytes] = []
    chunks = 0

    async def receive() -> Message:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal chunks
        if message["type"] == "http.response.start":
            if not started.done():  # given up on after HANG_SECONDS: that failure is the one to report
                started.set_result(message)
            return
        chunks += 1
        if stall_after is not None and chunks > stall_after:
            await disconnect.wait()  # a reader that stopped reading: the write never completes
        parts.append(message.get("body", b""))
        reader.feed(message.get("body", b""))
        if not message.get("more_body"):
            ended.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": urlencode(params).encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    try:
        start = await asyncio.wait_for(started, HANG_SECONDS)
        if start["status"] != 200:
            await asyncio.wait_for(ended.wait(), HANG_SECONDS)
        yield AppStream(
            start["status"],
            {k.decode(): v.decode() for k, v in start["headers"]},
            reader,
            ended,
            b"".join(parts),
        )
    finally:
        disconnect.set()
        await asyncio.wait_for(task, HANG_SECONDS)
