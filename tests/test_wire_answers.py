"""A ``GET`` memory holds the answer to is written by the server's protocol itself (``web/wire.py``), byte
for byte what the ASGI path writes, and everything else goes the ASGI path, in order."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from rejoinder.context import Context
from rejoinder.logs import FIELDS, REQUEST_LOGGER
from rejoinder.web.wire import HTTP_PROTOCOL, WriteAnswer
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, post

# What differs between two answers to the same request: the second it was sent and its id.
VARYING = re.compile(rb"^(date|x-request-id): [^\r\n]*", re.MULTILINE)


@asynccontextmanager
async def served(app: Any, http: str, **options: Any) -> AsyncIterator[tuple[str, int]]:
    """``app`` under uvicorn with ``http`` as its protocol, on a free port of this host."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        http=http,
        log_config=None,
        lifespan="off",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        await asyncio.sleep(0.01)
    host, port = listening.getsockname()
    try:
        yield f"http://{host}:{port}", port
    finally:
        server.should_exit = True
        await task
        listening.close()


async def exchange(port: int, requests: bytes, answers: int) -> bytes:
    """What the server writes back to ``requests`` sent in one piece, up to its ``answers``-th answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(requests)
    await writer.drain()
    received = b""
    while received.count(b"HTTP/1.1 ") < answers or not _complete(received):
        part = await asyncio.wait_for(reader.read(65536), 10)
        if not part:
            break
        received += part
    writer.close()
    return received


def _complete(received: bytes) -> bool:
    """Whether the last answer in ``received`` is whole (by its content-length; none, or a 304: a head only).
    The last request of an exchange is never a HEAD, whose answer has a length and no body."""
    last = received.rfind(b"HTTP/1.1 ")
    head, sep, body = received[last:].partition(b"\r\n\r\n")
    if not sep:
        return False
    length = re.search(rb"^content-length: (\d+)", head, re.MULTILINE | re.IGNORECASE)
    return length is None or b"304 Not Modified" in head or len(body) >= int(length[1])


def get(target: str, *headers: str, method: str = "GET", body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "host: testserver", *headers]
    if body:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def counting(app: Any) -> list[int]:
    """The statuses of the answers the protocol writes itself, from now on."""
    written: list[int] = []
    answer_now = app.answer_now

    def counted(scope: Any, write: WriteAnswer) -> bool:
        def recorded(status: int, headers: Any, body: bytes) -> None:
            written.append(status)
            write(status, headers, body)

        return bool(answer_now(scope, recorded))

    app.answer_now = counted
    return written


async def both_ways(app: Any, requests: bytes, answers: int) -> tuple[bytes, bytes]:
    """What uvicorn's own protocol and ours write back to the same requests, date and request id aside."""
    written = []
    for protocol in ("httptools", HTTP_PROTOCOL):
        async with served(app, protocol) as (_, port):
            written.append(VARYING.sub(b"\\1: -", await exchange(port, requests, answers)))
    return written[0], written[1]


@pytest.fixture
async def remembered(app: Any, site: str) -> dict[str, str]:
    """A thread with a comment, its page and its counts in memory; their targets and the page's ETag."""
    query = urlencode({"site": site, "url": ARTICLE})
    async with served(app, HTTP_PROTOCOL) as (base, _), httpx.AsyncClient(base_url=base) as http:
        await post(http, "over the wire")
        # The second from memory: the first one's answer, and whether a site allows the origin, are kept
        # once it is answered.
        for _ in range(2):
            page = await http.get(f"/api/v1/comments?{query}")
            await http.get(f"/api/v1/counts?{query}", headers={"origin": SITE_ORIGIN})
    return {
        "page": f"/api/v1/comments?{query}",
        "counts": f"/api/v1/counts?{query}",
        "etag": page.headers["etag"],
    }


async def test_a_remembered_answer_is_written_by_the_protocol_byte_for_byte(
    app: Any, remembered: dict[str, str]
) -> None:
    origin = f"origin: {SITE_ORIGIN}"
    requests = [
        get(remembered["page"]),
        get(remembered["page"], origin),
        get(remembered["counts"], origin),
        get(remembered["page"], f"if-none-match: {remembered['etag']}"),
    ]
    written = counting(app)
    answers = []
    for request in requests:
        uvicorns, ours = await both_ways(app, request, 1)
        assert uvicorns == ours, (uvicorns[:300], ours[:300])
        assert b"x-content-type-options: nosniff" in ours and b"x-request-id: -" in ours
        answers.append(ours)
    assert b"access-control-allow-origin: " + SITE_ORIGIN.encode() in answers[1]
    assert answers[3].startswith(b"HTTP/1.1 304 Not Modified\r\n") and answers[3].endswith(b"\r\n\r\n")
    assert written == [200, 200, 200, 304]  # ours, by the protocol; uvicorn's through the ASGI cycle


async def test_pipelined_requests_are_answered_in_order_whichever_way_each_goes(
    app: Any, remembered: dict[str, str]
) -> None:
    requests = b"".join(
        [
            get(remembered["page"]),
            get(remembered["page"], method="HEAD"),  # the framework's (which allows GET only)
            get("/healthz"),
            get(remembered["counts"]),
            get("/api/v1/comments", "content-type: application/json", method="POST", body=b"{}"),  # refused
            get(remembered["counts"], body=b"ignored"),  # with a body: the ASGI path's
            get(remembered["page"]),
        ]
    )
    written = counting(app)
    uvicorns, ours = await both_ways(app, requests, 7)
    assert re.findall(rb"HTTP/1.1 (\d+) ", ours) == [b"200", b"405", b"200", b"200", b"422", b"200", b"200"]
    assert uvicorns == ours
    # The first; those parsed while the framework answered the HEAD waited in uvicorn's line behind it.
    assert written == [200]


async def test_answers_written_by_the_protocol_are_logged_and_counted(
    app: Any, ctx: Context, remembered: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    written = counting(app)
    before = _requests_counted(ctx, "/api/v1/counts")
    with caplog.at_level(logging.INFO, logger=REQUEST_LOGGER):
        async with served(app, HTTP_PROTOCOL) as (_, port):
            answer = await exchange(port, get(remembered["counts"]) * 3, 3)
    assert written == [200, 200, 200]
    ids = re.findall(rb"^x-request-id: (\S+)", answer, re.MULTILINE)
    lines = [record for record in caplog.records if record.name == REQUEST_LOGGER]
    assert [record.getMessage() for record in lines] == ["GET /api/v1/counts 200"] * 3
    assert [getattr(record, FIELDS)["request_id"].encode() for record in lines] == ids
    assert len(set(ids)) == 3
    assert _requests_counted(ctx, "/api/v1/counts") == before + 3


def _requests_counted(ctx: Context, route: str) -> float:
    pattern = rf'^rejoinder_http_requests_total\{{[^}}]*route="{re.escape(route)}"[^}}]*\}} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, ctx.metrics.exposition().decode(), re.MULTILINE))


async def test_a_connection_in_use_stays_open_and_one_left_idle_closes_after_the_keep_alive_timeout(
    app: Any, remembered: dict[str, str]
) -> None:
    loop = asyncio.get_running_loop()
    async with served(app, HTTP_PROTOCOL, timeout_keep_alive=0.3) as (_, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = loop.time()
        while loop.time() - started < 1:  # three timeouts' worth, never idle for one
            writer.write(get(remembered["counts"]))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            length = int(re.search(rb"content-length: (\d+)", head)[1])  # type: ignore[index]
            await reader.readexactly(length)
            await asyncio.sleep(0.1)
        # Left idle, it is closed; the bound only keeps a connection left open from hanging the test.
        closed = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    assert closed == b""


async def test_a_request_whose_answer_from_memory_fails_goes_the_asgi_way(
    app: Any, remembered: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(scope: Any, write: WriteAnswer) -> bool:
        raise RuntimeError("memory failed")

    app.answer_now = broken
    uvicorns, ours = await both_ways(app, get(remembered["counts"]), 1)
    assert ours.startswith(b"HTTP/1.1 200 OK\r\n") and uvicorns == ours
    assert any(record.exc_info and "memory failed" in str(record.exc_info[1]) for record in caplog.records)


async def test_a_miss_the_protocol_asked_memory_about_is_not_asked_again_on_the_asgi_way(
    app: Any, site: str
) -> None:
    envelope = app.envelope
    asked: list[str] = []
    from_memory = envelope.from_memory

    def counted(scope: Any) -> Any:
        asked.append(scope["path"])
        return from_memory(scope)

    envelope.from_memory = counted
    query = urlencode({"site": site, "url": "https://blog.example/never-read"})
    async with served(app, HTTP_PROTOCOL) as (base, _), httpx.AsyncClient(base_url=base) as http:
        answer = await http.get(f"/api/v1/comments?{query}")
    assert answer.status_code == 200  # answered by the route, from the database
    assert asked == ["/api/v1/comments"]
