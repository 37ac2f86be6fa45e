"""``rejoinder demo`` as a newcomer meets it: the article with the widget, and the same thread embedded
from a second origin on the next port."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from rejoinder.demo import DEMO_COMMENTS
from tests.browser.support import (
    ENV,
    RELAXED_SPAM,
    STARTUP_SECONDS,
    artifact,
    cli,
    cli_knows,
    free_port,
    wait_until_ready,
)

pytestmark = pytest.mark.browser


def free_port_pair() -> int:
    """A port whose successor is free too (the demo's second origin)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    pytest.fail("no two neighbouring free ports")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    home = tmp_path_factory.mktemp("demo")
    database = f"sqlite:///{home / 'demo.db'}"
    if cli_knows("--set", "admin", "site", "create"):  # a test posts faster than a person can
        cli(
            "admin",
            "site",
            "create",
            "demo",
            *[f"--set={pair}" for pair in RELAXED_SPAM],
            "--database",
            database,
        )
    port = free_port_pair()
    log = home / "demo.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "demo", "--port", str(port), "--database", database],
            cwd=home,
            env=ENV,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not re.search(r"another origin: (\S+)", log.read_text()):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"rejoinder demo did not start:\n{log.read_text()}")
                time.sleep(0.05)
            article, elsewhere = re.findall(r"(?:open|another origin:) (\S+)", log.read_text())
            wait_until_ready(process, f"http://127.0.0.1:{port}", log)
            yield article, elsewhere
        finally:
            process.terminate()
            process.wait(timeout=STARTUP_SECONDS)


def test_the_demo_thread_reads_likes_and_takes_a_comment(page: Page, demo: tuple[str, str]) -> None:
    article, _ = demo
    page.goto(article)
    comments = page.locator(".rj-comment")
    expect(comments).to_have_count(len(DEMO_COMMENTS))
    expect(page.locator(".rj-count")).to_have_text(f"{len(DEMO_COMMENTS)} comments")
    expect(page.locator("[data-rejoinder-count]")).to_have_text(f"{len(DEMO_COMMENTS)} comments")
    page.screenshot(path=artifact("demo-thread.png"), full_page=True)
    privacy = page.get_by_role("link", name="How your comment data is processed").get_attribute("href")
    assert privacy and "How your comment data is processed" in page.request.get(privacy).text()

    first = page.locator(".rj-list > .rj-comment > .rj-main").first
    first.get_by_role("button", name="Like").click()
    expect(first.locator(".rj-likes")).to_have_text("Liked by 4 people")
    first.get_by_role("button", name="Reply").click()
    page.get_by_label("Comment", exact=True).fill("Replying in the demo")
    page.get_by_label("Name", exact=True).fill("Newcomer")
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".rj-list > .rj-comment").first.locator(".rj-replies .rj-body").last).to_have_text(
        "Replying in the demo"
    )


def test_the_demo_thread_is_embedded_from_another_origin(page: Page, demo: tuple[str, str]) -> None:
    article, elsewhere = demo
    assert elsewhere.split(":")[-1].rstrip("/") != article.split(":")[-1].split("/")[0]
    page.goto(elsewhere)
    expect(page.locator(".rj-list > .rj-comment").first).to_be_visible()
    page.get_by_label("Comment", exact=True).fill("Hello from another origin")
    page.get_by_label("Name", exact=True).fill("Visitor")
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".rj-status")).to_have_text("Your comment was posted.")
    page.goto(article)
    expect(page.get_by_text("Hello from another origin")).to_be_visible()
    page.goto(article + "?lang=uk&theme=dark")
    expect(page.get_by_role("heading", name="Залишити відповідь")).to_be_visible()
    expect(page.locator(".rj-root")).to_have_class("rj-root rj-dark")
