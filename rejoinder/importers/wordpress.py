"""WordPress eXtended RSS (WXR 1.0-1.2, as WordPress and WordPress.com export it): each ``<item>`` is a
post, page or attachment, its ``<wp:comment>`` elements its comments, nested by ``comment_parent``.

A comment's origin is its WordPress permalink, ``<base_blog_url>/?p=<post_id>#comment-<comment_id>``:
comment ids count from 1 in every blog, and hand-made exports repeat them across posts."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rejoinder.importers.records import (
    ImportedComment,
    ImportedThread,
    ImportFailed,
    Markup,
    Problem,
    Record,
    utc,
)
from rejoinder.importers.xml import Events, child, local, text_of
from rejoinder.model import Author, CommentKind, CommentStatus

SOURCE = "wordpress"
STATUSES = {
    "1": CommentStatus.PUBLISHED,
    "approve": CommentStatus.PUBLISHED,
    "0": CommentStatus.PENDING,
    "hold": CommentStatus.PENDING,
    "spam": CommentStatus.SPAM,
    "trash": CommentStatus.DELETED,
    "post-trashed": CommentStatus.DELETED,
}
KINDS = {"pingback": CommentKind.PINGBACK, "trackback": CommentKind.TRACKBACK}
NO_DATE = "0000-00-00 00:00:00"


def parse(path: Path) -> Iterator[Record]:
    """Every comment of every item, in file order; a Problem for each one that cannot be read."""
    with path.open("rb") as source:
        events = Events(source)
        depth_in_item = 0
        seen_rss = False
        channel: Any = None
        blog = ""  # the blog's address: comment ids are unique only within one blog
        for event, element in events:
            name = local(element.tag)
            if event == "start":
                if not seen_rss:
                    if name != "rss":
                        raise ImportFailed(
                            f"not a WordPress export: the document is <{name}>, WXR files are <rss>"
                        )
                    seen_rss = True
                elif name == "channel":
                    channel = element
                elif name == "item":
                    depth_in_item += 1
                continue
            if name in ("base_blog_url", "base_site_url") and not blog:
                blog = (element.text or "").strip().rstrip("/")
            if name == "item":
                depth_in_item -= 1
                yield from _item(element, blog)
                element.clear()
                if channel is not None:
                    channel.clear()  # drop the emptied items too: memory stays flat on large files
        if events.problem is not None:
            yield events.problem
        elif not seen_rss:
            yield Problem("line 1", "the file is empty", True)


def _item(item: Any, blog: str) -> Iterator[Record]:
    link = text_of(item, "link").strip() or text_of(item, "guid").strip()
    title = html.unescape(text_of(item, "title").strip())
    post_id = text_of(item, "post_id").strip()
    comments = [sub for sub in item if local(sub.tag) == "comment"]
    if not comments:
        return
    if not link:
        yield Problem(f"item {post_id or title!r}", "has comments but no <link>")
        return
    thread = ImportedThread(url=link, title=title, closed=text_of(item, "comment_status").strip() == "closed")
    for comment in comments:
        yield _comment(comment, thread, post_id, blog)


def _comment(element: Any, thread: ImportedThread, post_id: str, blog: str) -> Record:
    comment_id = text_of(element, "comment_id").strip()
    where = f"item {post_id}, comment {comment_id or '(no id)'}"
    if not comment_id:
        return Problem(where, "has no <wp:comment_id>")
    approved = text_of(element, "comment_approved").strip()
    status = STATUSES.get(approved)
    if status is None:
        return Problem(where, f"has an unknown <wp:comment_approved> {approved!r}")
    try:
        created = _date(text_of(element, "comment_date_gmt"), text_of(element, "comment_date"))
    except ValueError as exc:
        return Problem(where, f"has no readable date ({exc})")
    parent = text_of(element, "comment_parent").strip()
    likes = _likes(element)
    # Hand-made exports may leave out the post id: the post's own address stands in for it.
    prefix = f"{blog}/?p={post_id}#comment-" if post_id else f"{thread.url}#comment-"
    return ImportedComment(
        source_id=prefix + comment_id,
        thread=thread,
        parent_id=prefix + parent if parent not in ("", "0") else None,
        author=Author(
            # Pingback titles come entity-escaped inside CDATA: unescaped once, they read as written.
            html.unescape(text_of(element, "comment_author").strip()),
            text_of(element, "comment_author_email").strip(),
            text_of(element, "comment_author_url").strip(),
        ),
        body=text_of(element, "comment_content"),
        markup=Markup.HTML,
        status=status,
        created_at=created,
        likes=likes,
        kind=KINDS.get(text_of(element, "comment_type").strip(), CommentKind.COMMENT),
        remote_addr=text_of(element, "comment_author_IP").strip(),
    )


def _date(gmt: str, local_time: str) -> datetime:
    """``comment_date_gmt``; drafts and some old exports leave it zero, and then the local time is all
    there is (taken as UTC: WXR does not say the blog's time zone)."""
    gmt, local_time = gmt.strip(), local_time.strip()
    value = gmt if gmt and gmt != NO_DATE else local_time
    if not value or value == NO_DATE:
        raise ValueError("both <wp:comment_date_gmt> and <wp:comment_date> are empty")
    return utc(datetime.strptime(value, "%Y-%m-%d %H:%M:%S"))


def _likes(element: Any) -> int:
    """Jetpack keeps comment likes nowhere in WXR; a ``comment_like_count`` meta is used when present."""
    for meta in element:
        if local(meta.tag) != "commentmeta":
            continue
        key = child(meta, "meta_key")
        value = child(meta, "meta_value")
        if key is not None and (key.text or "").strip() == "comment_like_count" and value is not None:
            try:
                return max(0, int((value.text or "0").strip()))
            except ValueError:
                return 0
    return 0
