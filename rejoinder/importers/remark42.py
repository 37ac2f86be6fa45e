"""Remark42's backup (``remark42 backup``): gzip of JSON lines, site metadata first, then one comment a
line. ``orig`` is the Markdown the author typed, kept as the source and rendered again (``text``, Remark42's
rendering, is not trusted); ``score`` is all that is left of votes."""

from __future__ import annotations

import gzip
import json
import zlib
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
from rejoinder.model import Author, CommentStatus

SOURCE = "remark42"
KEEP_THREADS = 10_000  # pages whose thread is remembered, so that their comments share one


def parse(path: Path) -> Iterator[Record]:
    with path.open("rb") as head:
        opener = gzip.open if head.read(2) == b"\x1f\x8b" else open
    read_only: set[str] = set()
    threads: dict[str, ImportedThread] = {}
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except ValueError as exc:
                    if number == 1:
                        raise ImportFailed(f"not a Remark42 backup: line 1 is not JSON ({exc})") from exc
                    yield Problem(f"line {number}", f"is not valid JSON ({exc})")
                    continue
                if number == 1:
                    if not isinstance(data, dict) or "version" not in data:
                        raise ImportFailed('not a Remark42 backup: line 1 has no "version"')
                    read_only = {p.get("url", "") for p in data.get("posts") or [] if p.get("read_only")}
                    continue
                yield _comment(data, number, threads, read_only)
    except (OSError, EOFError, zlib.error) as exc:
        yield Problem("end of file", f"the backup cannot be read to its end ({exc})", True)


def _comment(data: Any, line: int, threads: dict[str, ImportedThread], read_only: set[str]) -> Record:
    where = f"line {line}"
    if not isinstance(data, dict) or not data.get("id"):
        return Problem(where, 'is not a comment (no "id")')
    where = f"line {line}, comment {data['id']}"
    url = (data.get("locator") or {}).get("url") or ""
    if not url:
        return Problem(where, "has no locator.url")
    try:
        created = utc(datetime.fromisoformat(str(data.get("time", "")).replace("Z", "+00:00")))
        edit = data.get("edit") or {}
        edited = (
            utc(datetime.fromisoformat(edit["time"].replace("Z", "+00:00"))) if edit.get("time") else None
        )
    except ValueError as exc:
        return Problem(where, f"has no readable time ({exc})")
    thread = threads.get(url)
    if thread is None:
        if len(threads) >= KEEP_THREADS:  # a cache, not a register: memory stays flat on long files
            threads.clear()
        thread = threads[url] = ImportedThread(
            url=url, title=data.get("title") or "", closed=url in read_only
        )
    user = data.get("user") or {}
    deleted = bool(data.get("delete"))
    orig = data.get("orig")
    body, markup = (orig, Markup.MARKDOWN) if orig is not None else (data.get("text") or "", Markup.HTML)
    return ImportedComment(
        source_id=str(data["id"]),
        thread=thread,
        parent_id=data.get("pid") or None,
        author=Author(str(user.get("name") or ""), "", ""),
        body="" if deleted else body,
        markup=markup,
        status=CommentStatus.DELETED if deleted else CommentStatus.PUBLISHED,
        created_at=created,
        edited_at=edited,
        likes=max(0, int(data.get("score") or 0)),
        line=line,
    )
