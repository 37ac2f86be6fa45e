"""Mails as they look, written to files for docs/guides/notifications.md when REJOINDER_RENDER_MAIL names
a folder (the tests that receive them call ``keep_for_docs``); otherwise nothing is written."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

from tests.mailbox import html_of, text_of

SHOWN_HEADERS = ("From", "To", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted")


def keep_for_docs(name: str, message: EmailMessage) -> None:
    folder = os.environ.get("REJOINDER_RENDER_MAIL")
    if not folder:
        return
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    headers = "".join(f"{h}: {message[h]}\n" for h in SHOWN_HEADERS if message[h] is not None)
    (target / f"{name}.txt").write_text(headers + "\n" + text_of(message), encoding="utf-8")
    (target / f"{name}.html").write_text(html_of(message), encoding="utf-8")
