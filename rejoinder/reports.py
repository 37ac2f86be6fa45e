"""Readers' reports of comments (spam, abuse, off-topic, other, with an optional note): one per reader and
comment, rate-limited per client address; once a comment has the site's ``report_threshold`` open
reports it is held for a moderator (the *Reported* queue lists it either way)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from rejoinder import audit
from rejoinder.comments import Client
from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, InvalidInput, OriginNotAllowed
from rejoinder.events import CommentModerated, CommentReported
from rejoinder.model import CommentStatus
from rejoinder.ratelimits import refuse_over
from rejoinder.sites import site_settings
from rejoinder.store import comments as store
from rejoinder.store import reports as report_store
from rejoinder.store import threads as thread_store
from rejoinder.store.sites import get_site_by_id

REASONS = ("spam", "abuse", "off-topic", "other")
MAX_TEXT = 1000
# The decision a hold by readers' reports carries in its event: no moderator decided, nothing is learned.
HELD_BY_REPORTS = "reported"
REPORTS_ACTOR = "readers"


@dataclass(frozen=True)
class Reported:
    new: bool  # False: this reader had reported it already
    held: bool  # the report was the one that held the comment


def report(ctx: Context, comment_id: int, reason: str, text: str, client: Client) -> Reported:
    if reason not in REASONS:
        raise InvalidInput("bad report", {"reason": "must be one of " + ", ".join(REASONS)})
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if len(text) > MAX_TEXT or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise InvalidInput(
            "bad report", {"text": f"must be at most {MAX_TEXT} characters, no control characters"}
        )
    refuse_over(ctx.spam.rate_limits, "report", ctx.settings.report_rate_limit, client.remote_addr, "reports")
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        comment = store.get_comment(conn, comment_id)
        if comment is None or comment.status is not CommentStatus.PUBLISHED:
            raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
        thread = thread_store.get_thread(conn, comment.thread_id)
        site = get_site_by_id(conn, thread.site_id)
        if client.origin and client.origin.lower() not in site.allowed_origins:
            raise OriginNotAllowed(
                f"{client.origin} may not report comments of this site", {"Origin": "not allowed"}
            )
        reporter = ctx.signer.reader_key("report", client.remote_addr or "unknown")
        new = report_store.add_report(
            conn, comment_id=comment.id, reason=reason, text=text, reporter_key=reporter, now=now
        )
        threshold = site_settings(ctx, site).report_threshold
        held = new and threshold > 0 and report_store.open_reports(conn, comment.id) >= threshold
        if held:
            store.set_status(conn, comment.id, CommentStatus.PENDING, moderated_at=now)
            thread_store.add_to_comment_count(conn, thread.id, -1)
            moderated = store.get_comment(conn, comment.id)
            assert moderated is not None
            ctx.events.record(
                conn, CommentModerated(site.key, thread.url, moderated, site.id, HELD_BY_REPORTS)
            )
            audit.record(
                conn, REPORTS_ACTOR, "comment.hold", site_id=site.id, comment_id=comment.id,
                before={"status": comment.status.value}, after={"status": CommentStatus.PENDING.value},
            )  # fmt: skip
        elif new:
            ctx.events.record(conn, CommentReported(site.key, site.id, comment, reason))
    return Reported(new, held)
