"""A real ``rejoinder serve`` on a Unix socket, behind a proxy on the same machine: the socket peer is
trusted as that proxy when ``trusted_proxies`` says ``unix``, so ``X-Forwarded-For`` names the client and
per-address rate limits count each client; without ``unix`` the server refuses to start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers import comment_payload
from tests.test_process import ENV, STARTUP_SECONDS, rejoinder

pytestmark = pytest.mark.slow


def clear_of_the_turn(window: int, seconds: float) -> None:
    """Wait until the next ``window`` (in seconds, as a rate limit counts them) begins, if it begins within
    ``seconds``."""
    left = window - time.time() % window
    if left < seconds:
        time.sleep(left + 0.1)


def serve_on_socket(tmp_path: Path, database: str, socket: Path, **env: str) -> subprocess.Popen[bytes]:
    with (tmp_path / "serve.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "serve", f"--unix-socket={socket}", f"--database={database}"],
            cwd=tmp_path,
            env=ENV | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def uvicorn_on_socket(tmp_path: Path, database: str, socket: Path, **env: str) -> subprocess.Popen[bytes]:
    """The app under an ASGI server started without ``rejoinder serve``: it cannot know it is on a socket."""
    with (tmp_path / "serve.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "rejoinder.asgi:create", "--uds", str(socket)],
            cwd=tmp_path,
            env=ENV | {"REJOINDER_DATABASE_URL": database} | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(socket: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not socket.exists():  # listening as soon as it exists (bound and listened to in one step)
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not create its socket"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("start", "header"), [(serve_on_socket, "X-Forwarded-For"), (uvicorn_on_socket, "X-Real-IP")]
)
def test_a_socket_peer_trusted_as_a_proxy_gives_each_client_its_own_rate_limit(
    tmp_path: Path, start: Callable[..., subprocess.Popen[bytes]], header: str
) -> None:
    database = f"sqlite:///{tmp_path / 'x.db'}"
    created = rejoinder(
        "admin", "site", "create", "sock", "--origin", "https://blog.example",
        "--set", "min_submit_seconds=0", "--set", "rate_limit_ip=2/hour",
        "--set", "rate_limit_identity=off",
        "--database", database, cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(created.stdout)["key"] == "sock"
    socket = tmp_path / "rejoinder.sock"
    process = start(
        tmp_path, database, socket, REJOINDER_TRUSTED_PROXIES="unix", REJOINDER_CLIENT_ADDRESS_HEADER=header
    )
    wait_for(socket, process, tmp_path / "serve.log")
    transport = httpx.HTTPTransport(uds=str(socket))
    try:
        with httpx.Client(transport=transport, base_url="http://rejoinder", timeout=10) as http:
            assert http.get("/readyz").status_code == 200

            def post(client: str, body: str) -> int:
                payload = comment_payload(body, site="sock")
                form = http.get("/api/v1/form", params={"site": "sock", "url": payload["url"]})
                payload["form_token"] = form.json()["form_token"]
                answer = http.post("/api/v1/comments", json=payload, headers={header: client})
                return 201 if answer.status_code == 202 else answer.status_code  # held is accepted too

            # The limit slides over the last hour by weighing the window before by what is left of it
            # (``ratecounts.WindowCounts``): posts either side of the hour's turn could all pass.
            clear_of_the_turn(3600, seconds=10)
            first = [post("198.51.100.7", f"first client {n}") for n in range(3)]
            second = post("198.51.100.8", "second client")
            refused = http.post(
                "/api/v1/comments",
                json=comment_payload("again", site="sock"),
                headers={header: "198.51.100.7"},
            )
    finally:
        process.terminate()
        process.wait(timeout=STARTUP_SECONDS)

    assert first == [201, 201, 429]
    assert second == 201  # another address behind the same proxy has its own budget
    assert refused.json()["error"]["fields"] == {"client": "allows 2 per 1 hour"}
    engine = create_engine(database)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT remote_addr FROM comments ORDER BY id")).scalars().all()
    engine.dispose()
    assert stored == ["198.51.100.7", "198.51.100.7", "198.51.100.8"]


def test_a_socket_without_a_trusted_proxy_refuses_to_start(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'x.db'}"
    process = serve_on_socket(tmp_path, database, tmp_path / "rejoinder.sock")
    assert process.wait(timeout=STARTUP_SECONDS) != 0
    assert "trusted_proxies must include 'unix'" in (tmp_path / "serve.log").read_text()
    assert not (tmp_path / "rejoinder.sock").exists()


def test_an_asgi_server_on_a_socket_without_a_trusted_proxy_refuses_requests_naming_the_setting(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'x.db'}"
    rejoinder("migrate", "--database", database, cwd=tmp_path)
    socket = tmp_path / "rejoinder.sock"
    process = uvicorn_on_socket(tmp_path, database, socket)
    wait_for(socket, process, tmp_path / "serve.log")
    try:
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket)), base_url="http://rejoinder"
        ) as http:
            alive = http.get("/healthz")
            refused = [
                http.get("/api/v1/comments", params={"site": "sock", "url": "https://blog.example/a"}),
                http.post("/api/v1/comments", json=comment_payload("hi", site="sock")),
                http.get("/readyz"),
            ]
    finally:
        process.terminate()
        process.wait(timeout=STARTUP_SECONDS)
    assert alive.status_code == 200
    for answer in refused:
        assert (answer.status_code, answer.json()["error"]["code"]) == (503, "misconfigured"), answer.text
        assert answer.json()["error"]["fields"] == {"trusted_proxies": "must include 'unix'"}
    log = (tmp_path / "serve.log").read_text()
    assert log.count("refusing requests: requests carry no client address") == 1
