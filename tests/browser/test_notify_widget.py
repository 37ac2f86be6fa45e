"""The widget's notification boxes in Chromium, against a server process that sends mail to a real SMTP
server: shown only when offered, sent with the comment, and the confirmation mail arrives."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import (
    ENV,
    RELAXED_SPAM,
    STARTUP_SECONDS,
    HostPages,
    artifact,
    cli,
    free_port,
    serve_host_pages,
    wait_until_ready,
)
from tests.mailbox import Mailbox, text_of

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mail_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostPages, Mailbox]]:
    """A server that sends mail through a test mailbox, and host pages on another origin."""
    home = tmp_path_factory.mktemp("notify")
    database = f"sqlite:///{home / 'notify.db'}"
    host_port, port = free_port(), free_port()
    host_origin = f"http://localhost:{host_port}"
    relaxed = [f"--set={pair}" for pair in RELAXED_SPAM]
    cli("admin", "site", "create", "blog", "--origin", host_origin, *relaxed, "--database", database)
    cli("admin", "site", "create", "fed", "--origin", host_origin, *relaxed, "--database", database,
        "--set", "feed_url=https://blog.example/feed.atom", "--set", "language=de")  # fmt: skip
    box = Mailbox().start()
    base_url = f"http://127.0.0.1:{port}"
    mail_env = {
        "REJOINDER_SMTP_HOST": "127.0.0.1",
        "REJOINDER_SMTP_PORT": str(box.port),
        "REJOINDER_SMTP_TLS": "none",
        "REJOINDER_MAIL_FROM": "comments@blog.example",
        "REJOINDER_JOBS_POLL_SECONDS": "0.2",
    }
    log = home / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "serve", "--port", str(port), "--database", database],
            cwd=home,
            env=ENV | mail_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        pages = HostPages(host_origin, base_url)
        host = serve_host_pages(pages, host_port)
        try:
            wait_until_ready(process, base_url, log)
            yield pages, box
        finally:
            host.shutdown()
            host.server_close()
            process.terminate()
            process.wait(timeout=STARTUP_SECONDS)
            box.stop()


def test_ticking_a_box_subscribes_and_the_confirmation_arrives(
    page: Page, mail_world: tuple[HostPages, Mailbox]
) -> None:
    pages, box = mail_world
    page.goto(pages.page("/posts/notify-me"))
    thread_box = page.get_by_label("Notify me of new comments via email.")
    replies_box = page.get_by_label("Notify me of replies to my comment via email.")
    expect(thread_box).to_be_visible()
    expect(replies_box).to_be_visible()
    expect(page.get_by_label("Notify me of new posts via email.")).to_have_count(0)  # no feed_url
    feed = page.get_by_role("link", name="Comments feed (Atom)")
    assert "/feeds/blog/thread.atom?url=" in (feed.get_attribute("href") or "")

    page.get_by_label("Comment", exact=True).fill("Tell me when someone answers.")
    page.get_by_label("Name", exact=True).fill("Grace")
    thread_box.check()
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator("#rj-f-email-error")).to_be_visible()  # notifications need an address
    page.get_by_label("E-mail (never shown publicly)").fill("grace@example.org")
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".rj-status")).to_contain_text("a new address gets a mail to confirm first")
    expect(thread_box).not_to_be_checked()  # ticked for that comment only
    page.locator(".rj-respond").screenshot(path=artifact("notify-boxes.png"))

    [mail] = box.wait_for(1)
    assert mail["To"] == "grace@example.org"
    assert "/notify/confirm/" in text_of(mail)

    # Following the link shows a button; pressing it confirms.
    link = text_of(mail).split("Confirm: ")[1].split()[0]
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("main")).to_contain_text("Confirmed.")


def test_a_site_with_a_feed_offers_new_posts_in_its_language(
    page: Page, mail_world: tuple[HostPages, Mailbox]
) -> None:
    pages, _ = mail_world
    page.goto(pages.page("/posts/new-posts", site="fed", html_lang="de"))
    expect(page.get_by_label("Benachrichtige mich über neue Beiträge per E-Mail.")).to_be_visible()
    feed = page.get_by_role("link", name="Kommentar-Feed (Atom)")
    response = httpx.get(feed.get_attribute("href") or "", timeout=5)
    assert response.status_code == 404  # no comment yet, so no thread: said with its field
    assert response.json()["error"]["fields"] == {"url": "has no thread on this site"}
