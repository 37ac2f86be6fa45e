"""The browser suite's world: a real ``rejoinder serve`` process, host pages on another origin, Chromium.

One server process and one browser serve the whole session; every test gets a fresh browser context
(empty storage) and a page address of its own, so it reads and writes a thread no other test touches.
Host pages are served from ``http://localhost:PORT`` and the Rejoinder server from
``http://127.0.0.1:PORT``: different origins, and different sites, as for a real blog.

Debian's Chromium is used (``scripts/test`` installs it), never Playwright's own download.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    CHROMIUM,
    ENV,
    RELAXED_SPAM,
    STARTUP_SECONDS,
    HostPages,
    Rejoinder,
    cli,
    cli_knows,
    free_port,
    serve_host_pages,
    wait_until_ready,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium against a real server process")


@pytest.fixture(scope="session")
def host_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def host_origin(host_port: int) -> str:
    return f"http://localhost:{host_port}"


@pytest.fixture(scope="session")
def rejoinder(tmp_path_factory: pytest.TempPathFactory, host_origin: str) -> Iterator[Rejoinder]:
    home = tmp_path_factory.mktemp("rejoinder")
    database = f"sqlite:///{home / 'browser.db'}"
    relaxed = (
        [f"--set={pair}" for pair in RELAXED_SPAM] if cli_knows("--set", "admin", "site", "create") else []
    )
    for key, flags in {
        "blog": [],
        "held": ["--moderation"],
        "depth": ["--max-depth", "2"],
        "strict": ["--require-name-email"],
        "brief": ["--edit-window", "2"],
        "reports": ["--set", "report_threshold=1"],
    }.items():
        cli("admin", "site", "create", key, "--origin", host_origin, *flags, *relaxed, "--database", database)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = home / "serve.log"
    with log.open("wb") as sink, httpx.Client(base_url=base_url, timeout=10) as http:
        process = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "serve", "--port", str(port), "--database", database],
            cwd=home,
            env=ENV,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(process, base_url, log)
            yield Rejoinder(base_url, database, http)
        finally:
            process.terminate()
            process.wait(timeout=STARTUP_SECONDS)


@pytest.fixture(scope="session")
def host_server(host_port: int, host_origin: str, rejoinder: Rejoinder) -> Iterator[HostPages]:
    pages = HostPages(host_origin, rejoinder.base_url)
    server = serve_host_pages(pages, host_port)
    yield pages
    server.shutdown()
    server.server_close()


@pytest.fixture
def host(host_server: HostPages) -> HostPages:
    return host_server


# Per module, not per session: Playwright's sync API keeps an event loop marked as running while it is
# started, and the async tests that run after the browser tests need theirs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh reader: new context (no storage), page errors fail the test."""
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="en-GB")
    context.set_default_timeout(5000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def article(request: pytest.FixtureRequest) -> str:
    """A page path no other test uses."""
    return "/posts/" + request.node.name.replace("[", "-").replace("]", "")
