"""Rejoinder's own export (``rejoinder export --format json``): JSON lines, a header, then each site, its
threads and their comments in order, parents first. Importing it restores the site's comments exactly:
statuses, dates, likes (who liked, as keyed hashes), verdicts and origins. The HTML it carries is sanitised
again all the same: a file can be edited by hand."""

from __future__ import annotations

import json
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
    Verdict,
)
from rejoinder.model import Author, CommentKind, CommentStatus

SOURCE = "rejoinder"
FORMAT = "rejoinder-export"
VERSION = 1


def parse(path: Path) -> Iterator[Record]:
    site = ""
    thread: ImportedThread | None = None
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                if number == 1:
                    raise ImportFailed(f"not a Rejoinder export: line 1 is not JSON ({exc})") from exc
                yield Problem(f"line {number}", f"is not valid JSON ({exc})")
                continue
            if number == 1:
                if not isinstance(data, dict) or data.get("format") != FORMAT:
                    raise ImportFailed(f'not a Rejoinder export: line 1 has no "format": "{FORMAT}"')
                if data.get("version") != VERSION:
                    raise ImportFailed(
                        f"a Rejoinder export of version {data.get('version')}; this reads {VERSION}"
                    )
                continue
            try:
                if "site" in data:
                    if site:
                        raise ImportFailed(
                            f"the file holds more than one site ({site}, {data['site']['key']}): "
                            "export one site at a time with --site"
                        )
                    site = data["site"]["key"]
                elif "thread" in data:
                    thread = _thread(data["thread"])
                elif "comment" in data:
                    if thread is None:
                        yield Problem(f"line {number}", "a comment before any thread")
                        continue
                    yield _comment(data["comment"], site, thread, number)
                else:
                    yield Problem(f"line {number}", "is neither a site, a thread nor a comment")
            except (KeyError, TypeError, ValueError) as exc:
                yield Problem(f"line {number}", f"lacks or garbles a field ({exc!r})")


def _thread(data: dict[str, Any]) -> ImportedThread:
    return ImportedThread(
        url=data["url"],
        title=data.get("title") or "",
        closed=bool(data.get("closed")),
        created_at=_when(data.get("created_at")),
    )


def _comment(data: dict[str, Any], site: str, thread: ImportedThread, line: int) -> ImportedComment:
    author = data.get("author") or {}
    verdict = data.get("verdict")
    created = _when(data["created_at"])
    assert created is not None
    parent = data.get("parent_id")
    return ImportedComment(
        source_id=f"{site}/{data['id']}",
        thread=thread,
        parent_id=f"{site}/{parent}" if parent is not None else None,
        author=Author(author.get("name") or "", author.get("email") or "", author.get("website") or ""),
        body=data.get("body") or "",
        markup=Markup.MARKDOWN,
        status=CommentStatus(data["status"]),
        created_at=created,
        edited_at=_when(data.get("edited_at")),
        likes=int(data.get("likes") or 0),
        kind=CommentKind(data.get("kind") or CommentKind.COMMENT.value),
        remote_addr=data.get("remote_addr") or "",
        user_agent=data.get("user_agent") or "",
        html=data.get("html") or "",
        likers=tuple(data.get("likers") or ()),
        verdict=Verdict(
            action=verdict["action"],
            score=float(verdict["score"]),
            reasons=list(verdict.get("reasons") or []),
            fingerprint=verdict.get("fingerprint"),
            purge_after=_when(verdict.get("purge_after")),
        )
        if verdict
        else None,
        moderated_at=_when(data.get("moderated_at")),
        also_known_as=tuple((str(s), str(i)) for s, i in data.get("origins") or ()),
        line=line,
    )


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
