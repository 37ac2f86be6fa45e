"""Exports: everything a site holds, as Rejoinder's JSON lines (``import rejoinder`` restores it exactly)
or as a WordPress eXtended RSS file (WXR 1.2, which WordPress's importer reads). Both are written thread by
thread from a streamed read, so memory stays flat on large sites."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape as escape_html
from typing import Any, TextIO
from urllib.parse import urlsplit

from sqlalchemy import Connection

from rejoinder import audit
from rejoinder.context import Context
from rejoinder.importers.rejoinder_json import FORMAT, SOURCE, VERSION
from rejoinder.model import CommentStatus, Moderator, Role, Site
from rejoinder.permissions import require_role
from rejoinder.sites import require_site
from rejoinder.store import imports as store
from rejoinder.store.sites import list_sites

FORMATS = ("json", "wxr")
WXR_STATUS = {
    CommentStatus.PUBLISHED.value: "1",
    CommentStatus.PENDING.value: "0",
    CommentStatus.SPAM.value: "spam",
    CommentStatus.DELETED.value: "trash",
}
WXR_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/"
>
<channel>
	<title>{title}</title>
	<link>{link}</link>
	<description>Comments exported from Rejoinder</description>
	<pubDate>{date}</pubDate>
	<language>en</language>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>{link}</wp:base_site_url>
	<wp:base_blog_url>{link}</wp:base_blog_url>
	<generator>Rejoinder</generator>
"""


def export(ctx: Context, out: TextIO, format_name: str, site_key: str | None = None) -> int:
    """Write the export of one site (or all) to ``out``; returns the number of comments written."""
    with ctx.db.read() as conn:
        sites = [require_site(conn, site_key)] if site_key else list_sites(conn)
        if format_name == "json":
            return _json(conn, out, sites)
        if format_name == "wxr":
            return _wxr(conn, out, sites)
    raise ValueError(f"unknown export format {format_name!r}")


def export_site(ctx: Context, who: Moderator, out: TextIO, format_name: str, site_key: str) -> int:
    """One site's export for someone acting on it (its admins only), recorded in the audit log."""
    require_role(who, site_key, Role.ADMIN)
    written = export(ctx, out, format_name, site_key)
    with ctx.db.write() as conn:
        site = require_site(conn, site_key)
        after = {"format": format_name, "comments": written}
        audit.record(conn, who, "export", site_id=site.id, after=after)
    return written


def _threads(conn: Connection, site: Site) -> Iterator[tuple[Any, list[Any]]]:
    for thread in store.site_threads(conn, site.id):
        yield thread, list(store.thread_comments(conn, thread.id))


def _json(conn: Connection, out: TextIO, sites: list[Site]) -> int:
    written = 0
    _line(out, {"format": FORMAT, "version": VERSION, "exported_at": datetime.now(UTC).isoformat()})
    for site in sites:
        _line(out, {"site": {"key": site.key, "name": site.name}})
        for thread, rows in _threads(conn, site):
            _line(
                out,
                {
                    "thread": {
                        "url": thread.url,
                        "title": thread.title,
                        "closed": thread.closed,
                        "created_at": thread.created_at.isoformat(),
                    }
                },
            )
            ids = [row.id for row in rows]
            origins = store.origins_of(conn, ids)
            likers = store.likers_of(conn, ids)
            for row in rows:
                _line(out, {"comment": _comment_json(row, origins.get(row.id, []), likers.get(row.id, []))})
                written += 1
    return written


def _comment_json(row: Any, origins: list[tuple[str, str]], likers: list[str]) -> dict[str, Any]:
    verdict = None
    if row.spam_action is not None:
        verdict = {
            "action": row.spam_action,
            "score": row.spam_score,
            "reasons": row.spam_reasons or [],
            "fingerprint": row.fingerprint,
            "purge_after": _iso(row.purge_after),
        }
    return {
        "id": row.id,
        "parent_id": row.parent_id,
        "kind": row.kind,
        "status": row.status,
        "author": {"name": row.author_name, "email": row.author_email, "website": row.author_website},
        "body": row.body,
        "html": row.html,
        "created_at": row.created_at.isoformat(),
        "edited_at": _iso(row.edited_at),
        "moderated_at": _iso(row.moderated_at),
        "remote_addr": row.remote_addr,
        "user_agent": row.user_agent,
        "likes": row.like_count,
        "likers": likers,
        "verdict": verdict,
        # Where it came from before; a restore keeps these, so re-importing the original export into the
        # restored site still finds every comment. Rejoinder's own ids are the export's ids.
        "origins": [list(origin) for origin in origins if origin[0] != SOURCE],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _line(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")


def _wxr(conn: Connection, out: TextIO, sites: list[Site]) -> int:
    written = 0
    title = sites[0].name if len(sites) == 1 else "Rejoinder"
    first_link = ""
    for site in sites:
        for thread in store.site_threads(conn, site.id):
            if thread.url.startswith("http"):
                parts = urlsplit(thread.url)
                first_link = f"{parts.scheme}://{parts.netloc}"
                break
        if first_link:
            break
    out.write(
        WXR_HEAD.format(title=_escape(title), link=_escape(first_link), date=_rfc822(datetime.now(UTC)))
    )
    for site in sites:
        for thread, rows in _threads(conn, site):
            out.write(_wxr_item(thread, rows))
            written += len(rows)
    out.write("</channel>\n</rss>\n")
    return written


def _wxr_item(thread: Any, rows: list[Any]) -> str:
    parts = urlsplit(thread.url)
    slug = (parts.path.rstrip("/").rsplit("/", 1)[-1] or "index")[:200]
    date = thread.created_at
    lines = [
        "\t<item>",
        f"\t\t<title>{_cdata(thread.title or thread.url)}</title>",
        f"\t\t<link>{_escape(thread.url)}</link>",
        f"\t\t<pubDate>{_rfc822(date)}</pubDate>",
        "\t\t<dc:creator><![CDATA[rejoinder]]></dc:creator>",
        f'\t\t<guid isPermaLink="false">{_escape(thread.url)}</guid>',
        "\t\t<description></description>",
        "\t\t<content:encoded><![CDATA[]]></content:encoded>",
        "\t\t<excerpt:encoded><![CDATA[]]></excerpt:encoded>",
        f"\t\t<wp:post_id>{thread.id}</wp:post_id>",
        f"\t\t<wp:post_date>{_wp_date(date)}</wp:post_date>",
        f"\t\t<wp:post_date_gmt>{_wp_date(date)}</wp:post_date_gmt>",
        f"\t\t<wp:comment_status>{'closed' if thread.closed else 'open'}</wp:comment_status>",
        "\t\t<wp:ping_status>closed</wp:ping_status>",
        f"\t\t<wp:post_name>{_cdata(slug)}</wp:post_name>",
        "\t\t<wp:status>publish</wp:status>",
        "\t\t<wp:post_parent>0</wp:post_parent>",
        "\t\t<wp:menu_order>0</wp:menu_order>",
        "\t\t<wp:post_type>post</wp:post_type>",
        "\t\t<wp:post_password></wp:post_password>",
        "\t\t<wp:is_sticky>0</wp:is_sticky>",
    ]
    for row in rows:
        kind = "" if row.kind == "comment" else row.kind
        lines += [
            "\t\t<wp:comment>",
            f"\t\t\t<wp:comment_id>{row.id}</wp:comment_id>",
            f"\t\t\t<wp:comment_author>{_cdata(row.author_name)}</wp:comment_author>",
            f"\t\t\t<wp:comment_author_email>{_cdata(row.author_email)}</wp:comment_author_email>",
            f"\t\t\t<wp:comment_author_url>{_escape(row.author_website)}</wp:comment_author_url>",
            f"\t\t\t<wp:comment_author_IP>{_escape(row.remote_addr)}</wp:comment_author_IP>",
            f"\t\t\t<wp:comment_date>{_wp_date(row.created_at)}</wp:comment_date>",
            f"\t\t\t<wp:comment_date_gmt>{_wp_date(row.created_at)}</wp:comment_date_gmt>",
            # The rendered, sanitised HTML: WordPress shows comment HTML as it is (filtered by kses).
            f"\t\t\t<wp:comment_content>{_cdata(row.html)}</wp:comment_content>",
            f"\t\t\t<wp:comment_approved>{WXR_STATUS[row.status]}</wp:comment_approved>",
            f"\t\t\t<wp:comment_type>{kind}</wp:comment_type>",
            f"\t\t\t<wp:comment_parent>{row.parent_id or 0}</wp:comment_parent>",
            "\t\t\t<wp:comment_user_id>0</wp:comment_user_id>",
        ]
        if row.like_count:
            lines += [
                "\t\t\t<wp:commentmeta>",
                "\t\t\t\t<wp:meta_key>comment_like_count</wp:meta_key>",
                f"\t\t\t\t<wp:meta_value>{row.like_count}</wp:meta_value>",
                "\t\t\t</wp:commentmeta>",
            ]
        lines.append("\t\t</wp:comment>")
    lines.append("\t</item>\n")
    return "\n".join(lines)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _wp_date(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _rfc822(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _escape(text: str) -> str:
    """``&``, ``<`` and ``>`` escaped for XML text, as ``xml.sax.saxutils.escape`` escapes them: without
    importing ``xml.sax`` into every server for the one export that writes XML."""
    return escape_html(text, quote=False)
