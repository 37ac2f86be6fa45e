"""*Notify me of new posts*: a job reads each site's own feed (its ``feed_url`` setting, RSS or Atom)
politely — conditional requests, a fixed pace, backing off after failures and honouring Retry-After —
and mails each new post's title and link to the site's confirmed subscribers.

The first read of a feed only learns what is there: nobody is told of posts older than their
subscription's first chance to hear of them."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rejoinder import __version__
from rejoinder.context import Context
from rejoinder.model import Site
from rejoinder.notify.letters import Letters
from rejoinder.notify.mail import Mail, queue_mail
from rejoinder.notify.subscriptions import language_of, manage_url, unsubscribe_url
from rejoinder.sites import list_sites, site_settings
from rejoinder.store import notify as store
from rejoinder.store.notify import FeedPoll

if TYPE_CHECKING:
    import feedparser

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(days=1)
MAX_FEED_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 20
REMEMBER = 500  # entry ids kept per feed: more than any feed shows at once
NEW_AT_ONCE = 5  # a feed that suddenly shows many "new" entries (its ids changed) announces only a few


def poll_feeds(ctx: Context, letters: Letters) -> None:
    """Job: read every site's feed that is due."""
    now = datetime.now(UTC)
    for site in list_sites(ctx):
        feed_url = site_settings(ctx, site).feed_url
        if feed_url:
            try:
                poll_site(ctx, letters, site, feed_url, now)
            except Exception:  # one site's odd feed must not keep the others unread
                log.exception("reading the feed of site %s failed", site.key)


def poll_site(ctx: Context, letters: Letters, site: Site, feed_url: str, now: datetime) -> int:
    """Read the site's feed if it is due; how many new posts were announced."""
    pace = timedelta(minutes=ctx.settings.feed_poll_minutes)
    with ctx.db.read() as conn:
        known = store.feed_poll(conn, site.id)
    if known is not None and known.feed_url == feed_url and known.next_poll_at > now:
        return 0
    first_look = known is None or known.feed_url != feed_url
    poll = FeedPoll(site.id, feed_url, None, None, [], 0, now) if first_look else known
    assert poll is not None
    try:
        status, body, headers = _fetch(feed_url, poll, ctx.settings.base_url)
    except _Unavailable as exc:
        failures = poll.failures + 1
        # Doubling from the feed's own pace, and never sooner than the server asked (Retry-After).
        wait = max(exc.retry_after or timedelta(0), min(MAX_BACKOFF, pace * 2**failures))
        with ctx.db.write() as conn:
            store.save_feed_poll(
                conn, replace(poll, failures=failures, next_poll_at=now + wait), now, str(exc)
            )
        log.warning("the feed of site %s could not be read (%s); next try in %s", site.key, exc, wait)
        return 0
    if status == 304:
        with ctx.db.write() as conn:
            store.save_feed_poll(conn, replace(poll, failures=0, next_poll_at=now + pace), now, None)
        return 0
    import feedparser  # 1 MB kept only by servers whose sites announce their posts

    parsed = feedparser.parse(body)
    entries = [(str(e.get("id") or e.get("link") or ""), e) for e in parsed.entries]
    entries = [(key, e) for key, e in entries if key]
    new = [] if first_look else [(key, e) for key, e in entries if key not in poll.seen]
    seen = list(dict.fromkeys([key for key, _ in entries] + poll.seen))[:REMEMBER]
    after = replace(
        poll,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        seen=seen,
        failures=0,
        next_poll_at=now + pace,
    )
    with ctx.db.write() as conn:
        # The mails and the entries' being seen commit together: a post is announced once.
        listeners = store.posts_listeners(conn, site.id)
        for _key, entry in reversed(new[:NEW_AT_ONCE]):  # feeds list the newest first
            for sub in listeners:
                queue_mail(conn, _post_mail(ctx, letters, sub, entry))
        store.save_feed_poll(conn, after, now, None)
    return len(new[:NEW_AT_ONCE])


def _post_mail(
    ctx: Context, letters: Letters, sub: store.Subscription, entry: feedparser.FeedParserDict
) -> Mail:
    title = " ".join(str(entry.get("title") or entry.get("link") or "").split())
    link = str(entry.get("link") or "")
    letter = letters.render(
        "post",
        language_of(sub),
        "post_subject",
        site=sub.site_name,
        title=title,
        link=link if link.startswith(("https://", "http://")) else "",
        unsubscribe_url=unsubscribe_url(ctx, sub.id),
        manage_url=manage_url(ctx, sub.email),
    )
    return Mail(
        sub.email, letter.subject, letter.text, letter.html, unsubscribe_url(ctx, sub.id), sub.site_id
    )


class _Unavailable(Exception):
    def __init__(self, reason: str, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _fetch(url: str, poll: FeedPoll, server: str) -> tuple[int, bytes, dict[str, str]]:
    """GET the feed, conditionally when it said how; (status, body, lower-cased headers)."""
    headers = {
        "User-Agent": f"Rejoinder/{__version__} (new-post notifications; +{server})",
        "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5",
    }
    if poll.etag:
        headers["If-None-Match"] = poll.etag
    if poll.last_modified:
        headers["If-Modified-Since"] = poll.last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http/https only: checked in sites)
            body = response.read(MAX_FEED_BYTES + 1)
            if len(body) > MAX_FEED_BYTES:
                raise _Unavailable(f"the feed is larger than {MAX_FEED_BYTES} bytes")
            return response.status, body, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, b"", {}
        raise _Unavailable(f"HTTP {exc.code}", _retry_after(exc.headers.get("Retry-After"))) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise _Unavailable(str(getattr(exc, "reason", exc))) from exc


def _retry_after(value: str | None) -> timedelta | None:
    if value and value.strip().isdigit():
        return min(MAX_BACKOFF, timedelta(seconds=int(value.strip())))
    return None
