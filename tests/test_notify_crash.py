"""A process killed right after a comment commits still gets its mail sent: the event waits in the
outbox, and another process delivers it once it notices the writer is gone."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.model import Author
from rejoinder.notify.subscriptions import confirm
from rejoinder.settings import Settings, as_environment
from rejoinder.sites import create_site
from rejoinder.store.db import Database
from rejoinder.store.outbox import has_undelivered
from rejoinder.wiring import open_context
from rejoinder.worker import Runner
from tests.helpers import ARTICLE
from tests.mailbox import Mailbox, text_of
from tests.test_process import ENV

READER = "reader@example.org"
# Posts a comment and dies the moment it has committed: before any subscriber of its event has run.
CRASHING_WRITER = f"""
import os
from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.model import Author
from rejoinder.notify.subscriptions import confirm
from rejoinder.settings import load_settings
from rejoinder.wiring import open_context

ctx = open_context(load_settings())
ctx.db.on_commit = lambda noted: os._exit(9)
post_comment(ctx, NewComment("test", {ARTICLE!r}, "Written just before the crash", "Tide pools",
             author=Author("Ada", "ada@example.org")), Client())
"""


@pytest.mark.slow
def test_a_writer_killed_after_the_commit_still_has_its_mail_sent(
    mail_settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    ctx = open_context(mail_settings)
    try:
        create_site(ctx, "test", "Tide Notes", ["https://blog.example"], spam_filter=False)
        post_comment(
            ctx,
            NewComment(
                "test", ARTICLE, "Tell me more", author=Author("R", READER), notify=frozenset({"thread"})
            ),
            Client(),
        )
        ctx.jobs.run_due("setup")
        [confirmation] = mailbox.wait_for(1)
        token = text_of(confirmation).split("/notify/confirm/")[1].split()[0]
        confirm(ctx, token)
    finally:
        ctx.close()

    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER],
        env=ENV | as_environment(mail_settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == 9, crashed.stderr
    db = Database(mail_settings.database_url)
    with db.read() as conn:  # committed, and its event never delivered
        assert has_undelivered(conn, datetime.now(UTC) + timedelta(days=1))
    db.dispose()
    assert len(mailbox.messages) == 1

    # A process started afterwards (a restarted server) delivers the event and runs the mail's job.
    restarted = open_context(mail_settings, start=True)
    runner = Runner(restarted.jobs, poll_seconds=0.2).start()
    try:
        mailbox.wait_for(2, timeout=40)  # redelivery waits for the event to look abandoned (10 s)
    finally:
        runner.join(10)
        restarted.close()
    assert "Written just before the crash" in text_of(mailbox.messages[1])
    assert mailbox.messages[1]["To"] == READER
