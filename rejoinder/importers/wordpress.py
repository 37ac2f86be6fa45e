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
from rejoinder.importers.xml import Events, child, local
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
        seen_rss = False
        channel: Any = None
        blog = ""  # the blog's address: comment ids are unique only within one blog
        for event, element in events:
            # RSS's own elements (rss, channel, item, link) have no namespace: plain comparisons will do,
            # and they run for every element of the file.
            tag = element.tag
            if event == "start":
                if not seen_rss:
                    if tag != "rss":
                        raise ImportFailed(
                            f"not a WordPress export: the document is <{local(tag)}>, WXR files are <rss>"
                        )
                    seen_rss = True
                elif tag == "channel":
                    channel = element
                continue
            if tag == "item":
                yield from _item(element, blog)
                element.clear()
                if channel is not None:
                    channel.clear()  # drop the emptied items too: memory stays flat on large files
            elif not blog and tag.endswith(("}base_blog_url", "}base_site_url")):
                blog = (element.text or "").strip().rstrip("/")
        if events.problem is not None:
            yield events.problem
        elif not seen_rss:
            yield Problem("line 1", "the file is empty", True)


def _fields(element: Any) -> dict[str, str]:
    """Child elements' texts by local name (the first of each name)."""
    found: dict[str, str] = {}
    for sub in element:
        found.setdefault(local(sub.tag), sub.text or "")
    return found


def _item(item: Any, blog: str) -> Iterator[Record]:
    comments = [sub for sub in item if sub.tag.endswith("}comment")]
    if not comments:
        return
    fields = _fields(item)
    link = fields.get("link", "").strip() or fields.get("guid", "").strip()
    title = html.unescape(fields.get("title", "").strip())
    post_id = fields.get("post_id", "").strip()
    if not link:
        yield Problem(f"item {post_id or title!r}", "has comments but no <link>")
        return
    thread = ImportedThread(
        url=link, title=title, closed=fields.get("comment_status", "").strip() == "closed"
    )
    for comment in comments:
        yield _comment(comment, thread, post_id, blog)


def _comment(element: Any, thread: ImportedThread, post_id: str, blog: str) -> Record:
    fields = _fields(element)
    comment_id = fields.get("comment_id", "").strip()
    where = f"item {post_id}, comment {comment_id or '(no id)'}"
    if not comment_id:
        return Problem(where, "has no <wp:comment_id>")
    approved = fields.get("comment_approved", "").strip()
    status = STATUSES.get(approved)
    if status is None:
        return Problem(where, f"has an unknown <wp:comment_approved> {approved!r}")
    try:
        created = _date(fields.get("comment_date_gmt", ""), fields.get("comment_date", ""))
    except ValueError as exc:
        return Problem(where, f"has no readable date ({exc})")
    parent = fields.get("comment_parent", "").strip()
    likes = _likes(element) if "commentmeta" in fields else 0
    # Hand-made exports may leave out the post id: the post's own address stands in for it.
    prefix = f"{blog}/?p={post_id}#comment-" if post_id else f"{thread.url}#comment-"
    return ImportedComment(
        source_id=prefix + comment_id,
        thread=thread,
        parent_id=prefix + parent if parent not in ("", "0") else None,
        author=Author(
            # Pingback titles come entity-escaped inside CDATA: unescaped once, they read as written.
            html.unescape(fields.get("comment_author", "").strip()),
            fields.get("comment_author_email", "").strip(),
            fields.get("comment_author_url", "").strip(),
        ),
        body=fields.get("comment_content", ""),
        markup=Markup.HTML,
        status=status,
        created_at=created,
        likes=likes,
        kind=KINDS.get(fields.get("comment_type", "").strip(), CommentKind.COMMENT),
        remote_addr=fields.get("comment_author_IP", "").strip(),
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
