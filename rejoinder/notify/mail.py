"""Outgoing mail: a ``Mail`` is queued as a ``mail.send`` job in the transaction that calls for it, and
the job hands it to the SMTP server (retried with backoff when the server fails or refuses)."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr

from sqlalchemy import Connection

from rejoinder.errors import ConfigurationError, RejoinderError
from rejoinder.jobs import enqueue
from rejoinder.model import Job
from rejoinder.settings import Settings

log = logging.getLogger(__name__)

SEND = "mail.send"
MAX_ATTEMPTS = 10  # the last retry comes about an hour and a half after the first failure


class MailFailed(RejoinderError):
    """The SMTP server could not be reached, or refused the message."""

    status = 502
    code = "mail_failed"


@dataclass(frozen=True)
class Mail:
    """One message to one address, as rendered; what a ``mail.send`` job carries."""

    to: str
    subject: str
    text: str
    html: str
    # The one-click unsubscribe address (RFC 8058); empty for mail that is not a subscription's.
    unsubscribe_url: str = ""
    # The site whose recipient this is: a suppressed address gets nothing from it, even if already queued.
    site_id: int | None = None


def queue_mail(conn: Connection, mail: Mail, *, dedupe_key: str | None = None) -> int | None:
    """Queue ``mail`` in the caller's transaction: it is sent if and only if the transaction commits."""
    return enqueue(conn, SEND, asdict(mail), dedupe_key=dedupe_key, max_attempts=MAX_ATTEMPTS)


def send_all_due(due: Callable[[], list[int]], send_one: Callable[[int], int]) -> int:
    """Run ``send_one`` for each id ``due()`` lists, until it lists none; how many mails were queued.
    (Subscriptions' batches and moderators' digests: each planned for a time, queued when it comes.)"""
    queued = 0
    while ids := due():
        queued += sum(send_one(i) for i in ids)
    return queued


def message_of(settings: Settings, mail: Mail) -> EmailMessage:
    """The MIME message: plain text and HTML alternatives, and the headers mail clients act on."""
    # The SMTP policy: CRLF line ends, and long lines (HTML) folded or encoded to fit RFC 5321's limit.
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "rejoinder.invalid"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
    # Tells auto-responders (vacation replies) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def deliver(settings: Settings, message: EmailMessage) -> str:
    """Hand ``message`` to the SMTP server; what the server answered to it (``250 …``)."""
    if not settings.smtp_host:
        raise ConfigurationError("no SMTP server is configured", {"smtp_host": "must be set to send mail"})
    sender = parseaddr(settings.mail_from)[1]
    recipient = parseaddr(str(message["To"]))[1]
    timeout = settings.smtp_timeout_seconds
    try:
        if settings.smtp_tls == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with server:
            server.ehlo()
            if settings.smtp_tls == "starttls":
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password)
            # Step by step rather than send_message: the server's answer to the message is worth showing.
            code, answer = server.mail(sender)
            if code != 250:
                raise MailFailed(f"the server refused the sender: {code} {_text(answer)}")
            code, answer = server.rcpt(recipient)
            if code not in (250, 251):
                raise MailFailed(f"the server refused {recipient}: {code} {_text(answer)}")
            code, answer = server.data(message.as_bytes())
            if code != 250:
                raise MailFailed(f"the server refused the message: {code} {_text(answer)}")
            return f"{code} {_text(answer)}"
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(f"could not send through {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer


def send_job(settings: Settings, job: Job, suppressed: bool) -> None:
    """Run a ``mail.send`` job; ``suppressed`` says whether its address may no longer get mail."""
    mail = Mail(**job.payload)
    if suppressed:
        log.info("mail %d not sent: its address is suppressed", job.id)
        return
    answer = deliver(settings, message_of(settings, mail))
    log.info("mail %d sent: %s", job.id, answer)
