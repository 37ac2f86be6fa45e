"""Atom feeds of a site's and a thread's newest published comments (RFC 4287). They carry what the
thread shows readers — names, websites, the sanitised HTML — and never an e-mail or client address."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree as ET

from rejoinder.context import Context
from rejoinder.errors import NotFound
from rejoinder.sites import cached_site
from rejoinder.store import feeds as store
from rejoinder.store import threads as thread_store
from rejoinder.store.feeds import FeedEntry
from rejoinder.threads import thread_url

ATOM = "http://www.w3.org/2005/Atom"
FEED_LENGTH = 50


def site_feed(ctx: Context, site_key: str) -> bytes:
    site = cached_site(ctx, site_key)
    with ctx.db.read() as conn:
        entries = store.newest_published(conn, site.id, FEED_LENGTH)
    self_url = f"{ctx.settings.base_url}/feeds/{quote(site.key)}.atom"
    return _atom(ctx, site.key, f"Comments on {site.name}", self_url, None, entries)


def thread_feed(ctx: Context, site_key: str, url: str) -> bytes:
    site = cached_site(ctx, site_key)
    url = thread_url(url)
    with ctx.db.read() as conn:
        thread = thread_store.find_thread(conn, site.id, url)
        if thread is None:
            raise NotFound("no comments on that page yet", {"url": "has no thread on this site"})
        entries = store.newest_published(conn, site.id, FEED_LENGTH, thread.id)
    self_url = f"{ctx.settings.base_url}/feeds/{quote(site.key)}/thread.atom?url={quote(url, safe='')}"
    return _atom(ctx, site.key, f"Comments on {thread.title or url}", self_url, url, entries)


def _atom(
    ctx: Context, site_key: str, title: str, self_url: str, page: str | None, entries: list[FeedEntry]
) -> bytes:
    host = urlsplit(ctx.settings.base_url).hostname or "rejoinder.invalid"
    feed = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(feed, "id").text = self_url
    ET.SubElement(feed, "title").text = title
    newest = max((e.edited_at or e.created_at for e in entries), default=datetime(2000, 1, 1, tzinfo=UTC))
    ET.SubElement(feed, "updated").text = _when(newest)
    ET.SubElement(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    if page:
        ET.SubElement(feed, "link", rel="alternate", href=page, type="text/html")
    ET.SubElement(feed, "generator").text = "Rejoinder"
    for entry in entries:
        item = ET.SubElement(feed, "entry")
        # A tag URI (RFC 4151): stable whatever the server's address becomes later.
        ET.SubElement(item, "id").text = f"tag:{host},2026:{site_key}/comment/{entry.id}"
        name = entry.name or "Anonymous"
        ET.SubElement(item, "title").text = f"{name} on {entry.thread_title or entry.thread_url}"
        author = ET.SubElement(item, "author")
        ET.SubElement(author, "name").text = name
        if entry.website:
            ET.SubElement(author, "uri").text = entry.website
        ET.SubElement(item, "published").text = _when(entry.created_at)
        ET.SubElement(item, "updated").text = _when(entry.edited_at or entry.created_at)
        ET.SubElement(item, "link", rel="alternate", href=f"{entry.thread_url}#rj-comment-{entry.id}")
        ET.SubElement(item, "content", type="html").text = entry.html
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
