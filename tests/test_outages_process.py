"""A real server process whose PostgreSQL becomes unreachable: it is reached through a TCP proxy the test
starts and stops. While it is cut off, writes and reads that need the database answer 503 with
``Retry-After`` and ``/readyz`` answers 503; once it is back, the same process serves again, without a
restart, and nothing it acknowledged is lost. (A full disk: tests/test_full_disk.py.)"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from rejoinder.context import Context
from rejoinder.sites import create_site
from rejoinder.store.schema import comments
from tests.helpers import ARTICLE, comment_payload
from tests.test_process import Server, free_port, serving

pytestmark = pytest.mark.slow

RECOVERY_SECONDS = 30


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``cut()`` drops every connection and refuses new ones, as an
    unreachable database host would; ``restore()`` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown, not only close: close leaves a thread blocked in accept() accepting on Linux.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(backend: str, database_url: str) -> Iterator[TcpProxy]:
    if backend != "postgres":
        pytest.skip("a TCP proxy stands between the server and PostgreSQL; SQLite's disk: test_outages.py")
    url = make_url(database_url)
    running = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    running.restore()
    yield running
    running.cut()


def post(server: Server, body: str) -> int:
    answer = server.http.post("/api/v1/comments", json=comment_payload(body, site="outage"))
    return answer.status_code


def test_an_unreachable_postgresql_answers_503_and_recovers_without_a_restart(
    tmp_path: Path, ctx: Context, database_url: str, proxy: TcpProxy
) -> None:
    create_site(ctx, "outage", "Outage", ["https://blog.example"], spam_filter=False)
    through_proxy = make_url(database_url).set(port=proxy.port).render_as_string(hide_password=False)
    with serving(tmp_path, "serve", through_proxy) as server:
        acked = [server.http.post("/api/v1/comments", json=comment_payload("before", site="outage"))]
        assert acked[0].status_code == 201

        proxy.cut()
        write = server.http.post("/api/v1/comments", json=comment_payload("during", site="outage"))
        ready = server.http.get("/readyz")
        assert (write.status_code, write.json()["error"]["code"]) == (503, "unavailable")
        assert write.headers["retry-after"] == "5"
        assert ready.status_code == 503
        fresh_read = server.http.get("/api/v1/comments", params={"site": "outage", "url": ARTICLE + "?new"})
        assert fresh_read.status_code == 503

        proxy.restore()
        deadline = time.monotonic() + RECOVERY_SECONDS
        while server.http.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "not ready again after the database came back"
            time.sleep(0.2)
        after = server.http.post("/api/v1/comments", json=comment_payload("after", site="outage"))
        assert after.status_code == 201
        acked.append(after)
        assert '"status":500' not in server.output()  # (the job runner rightly logs its failed polls)

    with ctx.db.read() as conn:
        stored = {row.id: row.body for row in conn.execute(select(comments.c.id, comments.c.body))}
    assert [stored.get(a.json()["comment"]["id"]) for a in acked] == ["before", "after"]
    assert sorted(stored.values()) == ["after", "before"]  # the refused one was not half-written
