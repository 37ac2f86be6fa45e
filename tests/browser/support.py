"""What the browser tests share: the server under test, the host pages, and small page helpers."""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from rejoinder.cli import main as rejoinder_cli

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
STARTUP_SECONDS = 30
ENV = {name: value for name, value in os.environ.items() if not name.startswith("REJOINDER_")} | {
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}
# Tests post within a second of loading the form and many times from one address; the spam filter
# would rightly hold or refuse that. Every reader of these tests is 127.0.0.1, too: per address, their
# likes of a comment would count as one.
RELAXED_SPAM = [
    "min_submit_seconds=0",
    "rate_limit_ip=1000/minute",
    "rate_limit_identity=1000/minute",
    "like_rate_limit_ip=1000/minute",
    "like_address_hours=0",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(*argv: str) -> str:
    """Run a ``rejoinder`` command in-process; return what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            rejoinder_cli(list(argv))
        except SystemExit as exit:
            if exit.code not in (0, None):
                raise
    return out.getvalue()


def cli_knows(option: str, *command: str) -> bool:
    return option in cli(*command, "--help")


@dataclass
class Rejoinder:
    """The server process and a plain HTTP client for arranging what a test needs."""

    base_url: str
    database: str
    http: httpx.Client

    def post(self, site: str, url: str, body: str, name: str = "Ada", **extra: Any) -> dict[str, Any]:
        """Post as a well-behaved client: with a fresh form token when the server hands them out."""
        payload = {"site": site, "url": url, "title": "Test", "body": body, "author": {"name": name}, **extra}
        form = self.http.get("/api/v1/form", params={"site": site, "url": url})
        if form.status_code == 200:
            payload["form_token"] = form.json()["form_token"]
        response = self.http.post("/api/v1/comments", json=payload)
        assert response.status_code == 201, response.text
        return response.json()

    def thread(self, site: str, url: str) -> dict[str, Any]:
        response = self.http.get("/api/v1/comments", params={"site": site, "url": url})
        assert response.status_code == 200, response.text
        return response.json()


@dataclass
class HostPages:
    """Pages of "another site" embedding the widget, made up per test and served from their own origin."""

    origin: str
    server: str
    pages: dict[str, str] = field(default_factory=dict)

    def page(
        self,
        path: str,
        *,
        site: str = "blog",
        html_lang: str = "en",
        body: str = "",
        thread: bool = True,
        **options: str,
    ) -> str:
        """Register a page at ``path`` with the embed snippet; ``options`` become ``data-*`` attributes."""
        attributes = "".join(
            f' data-{name.replace("_", "-")}="{html.escape(v)}"' for name, v in options.items()
        )
        self.pages[path] = f"""<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8"><title>A post about tide pools</title></head>
<body>
<article><h1>A post about tide pools</h1>
<p id="article-text">Anemones open like flowers when the tide goes out.</p></article>
{body}
{'<div id="rejoinder-thread"></div>' if thread else ""}
<script src="{self.server}/embed.js" data-site="{site}"{attributes} async></script>
</body></html>"""
        return self.origin + path


def serve_host_pages(pages: HostPages, port: int) -> ThreadingHTTPServer:
    """Serve ``pages`` on 127.0.0.1:``port`` from a thread until ``shutdown()``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            text = pages.pages.get(self.path.split("?", 1)[0])
            data = (text or "not found").encode()
            self.send_response(200 if text else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Until ``/readyz`` answers 200; fails the test if the process dies or takes too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"the server was not ready after {STARTUP_SECONDS} s:\n{log.read_text()}")
        time.sleep(0.05)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def stored(page: Any, key: str) -> Any:
    return json.loads(page.evaluate("(key) => localStorage.getItem(key)", key) or "null")


def post_through_form(page: Any, body: str, name: str = "Grace", **details: str) -> None:
    page.get_by_label("Comment", exact=True).fill(body)
    page.get_by_label("Name", exact=True).fill(name)
    if "email" in details:
        page.get_by_label("E-mail (never shown publicly)").fill(details["email"])
    if "website" in details:
        page.get_by_label("Website", exact=True).fill(details["website"])
    page.get_by_role("button", name="Post Comment").click()


def comment(page: Any, comment_id: int) -> Any:
    return page.locator(f"#rj-comment-{comment_id}")


def own_part(page: Any, comment_id: int) -> Any:
    """The comment itself, without its replies."""
    return page.locator(f"#rj-comment-{comment_id} > .rj-main")
