"""A real SMTP server for the tests (aiosmtpd, on 127.0.0.1): what Rejoinder sends arrives here."""

from __future__ import annotations

import email
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class _Collector:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self.box.lock:
            self.box.messages.append(message)
            self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Accepted by the test mailbox"


# How long ``stop`` waits for clients to end their connections before cutting them off.
CLIENTS_SECONDS = 10.0


class _Connections:
    """How many SMTP connections are open, each counted until its last log line is written."""

    def __init__(self) -> None:
        self._open = 0
        self._changed = threading.Condition()

    def opened(self) -> None:
        with self._changed:
            self._open += 1

    def closed(self) -> None:
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def wait_until_none(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._open == 0, timeout)


class _Session(SMTP):
    """aiosmtpd's SMTP session, counted in ``_Connections``. The server's thread logs a connection's end
    (``EOF received``, ``connection lost``) a moment after the client has gone: a mailbox must not return
    from ``start`` (whose readiness probe is a connection) or ``stop`` while such lines are still to come,
    or they are written in another test's time, or after pytest has closed the stream they go to."""

    def __init__(self, handler: Any, connections: _Connections, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.connections = connections

    def connection_made(self, transport: Any) -> None:
        self.connections.opened()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            # The session's task logs once more as it ends (cancelled just now, or ended already).
            task = self._handler_coroutine
            if task is None:
                self.connections.closed()
            else:
                task.add_done_callback(lambda _: self.connections.closed())


class _Controller(Controller):
    def __init__(self, handler: Any, connections: _Connections, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.connections = connections

    def factory(self) -> SMTP:
        return _Session(self.handler, self.connections, **self.SMTP_kwargs)


class Mailbox:
    """Messages received so far, in order; ``wait_for(n)`` waits until there are ``n``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self._connections = _Connections()
        self._controller = _Controller(
            _Collector(self), self._connections, hostname="127.0.0.1", port=self.port
        )

    def start(self) -> Mailbox:
        self._controller.start()
        RUNNING.add(self)
        # The start's probe (a connection, closed at once) has ended when this returns: its lines with it.
        self._connections.wait_until_none(CLIENTS_SECONDS)
        return self

    def stop(self) -> None:
        """Let the clients' connections end, then stop the server and its thread: nothing of it logs after
        this returns."""
        self._connections.wait_until_none(CLIENTS_SECONDS)
        self._controller.stop()
        RUNNING.discard(self)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


# Mailboxes started and not stopped yet: none may be left when the session ends (tests/conftest.py).
RUNNING: set[Mailbox] = set()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # the wire's line ends, as Python writes them


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")
