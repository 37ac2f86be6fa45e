"""Reading threads: pages of nested comments, and comment counts for many pages at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rejoinder import audit
from rejoinder.cache import ThreadKey
from rejoinder.context import Context
from rejoinder.errors import InvalidInput, NotFound
from rejoinder.events import ThreadChanged
from rejoinder.model import Comment, Moderator, PageKey, Site, SortOrder, Thread
from rejoinder.paging import decode_cursor, encode_cursor
from rejoinder.sites import known_site, require_site, site_settings
from rejoinder.snapshots import ThreadSnapshot
from rejoinder.store import comments as comment_store
from rejoinder.store import threads as thread_store
from rejoinder.tree import Node, build_tree
from rejoinder.urls import BadURL, normalise_url

MAX_PAGE = 1000
DEFAULT_PAGE = 50  # top-level comments a page holds when the query names no limit
# Threads this large are paged in SQL rather than kept whole in memory.
SNAPSHOT_MAX_COMMENTS = 5000
MAX_COUNT_URLS = 200


@dataclass(frozen=True)
class ThreadPage:
    url: str
    title: str | None
    comment_count: int
    closed: bool
    comments: list[Node]
    next_cursor: str | None


def thread_url(url: str, field: str = "url") -> str:
    try:
        return normalise_url(url)
    except BadURL as exc:
        raise InvalidInput(f"{field} {exc}", {field: str(exc)}) from exc


def thread_key(site_key: str, url: str) -> ThreadKey:
    return (site_key, thread_url(url))


def read_page(
    ctx: Context,
    site_key: str,
    url: str,
    sort: SortOrder = SortOrder.OLDEST,
    limit: int = 50,
    cursor: str | None = None,
) -> ThreadPage:
    """One page of top-level comments with all their replies, in a constant number of queries.

    Threads up to ``SNAPSHOT_MAX_COMMENTS`` are loaded whole into a snapshot that later writes keep
    current, and pages are cut from it; larger ones are paged in SQL.
    """
    page = page_in_memory(ctx, site_key, url, sort, limit, cursor)
    if page is not None:
        return page
    normalised = thread_url(url)
    after = _page_start(limit, sort, cursor)
    key = (site_key, normalised)
    generation = ctx.cache.generation(key)
    with ctx.db.read() as conn:
        site = known_site(ctx, conn, site_key)
        thread = thread_store.find_thread(conn, site.id, normalised)
        if thread is None:
            return ThreadPage(normalised, None, 0, False, [], None)
        rules = site_settings(ctx, site)
        max_depth = rules.max_depth
        if not thread.closed and too_old(thread, rules.close_after_days):
            # Told to readers as closed; a snapshot kept past the day it closes still says open, but a
            # post is refused all the same (comments.post_comment checks the age itself).
            thread = dataclasses.replace(thread, closed=True)
        if thread.comment_count > SNAPSHOT_MAX_COMMENTS:
            top = comment_store.top_level_page(conn, thread.id, sort, after, limit + 1)
            pinned = comment_store.pinned_comments(conn, thread.id) if after is None else []
            replies = comment_store.replies_under(conn, [comment.id for comment in pinned + top[:limit]])
            return _page(thread, max_depth, sort, limit, top, replies, pinned)
        comments = comment_store.visible_comments(conn, thread.id)
        snapshot = ThreadSnapshot.of(thread, max_depth, comments, ctx.cache.authors())
    ctx.cache.put_snapshot(key, generation, snapshot, snapshot.size)
    return cut_page(snapshot, sort, limit, after)


def too_old(thread: Thread, close_after_days: int, now: datetime | None = None) -> bool:
    """Whether the site's ``close_after_days`` has closed the thread."""
    if close_after_days <= 0:
        return False
    return (now or datetime.now(UTC)) - thread.created_at > timedelta(days=close_after_days)


def page_in_memory(
    ctx: Context, site_key: str, url: str, sort: SortOrder, limit: int, cursor: str | None
) -> ThreadPage | None:
    """The page from the thread's snapshot when memory holds one, without any I/O; else None."""
    return remembered_page(ctx, (site_key, thread_url(url)), sort, limit, cursor)


def remembered_page(
    ctx: Context, key: ThreadKey, sort: SortOrder, limit: int, cursor: str | None
) -> ThreadPage | None:
    """``page_in_memory`` for a thread whose URL is already normalised (``thread_key``)."""
    snapshot: ThreadSnapshot | None = ctx.cache.snapshot(key)
    if snapshot is None:
        return None
    return cut_page(snapshot, sort, limit, _page_start(limit, sort, cursor))


def cut_page(snapshot: ThreadSnapshot, sort: SortOrder, limit: int, after: PageKey | None) -> ThreadPage:
    """The page after ``after`` (the first if None), from memory."""
    top = snapshot.top_level_page(sort, after, limit + 1)
    pinned = snapshot.pinned() if after is None else []
    replies = snapshot.replies_under(pinned + top[:limit])
    return _page(snapshot.thread, snapshot.max_depth, sort, limit, top, replies, pinned)


@dataclass(frozen=True, slots=True)
class PageCut:
    """A page cut from a snapshot before its reply tree is built: its top-level comments (the pinned ones
    first) and, for each, every reply below it (``ThreadSnapshot.replies``). ``cut_page`` builds the same
    page's tree; this lets each top-level comment's part of the page be made on its own
    (``web/page_parts.py``), since no reply hangs under another top-level comment than its root."""

    thread: Thread
    max_depth: int
    roots: list[Comment]
    replies: Mapping[int, tuple[Comment, ...]]
    next_cursor: str | None


def remembered_cut(
    ctx: Context, key: ThreadKey, sort: SortOrder, limit: int, cursor: str | None
) -> PageCut | None:
    """The page ``remembered_page`` gives, before its tree is built; None unless memory holds a snapshot."""
    snapshot: ThreadSnapshot | None = ctx.cache.snapshot(key)
    if snapshot is None:
        return None
    after = _page_start(limit, sort, cursor)
    top = snapshot.top_level_page(sort, after, limit + 1)
    pinned = snapshot.pinned() if after is None else []
    shown = top[:limit]
    next_cursor = encode_cursor(sort, shown[-1]) if len(top) > limit else None
    return PageCut(snapshot.thread, snapshot.max_depth, [*pinned, *shown], snapshot.replies, next_cursor)


def _page_start(limit: int, sort: SortOrder, cursor: str | None) -> PageKey | None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit out of range", {"limit": f"must be between 1 and {MAX_PAGE}"})
    return decode_cursor(cursor, sort) if cursor else None


def _page(
    thread: Thread,
    max_depth: int,
    sort: SortOrder,
    limit: int,
    top: list[Comment],
    replies: list[Comment],
    pinned: Sequence[Comment] = (),
) -> ThreadPage:
    """``top`` holds up to ``limit + 1`` comments: one more than the page shows means there is a next page.
    Pinned comments (first page only) come above the page, outside its count and its cursor."""
    shown = top[:limit]
    return ThreadPage(
        url=thread.url,
        title=thread.title or None,
        comment_count=thread.comment_count,
        closed=thread.closed,
        comments=build_tree([*pinned, *shown], replies, max_depth),
        next_cursor=encode_cursor(sort, shown[-1]) if len(top) > limit else None,
    )


def comment_counts(ctx: Context, site_key: str, urls: list[str]) -> dict[str, int]:
    """Counts keyed by the URLs exactly as given: from memory, or one query for all the others."""
    keys = _count_keys(site_key, urls)
    known = ctx.cache.counts(list(keys.values()))
    missing = [key for key in keys.values() if key not in known]
    if missing:
        generations = {key: ctx.cache.generation(key) for key in missing}
        with ctx.db.read() as conn:
            site = require_site(conn, site_key)
            stored = thread_store.comment_counts(conn, site.id, [url for _, url in missing])
        found = {key: stored.get(key[1], 0) for key in missing}
        ctx.cache.put_counts(generations, found)
        known.update(found)
    return {given: known[key] for given, key in keys.items()}


def counts_in_memory(ctx: Context, site_key: str, urls: list[str]) -> dict[str, int] | None:
    """``comment_counts`` when memory holds every one of them, without any I/O; else None."""
    keys = _count_keys(site_key, urls)
    return remembered_counts(ctx, site_key, list(keys), [url for _, url in keys.values()])


def remembered_counts(
    ctx: Context, site_key: str, urls: list[str], thread_urls: list[str]
) -> dict[str, int] | None:
    """``counts_in_memory`` for URLs already checked and normalised (``thread_urls[i]`` of ``urls[i]``)."""
    known = ctx.cache.site_counts(site_key, thread_urls)
    if known is None:
        return None
    return dict(zip(urls, known, strict=True))


def _count_keys(site_key: str, urls: list[str]) -> dict[str, ThreadKey]:
    if not urls:
        raise InvalidInput("no url given", {"url": "give at least one"})
    if len(urls) > MAX_COUNT_URLS:
        raise InvalidInput("too many urls", {"url": f"at most {MAX_COUNT_URLS} per request"})
    return {given: (site_key, thread_url(given, f"url[{i}]")) for i, given in enumerate(urls)}


def close_thread(
    ctx: Context, site_key: str, url: str, closed: bool = True, actor: Moderator | None = None
) -> None:
    """Close a thread to new comments (or open it again); readers still see what is there. Audit-logged
    as ``actor`` (the command line if not given)."""
    normalised = thread_url(url)
    with ctx.db.write() as conn:
        site = require_site(conn, site_key)
        thread = thread_store.find_thread(conn, site.id, normalised)
        if thread is None:
            raise NotFound(f"{site_key} has no thread at {normalised}", {"url": "has no comments yet"})
        thread_store.set_closed(conn, thread.id, closed)
        action = "thread.close" if closed else "thread.open"
        audit.record(conn, actor or audit.cli_actor(), action, site_id=site.id, after={"url": normalised})
        ctx.events.record(conn, ThreadChanged(site_key, normalised))


def unused_sites(ctx: Context, sites: list[Site]) -> list[Site]:
    """The ``sites`` without a single thread yet: new ones, whose owners still need the snippet."""
    with ctx.db.read() as conn:
        used = thread_store.sites_with_threads(conn, [site.id for site in sites])
    return [site for site in sites if site.id not in used]
