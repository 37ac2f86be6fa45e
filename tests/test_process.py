"""End to end against real server processes: serve, stop, crash, restart, and the demo.

These start ``python -m rejoinder`` with the package from this checkout, on SQLite in a temporary
directory, and talk to it over real HTTP.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from rejoinder.demo import DEMO_COMMENTS
from rejoinder.rendering import render
from tests.helpers import ARTICLE, comment_payload, flatten

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30
# The checkout's package, whatever is installed; and none of the developer's REJOINDER_* settings.
ENV = {name: value for name, value in os.environ.items() if not name.startswith("REJOINDER_")} | {
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def rejoinder(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "rejoinder", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    http: httpx.Client
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, how: signal.Signals) -> int:
        self.process.send_signal(how)
        return self.process.wait(timeout=STARTUP_SECONDS)


@contextmanager
def serving(tmp_path: Path, command: str, database: str) -> Iterator[Server]:
    """A server process, ready to answer; killed on the way out if the test did not stop it."""
    port = free_port()
    with running(tmp_path, [command, "--database", database], port, ENV, f"{command}-{port}.log") as server:
        yield server


@contextmanager
def running(
    cwd: Path, args: list[str], port: int, env: dict[str, str], log_name: str
) -> Iterator[Server]:
    """``python -m rejoinder ARGS --host 127.0.0.1 --port PORT``, its output in ``cwd/log_name``, ready to
    answer; killed on the way out if the test did not stop it."""
    base_url = f"http://127.0.0.1:{port}"
    log = cwd / log_name
    with log.open("ab") as sink, httpx.Client(base_url=base_url, timeout=10) as http:
        process = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", *args, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: ``--workers`` children go with it
        )
        server = Server(process, base_url, http, log)
        try:
            wait_until_ready(server)
            yield server
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=STARTUP_SECONDS)
            # A killed parent leaves its workers behind, serving on: they are killed with the group.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if server.http.get("/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"the server was not ready after {STARTUP_SECONDS} s:\n{server.output()}")


def created(http: httpx.Client, body: str) -> dict[str, Any]:
    response = http.post("/api/v1/comments", json=comment_payload(body, site="smoke"))
    assert response.status_code == 201, response.text
    return response.json()["comment"]  # type: ignore[no-any-return]


def thread(http: httpx.Client, site: str = "smoke", url: str = ARTICLE) -> dict[str, Any]:
    response = http.get("/api/v1/comments", params={"site": site, "url": url})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    site = json.loads(
        rejoinder(
            "admin",
            "site",
            "create",
            "smoke",
            "--origin",
            "https://blog.example",
            # These tests are about processes and durability; the filter has its own (test_spam_*.py).
            "--set",
            "spam_filter=false",
            "--database",
            url,
            cwd=tmp_path,
        ).stdout
    )
    assert site["key"] == "smoke" and site["allowed_origins"] == ["https://blog.example"]
    return url


def test_a_served_comment_survives_a_sigterm_exit_0_and_a_restart(tmp_path: Path, database: str) -> None:
    with serving(tmp_path, "serve", database) as server:
        comment = created(server.http, "Hello from a real process")
        assert [c["id"] for c in thread(server.http)["comments"]] == [comment["id"]]
        liked = server.http.put(
            f"/api/v1/comments/{comment['id']}/like", headers={"X-Rejoinder-Liker": "smoke-reader-1"}
        )
        assert liked.json() == {"likes": 1, "liked": True}
        counts = server.http.get("/api/v1/counts", params={"site": "smoke", "url": ARTICLE})
        assert counts.json() == {"counts": {ARTICLE: 1}}
        assert server.http.get("/demo/").status_code == 404  # the demo's pages belong to `rejoinder demo`
        assert server.stop(signal.SIGTERM) == 0
        assert "Application shutdown complete" in server.output()  # a graceful stop, not a crash

    with serving(tmp_path, "serve", database) as server:
        page = thread(server.http)
        assert [(c["id"], c["likes"]) for c in page["comments"]] == [(comment["id"], 1)]
        assert page["thread"]["comment_count"] == 1


def test_a_comment_answered_with_201_survives_kill_9(tmp_path: Path, database: str) -> None:
    with serving(tmp_path, "serve", database) as server:
        comment = created(server.http, "Written just before the crash")
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    with serving(tmp_path, "serve", database) as server:
        page = thread(server.http)
        assert [c["id"] for c in page["comments"]] == [comment["id"]]
        assert page["comments"][0]["html"] == "<p>Written just before the crash</p>"


def test_the_demo_shows_its_article_nested_comments_likes_and_takes_new_comments(tmp_path: Path) -> None:
    with serving(tmp_path, "demo", f"sqlite:///{tmp_path / 'demo.db'}") as server:
        printed = re.search(r"open (\S+)", server.output())
        assert printed is not None, server.output()
        article = printed.group(1)
        assert article == f"{server.base_url}/demo/"

        page = server.http.get(article)
        assert page.status_code == 200
        for _key, _parent, author, body, _likes in DEMO_COMMENTS:
            assert author in page.text and render(body) in page.text

        demo = thread(server.http, "demo", article)
        assert demo["thread"]["comment_count"] == len(DEMO_COMMENTS)
        assert [len(c["replies"]) for c in demo["comments"]] == [1, 1, 1]
        assert demo["comments"][0]["replies"][0]["replies"][0]["replies"]  # three levels of replies under one
        liked_by = {author: likes for _key, parent, author, _body, likes in DEMO_COMMENTS if parent is None}
        assert {c["author"]["name"]: c["likes"] for c in demo["comments"]} == liked_by
        # It links the thread's Atom feed, which has every demo comment.
        feed_link = re.search(r'href="([^"]+/feeds/demo/thread\.atom[^"]*)"', page.text)
        assert feed_link is not None
        feed = feedparser.parse(server.http.get(html.unescape(feed_link.group(1))).content)
        assert len(feed.entries) == len(DEMO_COMMENTS)

        form = {"body": "Posted through the *demo* form", "name": "Smoke"}
        posted = server.http.post("/demo/comment", data=form)
        assert posted.status_code == 303
        anchor = posted.headers["location"].rsplit("#", 1)[1]
        after = server.http.get(article).text
        assert f'id="{anchor}"' in after and "Posted through the <em>demo</em> form" in after
        names = [c["author"]["name"] for c in flatten(thread(server.http, "demo", article)["comments"])]
        assert names.count("Smoke") == 1
