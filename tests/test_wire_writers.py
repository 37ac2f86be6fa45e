"""A writer's answer whose write was settled at once (``store/settling.py``) leaves the server as soon as it
is complete (``web/wire.py``); any other answer at the end of the step of the event loop that wrote it."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import pytest
from starlette.types import Receive, Scope, Send

from rejoinder.store.settling import SETTLED_AT_ONCE
from tests.test_wire import served

HOLD = 0.5  # seconds the rest of the step holds the loop after the answer is complete


async def answer_then_hold(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers at once, then keeps the loop busy for the rest of the step, as a turn full of readers does.
    A request to ``/settled`` answers as a writer whose write was settled at once."""
    if scope["path"] == "/settled":
        SETTLED_AT_ONCE.set(True)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
    time.sleep(HOLD)


def exchange(base: str, method: str, path: str) -> tuple[float, bytes]:
    """One request on a connection of its own, off the loop: how long until its answer, and the answer."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        started = time.monotonic()
        connection.sendall(f"{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".encode())
        answer = b""
        while not answer.endswith(b"ok"):
            part = connection.recv(4096)
            if not part:
                break
            answer += part
        return time.monotonic() - started, answer


@pytest.mark.parametrize(
    ("method", "path", "at_once"),
    [
        ("POST", "/settled", True),
        ("DELETE", "/settled", True),
        ("POST", "/", False),  # a write settled a turn later, as on SQLite or beside many writers
        ("GET", "/settled", False),
    ],
)
async def test_a_settled_writer_s_answer_leaves_when_complete_and_others_at_the_end_of_the_step(
    method: str, path: str, at_once: bool
) -> None:
    async with served(answer_then_hold) as (base, _):
        took, answer = await asyncio.to_thread(exchange, base, method, path)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nok")
    assert (took < HOLD * 0.8) is at_once
