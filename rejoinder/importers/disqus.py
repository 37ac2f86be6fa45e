"""Disqus XML exports: ``<thread>`` elements (URL, title) first, then every ``<post>``, pointing to its
thread and parent by ``dsq:id``.

Real exports are not always well-formed (Remark42's fixtures, cut from a real one, start with a stray
character and carry an unquoted attribute). Strictly parsed, such a file fails at its first bad byte;
``tolerant`` parsing reads each ``<thread>`` and ``<post>`` on its own, so only the broken ones are lost,
each reported with its line.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
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
from rejoinder.importers.xml import Events, attribute, child, local, text_of
from rejoinder.model import Author, CommentStatus

SOURCE = "disqus"
WRAPPER = '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">{}</disqus>'
CHUNK_START = re.compile(rb"^\s*<(thread|post)[\s>/]")
DSQ_ID = re.compile(rb'dsq:id\s*=\s*"?([^"\s/>]+)')


@dataclass(frozen=True)
class _Thread:
    thread: ImportedThread | None  # None: no link, so no page to put its posts on
    deleted: bool


def parse(path: Path, *, tolerant: bool = False) -> Iterator[Record]:
    elements = _tolerant_elements(path) if tolerant else _strict_elements(path)
    with _Threads() as threads:
        for item in elements:
            if isinstance(item, Problem):
                yield item
                continue
            line, element = item
            if local(element.tag) == "thread":
                key = attribute(element, "id")
                if key is not None:
                    threads.add(key, _thread(element))
            else:
                yield _post(element, threads, line)


class _Threads:
    """The file's threads by ``dsq:id``, in a private temporary SQLite database (on disk, removed when it
    is closed) rather than in memory: an export lists every thread before any post, and a large site's
    threads are many."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(
            "CREATE TABLE threads (key TEXT PRIMARY KEY, url TEXT, title TEXT, closed INTEGER, "
            "created TEXT, deleted INTEGER) WITHOUT ROWID"
        )
        self._db.execute("BEGIN")
        self._last: tuple[str, _Thread | None] = ("", None)

    def add(self, key: str, thread: _Thread) -> None:
        found = thread.thread
        self._db.execute(
            "INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?, ?, ?)",
            (
                key,
                found.url if found else None,
                found.title if found else "",
                found.closed if found else False,
                found.created_at.isoformat() if found and found.created_at else None,
                thread.deleted,
            ),
        )
        self._last = ("", None)

    def get(self, key: str) -> _Thread | None:
        if key == self._last[0]:  # a thread's posts mostly come together
            return self._last[1]
        row = self._db.execute(
            "SELECT url, title, closed, created, deleted FROM threads WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        url, title, closed, created, deleted = row
        thread = _Thread(
            ImportedThread(url, title, bool(closed), datetime.fromisoformat(created) if created else None)
            if url is not None
            else None,
            bool(deleted),
        )
        self._last = (key, thread)
        return thread

    def __enter__(self) -> _Threads:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._db.close()


def _strict_elements(path: Path) -> Iterator[tuple[int | None, ET.Element] | Problem]:
    with path.open("rb") as source:
        events = Events(source)
        depth = 0
        root: Any = None
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    if local(element.tag) != "disqus":
                        raise ImportFailed(
                            f"not a Disqus export: the document is <{local(element.tag)}>, "
                            "Disqus exports are <disqus>"
                        )
                    root = element
                continue
            depth -= 1
            if depth == 1 and local(element.tag) in ("thread", "post"):
                yield None, element
                root.clear()  # the yielded element is done with: memory stays flat
        if events.problem is not None:
            yield events.problem


def _tolerant_elements(path: Path) -> Iterator[tuple[int | None, ET.Element] | Problem]:
    """Each top-level ``<thread>`` or ``<post>``, cut out line by line and parsed on its own."""
    chunk: list[bytes] = []
    kind = b""
    start = 0
    saw_disqus = False
    with path.open("rb") as source:
        for number, line in enumerate(source, 1):
            if not saw_disqus and b"<disqus" in line:
                saw_disqus = True
            if not chunk:
                match = CHUNK_START.match(line)
                if match is None:
                    continue
                kind, start = match.group(1), number
            chunk.append(line)
            stripped = line.rstrip()
            if b"</" + kind + b">" in line or (len(chunk) == 1 and stripped.endswith(b"/>")):
                yield _chunk(kind, start, b"".join(chunk))
                chunk = []
    if chunk:
        yield Problem(f"line {start}", f"<{kind.decode()}> is cut off at the end of the file")
    if not saw_disqus:
        raise ImportFailed("not a Disqus export: there is no <disqus> element in it")


def _chunk(kind: bytes, start: int, data: bytes) -> tuple[int | None, ET.Element] | Problem:
    try:
        text = data.decode("utf-8")
        return start, ET.fromstring(WRAPPER.format(text))[0]
    except (ET.ParseError, UnicodeDecodeError) as exc:
        found = DSQ_ID.search(data)
        name = f"<{kind.decode()}>" + (f" dsq:id={found.group(1).decode(errors='replace')}" if found else "")
        reason = str(exc).split(":")[0]
        return Problem(f"line {start}, {name}", f"is not well-formed XML: {reason}")


def _thread(element: ET.Element) -> _Thread:
    link = text_of(element, "link").strip()
    deleted = _flag(text_of(element, "isDeleted")) is True
    if not link:
        return _Thread(None, deleted)
    created = text_of(element, "createdAt").strip()
    return _Thread(
        ImportedThread(
            url=link,
            title=text_of(element, "title").strip(),
            closed=_flag(text_of(element, "isClosed")) is True,
            created_at=_date(created) if created else None,
        ),
        deleted,
    )


def _post(element: ET.Element, threads: _Threads, line: int | None) -> Record:
    post_id = attribute(element, "id")
    where = (f"line {line}, " if line else "") + f"<post> dsq:id={post_id or '(none)'}"
    if not post_id:
        return Problem(where, "has no dsq:id attribute")
    thread_ref = child(element, "thread")
    thread_id = attribute(thread_ref, "id") if thread_ref is not None else None
    known = threads.get(thread_id or "")
    if known is None:
        return Problem(where, f"belongs to thread {thread_id}, which is not in the file")
    if known.thread is None:
        return Problem(where, f"belongs to thread {thread_id}, which has no <link>")
    flags: dict[str, bool | None] = {}
    for name in ("isDeleted", "isSpam", "isApproved"):
        if child(element, name) is None:
            flags[name] = None
            continue
        flags[name] = _flag(text_of(element, name))
        if flags[name] is None:
            return Problem(where, f"has <{name}> {text_of(element, name)!r}, neither true nor false")
    try:
        created = _date(text_of(element, "createdAt"))
    except ValueError as exc:
        return Problem(where, f"has no readable <createdAt> ({exc})")
    if flags["isDeleted"] or known.deleted:
        status = CommentStatus.DELETED
    elif flags["isSpam"]:
        status = CommentStatus.SPAM
    elif flags["isApproved"] is False:
        status = CommentStatus.PENDING
    else:
        status = CommentStatus.PUBLISHED
    parent = child(element, "parent")
    author = child(element, "author")
    name = email = ""
    if author is not None:
        name = text_of(author, "name").strip() or text_of(author, "username").strip()
        email = text_of(author, "email").strip()
    return ImportedComment(
        source_id=post_id,
        thread=known.thread,
        parent_id=attribute(parent, "id") if parent is not None else None,
        author=Author(name, email, ""),
        body=text_of(element, "message").strip(),
        markup=Markup.HTML,
        status=status,
        created_at=created,
        remote_addr=text_of(element, "ipAddress").strip(),
        line=line,
    )


def _flag(value: str) -> bool | None:
    return {"true": True, "false": False, "": False}.get(value.strip().lower())


def _date(value: str) -> datetime:
    return utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
