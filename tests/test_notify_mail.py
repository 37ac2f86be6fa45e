"""Outgoing mail: the settings that switch it on, ``rejoinder mail test``, the message's shape, and a
failed delivery retried with backoff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rejoinder.errors import ConfigurationError
from rejoinder.model import JobStatus
from rejoinder.notify.mail import SEND, Mail, queue_mail
from rejoinder.settings import Settings, load_settings
from rejoinder.store.notify import is_suppressed
from rejoinder.wiring import open_context
from tests.mailbox import Mailbox, free_port, html_of, text_of
from tests.render_mail import keep_for_docs
from tests.test_process import ENV, rejoinder


def mail_command(tmp_path: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    # Exactly the environment variables the README shows.
    environ = ENV | {
        "REJOINDER_SMTP_HOST": "127.0.0.1",
        "REJOINDER_SMTP_PORT": str(port),
        "REJOINDER_SMTP_TLS": "none",
        "REJOINDER_MAIL_FROM": "Blog comments <comments@blog.example>",
        "REJOINDER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "rejoinder", "mail", *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_mail_test_sends_one_mail_and_shows_the_servers_answer(mailbox: Mailbox, tmp_path: Path) -> None:
    done = mail_command(tmp_path, mailbox.port, "test", "owner@blog.example")
    assert done.returncode == 0, done.stderr
    assert "sent to owner@blog.example through 127.0.0.1" in done.stdout
    assert "250 2.0.0 Accepted by the test mailbox" in done.stdout
    [message] = mailbox.wait_for(1)
    keep_for_docs("test", message)
    assert message["From"] == "Blog comments <comments@blog.example>"
    assert message["Subject"] == "Rejoinder test mail"
    assert mailbox.envelopes == [("comments@blog.example", ["owner@blog.example"])]
    assert message["Message-ID"].endswith("@blog.example>")
    assert "can send mail" in text_of(message) and "can send mail" in html_of(message)


def test_mail_test_says_why_nothing_was_sent(tmp_path: Path) -> None:
    done = mail_command(tmp_path, free_port(), "test", "owner@blog.example")  # nobody listens there
    assert done.returncode == 1
    assert "not sent: could not send through 127.0.0.1" in done.stderr


def test_mail_needs_a_sender() -> None:
    with pytest.raises(ConfigurationError, match="mail_from must be set"):
        load_settings(environ={"REJOINDER_SMTP_HOST": "smtp.example.org"})
    with pytest.raises(ConfigurationError, match="mail_from: .*must be an e-mail address"):
        load_settings(environ={"REJOINDER_MAIL_FROM": "just a name"})


def test_a_refused_mail_is_retried_with_backoff_and_sent_later(
    mail_settings: Settings, mailbox: Mailbox
) -> None:
    broken = mail_settings.model_copy(update={"smtp_port": free_port()})
    ctx = open_context(broken)
    try:
        with ctx.db.write() as conn:
            queue_mail(conn, Mail("reader@example.org", "Hello", "text", "<p>html</p>"))
        ctx.jobs.run_due("test")
        [job] = ctx.jobs.list_jobs(kind=SEND)
        assert job.status is JobStatus.QUEUED and job.attempts == 1
        assert "could not send through" in (job.last_error or "")
        assert job.run_at > job.created_at  # not at once: after a backoff
    finally:
        ctx.close()
    # The server is back (the right port): the retried job goes through.
    ctx = open_context(mail_settings)
    try:
        with ctx.db.write() as conn:
            conn.exec_driver_sql("UPDATE jobs SET run_at = created_at")  # the backoff has passed
        ctx.jobs.run_due("test")
        [message] = mailbox.wait_for(1)
        assert message["Subject"] == "Hello"
        assert ctx.jobs.list_jobs(kind=SEND)[0].status is JobStatus.DONE
    finally:
        ctx.close()


def test_mail_suppress_from_the_command_line(mailbox: Mailbox, tmp_path: Path) -> None:
    rejoinder("admin", "site", "create", "blog", "--database", f"sqlite:///{tmp_path / 'r.db'}", cwd=tmp_path)
    done = mail_command(tmp_path, mailbox.port, "suppress", "Someone@Example.org", "--site", "blog")
    assert done.returncode == 0, done.stderr
    assert "gets no more mail from site blog" in done.stdout
    settings = load_settings(environ={"REJOINDER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    ctx = open_context(settings)
    try:
        with ctx.db.read() as conn:
            site_id = conn.exec_driver_sql("SELECT id FROM sites").scalar()
            assert is_suppressed(conn, site_id, "someone@example.org")
    finally:
        ctx.close()
