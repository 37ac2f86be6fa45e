"""Commenters' own export and erasure in Chromium, against a server process that sends mail to a real SMTP
server: the data page's form is accepted from the browser (its ``Origin`` check passes for the server's own
page), the mailed link's page and the erasure's answer load without a single CSP violation, and the export
arrives as a JSON download."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import ENV, RELAXED_SPAM, STARTUP_SECONDS, cli, free_port, wait_until_ready
from tests.mailbox import Mailbox, text_of

pytestmark = pytest.mark.browser

ME = "me@example.org"
ARTICLE = "http://localhost:1/posts/tide-pools"
COUNT_CSP_VIOLATIONS = """
window.rjViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.rjViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Mailbox]]:
    """A server that sends mail through a test mailbox, with one comment signed with ``ME``."""
    home = tmp_path_factory.mktemp("data-requests")
    database = f"sqlite:///{home / 'requests.db'}"
    relaxed = [f"--set={pair}" for pair in RELAXED_SPAM]
    cli("admin", "site", "create", "blog", "--origin", "http://localhost:1", *relaxed, "--database", database)
    box = Mailbox().start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    mail_env = {
        "REJOINDER_SMTP_HOST": "127.0.0.1",
        "REJOINDER_SMTP_PORT": str(box.port),
        "REJOINDER_SMTP_TLS": "none",
        "REJOINDER_MAIL_FROM": "comments@blog.example",
        "REJOINDER_JOBS_POLL_SECONDS": "0.2",
    }
    log = home / "serve.log"
    with log.open("wb") as sink, httpx.Client(base_url=base_url, timeout=10) as http:
        process = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "serve", "--port", str(port), "--database", database],
            cwd=home,
            env=ENV | mail_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(process, base_url, log)
            form = http.get("/api/v1/form", params={"site": "blog", "url": ARTICLE}).json()
            payload: dict[str, Any] = {"site": "blog", "url": ARTICLE, "title": "Tide pools", "body": "Mine"}
            payload |= {"author": {"name": "Ada", "email": ME}, "form_token": form.get("form_token")}
            time.sleep(0.1)
            posted = http.post("/api/v1/comments", json=payload)
            assert posted.status_code == 201, posted.text
            yield base_url, box
        finally:
            process.terminate()
            process.wait(timeout=STARTUP_SECONDS)
            box.stop()


def ask_in_the_browser(page: Page, base_url: str, box: Mailbox, choice: str) -> str:
    """Fill in the data page's form as a reader would; the link from the mail that follows."""
    before = len(box.messages)
    page.goto(f"{base_url}/privacy/blog")
    page.get_by_label("Your e-mail address").fill(ME)
    page.get_by_label(choice).check()
    page.get_by_role("button", name="Mail me the link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    assert page.evaluate("window.rjViolations") == []
    message = box.wait_for(before + 1)[-1]
    found = re.search(re.escape(base_url) + r"/privacy/blog/confirm\?t=[\w-]+", text_of(message))
    assert found, text_of(message)
    return found.group(0)


def test_a_reader_exports_then_erases_their_comments_from_the_data_page(
    page: Page, mail_server: tuple[str, Mailbox], tmp_path: Path
) -> None:
    base_url, box = mail_server
    page.add_init_script(COUNT_CSP_VIOLATIONS)

    link = ask_in_the_browser(page, base_url, box, "Get a copy of your data")
    page.goto(link)
    assert page.evaluate("window.rjViolations") == []
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == "comment-data.json"
    download.save_as(tmp_path / "export.json")
    exported = json.loads((tmp_path / "export.json").read_text())
    assert [(c["body"], c["author"]["email"]) for c in exported["comments"]] == [("Mine", ME)]

    link = ask_in_the_browser(page, base_url, box, "Erase your comments")
    page.goto(link)
    expect(page.get_by_text("this cannot be undone")).to_be_visible()
    page.get_by_role("button", name="Erase everything").click()
    expect(page.get_by_role("heading", name="Erased")).to_be_visible()
    assert page.evaluate("window.rjViolations") == []
    thread = httpx.get(f"{base_url}/api/v1/comments", params={"site": "blog", "url": ARTICLE}).json()
    assert "Mine" not in json.dumps(thread)  # a placeholder without replies is not even shown
