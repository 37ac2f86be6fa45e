"""What every parser yields: comments as plain dataclasses, with the thread they belong to, and the
problems met on the way (a malformed element, a post whose thread is not in the file)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from rejoinder.errors import InvalidInput
from rejoinder.model import Author, CommentKind, CommentStatus


class ImportFailed(InvalidInput):
    """The file cannot be imported as a whole: wrong format, or problems and no ``--skip-bad``. Nothing was
    written."""

    code = "import_failed"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        fields = {p.where: p.what for p in self.problems[:20]} or {"file": message}
        super().__init__(message, fields)


class Markup(StrEnum):
    MARKDOWN = "markdown"  # rendered like a posted comment
    HTML = "html"  # sanitised to the same allow-list


@dataclass(frozen=True, slots=True)
class ImportedThread:
    url: str
    title: str = ""
    closed: bool = False
    created_at: datetime | None = None  # None: the date of its first imported comment


@dataclass(frozen=True, slots=True)
class Verdict:
    """The spam filter's verdict as a Rejoinder export keeps it."""

    action: str
    score: float
    reasons: list[str]
    fingerprint: int | None = None
    purge_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImportedComment:
    source_id: str  # the comment's id in the source system, kept as its origin
    thread: ImportedThread
    parent_id: str | None  # the parent's source id
    author: Author
    body: str  # the source text, kept as the comment's source
    markup: Markup
    status: CommentStatus
    created_at: datetime
    edited_at: datetime | None = None
    likes: int = 0
    kind: CommentKind = CommentKind.COMMENT
    remote_addr: str = ""
    user_agent: str = ""
    # A Rejoinder export carries its rendered HTML (sanitised again all the same), who liked it and
    # what the filter and the moderators said; other sources leave these empty.
    html: str | None = None
    likers: tuple[str, ...] | None = None
    verdict: Verdict | None = None
    moderated_at: datetime | None = None
    also_known_as: tuple[tuple[str, str], ...] = ()  # (source, id) of other origins, for a restore
    line: int | None = None  # where it starts in the file, for messages


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a parser could not take: ``where`` names the line or element, ``what`` the trouble."""

    where: str
    what: str
    fatal: bool = False  # nothing after it can be read

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


Record = ImportedComment | Problem


def utc(value: datetime) -> datetime:
    """Naive times from a source are UTC (their exports say so, or say nothing better)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
