"""An answer's head and body leave in one write (``web/wire.py``), and nothing written waits longer than
the step of the event loop that wrote it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from rejoinder.web.wire import HTTP_PROTOCOL, HttpProtocol, StepWrites
from tests.helpers import ARTICLE, post


class Recorded(asyncio.Transport):
    """A connection that records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, list[bytes]]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", [bytes(data)]))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", [bytes(data) for data in list_of_data]))

    def close(self) -> None:
        self.calls.append(("close", []))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 10


async def a_step() -> None:
    await asyncio.sleep(0)


async def test_what_one_step_writes_reaches_the_connection_in_one_call_at_the_end_of_the_step() -> None:
    connection = Recorded()
    writes = StepWrites(connection, asyncio.get_running_loop())
    writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
    writes.write(b"")
    writes.write(b"body")
    assert connection.calls == []
    assert writes.get_write_buffer_size() == 10 + 19 + 4
    await a_step()
    assert connection.calls == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"body"])]
    writes.write(b"more")
    await a_step()
    assert connection.calls[1:] == [("write", [b"more"])]


async def test_closing_sends_what_waits_first_and_a_lost_connection_gets_nothing() -> None:
    connection = Recorded()
    writes = StepWrites(connection, asyncio.get_running_loop())
    writes.writelines([b"head", b"tail"])
    writes.close()
    assert connection.calls == [("writelines", [b"head", b"tail"]), ("close", [])]
    writes.write(b"late")
    await a_step()
    assert connection.calls[2:] == []


@asynccontextmanager
async def served(app: Callable[..., Any]) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """``app`` under uvicorn with the server's own HTTP protocol, on a free port of this host."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=HTTP_PROTOCOL, log_config=None, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}", server
    finally:
        server.should_exit = True
        await task
        listening.close()


async def test_the_server_answers_reads_writes_and_conditional_reads_through_it(app: Any, site: str) -> None:
    async with served(app) as (base, server), httpx.AsyncClient(base_url=base, timeout=10) as http:
        written = await post(http, "over the wire")
        (connection,) = server.server_state.connections
        assert isinstance(connection, HttpProtocol)
        assert isinstance(connection.transport, StepWrites)
        query = {"site": site, "url": ARTICLE}
        first = await http.get("/api/v1/comments", params=query)
        again = await http.get("/api/v1/comments", params=query)  # from memory, the short way
        unchanged = await http.get(
            "/api/v1/comments", params=query, headers={"If-None-Match": again.headers["etag"]}
        )
        counts = await http.get("/api/v1/counts", params=query)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and first.headers["etag"] == again.headers["etag"]
    assert [comment["id"] for comment in again.json()["comments"]] == [written["comment"]["id"]]
    assert again.headers["x-content-type-options"] == "nosniff"
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert counts.json() == {"counts": {ARTICLE: 1}}


def streaming(first_read: asyncio.Event) -> Callable[..., Any]:
    """A head and a first part, then the rest only once the client has read the first, as a live stream
    sends them: an answer held back until it is whole never gets that far."""

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
        await first_read.wait()
        await send({"type": "http.response.body", "body": b"second\n"})

    return stream


async def test_a_streamed_answer_s_first_part_arrives_before_the_rest_is_written() -> None:
    first_read = asyncio.Event()
    async with (
        served(streaming(first_read)) as (base, _),
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        http.stream("GET", "/") as answer,
    ):
        parts = answer.aiter_raw()
        first = await asyncio.wait_for(anext(parts), 10)  # the bound only keeps a held answer from hanging
        first_read.set()
        rest = b"".join([part async for part in parts])
    assert (first, rest) == (b"first\n", b"second\n")
