"""Isso's SQLite database (``comments.db``): threads by URI, comments with one level of nesting (a reply to
a reply is stored under the top-level comment, and kept so), raw Markdown text, HTML-escaped authors."""

from __future__ import annotations

import hashlib
import html
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rejoinder.importers.records import ImportedComment, ImportedThread, ImportFailed, Markup, Problem, Record
from rejoinder.model import Author, CommentStatus

SOURCE = "isso"
MODES = {1: CommentStatus.PUBLISHED, 2: CommentStatus.PENDING, 4: CommentStatus.DELETED}
QUERY = """
SELECT c.id, c.parent, c.created, c.modified, c.mode, c.remote_addr, c.text, c.author, c.email,
       c.website, c.likes, t.uri, t.title
FROM comments AS c JOIN threads AS t ON t.id = c.tid
ORDER BY c.id
"""


def parse(path: Path) -> Iterator[Record]:
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ImportFailed(f"cannot open {path} as an SQLite database: {exc}") from exc
    try:
        try:
            rows = db.execute(QUERY)
        except sqlite3.DatabaseError as exc:
            raise ImportFailed(f"not an Isso database: {exc}") from exc
        prefix = _instance(db)
        threads: dict[str, ImportedThread] = {}
        for row in rows:
            (
                comment_id,
                parent,
                created,
                modified,
                mode,
                remote_addr,
                text,
                author,
                email,
                website,
                likes,
                uri,
                title,
            ) = row
            where = f"comment {comment_id}"
            status = MODES.get(mode)
            if status is None:
                yield Problem(where, f"has an unknown mode {mode!r} (1, 2 and 4 are Isso's)")
                continue
            if not isinstance(created, int | float):
                yield Problem(where, f"has no readable creation time ({created!r})")
                continue
            thread = threads.get(uri)
            if thread is None:
                thread = threads[uri] = ImportedThread(url=uri or "", title=title or "")
            yield ImportedComment(
                source_id=f"{prefix}{comment_id}",
                thread=thread,
                parent_id=f"{prefix}{parent}" if parent is not None else None,
                # Isso stores these HTML-escaped (and the website with quotes escaped too): unescaped
                # once, they read as typed, and are escaped again where they are shown.
                author=Author(_unescaped(author), _unescaped(email), _unescaped(website)),
                body=text or "",
                markup=Markup.MARKDOWN,
                status=status,
                created_at=datetime.fromtimestamp(created, UTC),
                # Isso stamps ``modified`` on an author's edit (a moderator's leaves it NULL).
                edited_at=datetime.fromtimestamp(modified, UTC) if modified else None,
                likes=max(0, likes or 0),
                remote_addr=remote_addr or "",
            )
    finally:
        db.close()


def _instance(db: sqlite3.Connection) -> str:
    """Comment ids count from 1 in every Isso database; its random session key tells one database from
    another. Only a digest of it is kept: the key signed that server's cookies."""
    try:
        row = db.execute("SELECT value FROM preferences WHERE key = 'session-key'").fetchone()
    except sqlite3.DatabaseError:
        return ""
    return hashlib.sha256(str(row[0]).encode()).hexdigest()[:16] + "#" if row else ""


def _unescaped(value: str | None) -> str:
    return html.unescape(value).strip() if value else ""
