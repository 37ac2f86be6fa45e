"""Imports started from the dashboard: the uploaded export kept in ``import_upload_dir`` only until its
import ends, checked by a dry run and, once its owner confirms the report, imported, each step a job.

Each upload is a directory of its own named by an unguessable token: the file, and ``state.json`` that
the jobs write (status, progress, the report) and the dashboard reads. A file on disk rather than a row:
the parsers stream from a path, and a large export never passes through the database twice.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from rejoinder.context import Context
from rejoinder.errors import InvalidInput, NotFound, PayloadTooLarge
from rejoinder.importers.records import ImportFailed
from rejoinder.importers.service import FORMATS, ImportOptions, ImportReport, UrlMap, import_file
from rejoinder.jobs import enqueue
from rejoinder.model import Job, Moderator, Role
from rejoinder.permissions import require_role

log = logging.getLogger(__name__)

IMPORT_JOB = "import.file"
AUTO = "auto"  # the format read from the file itself
EXPIRE_AFTER = timedelta(days=1)  # an upload never confirmed (or a finished one's state) is then removed
LEASE = timedelta(hours=2)  # longer than the largest import takes
SHOWN = 200  # threads and problems a report keeps for the page; the counts stay whole
PROGRESS_EVERY = 0.5  # seconds between two writes of the progress
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_FILES = "file"  # the uploaded file, under its own (cleaned) name: messages name it as its owner does
_STATE = "state.json"


class UploadStatus(StrEnum):
    CHECKING = "checking"  # the dry run is queued or running
    REVIEW = "review"  # the report is ready; waiting for the owner to confirm
    IMPORTING = "importing"  # confirmed: the import is queued or running
    DONE = "done"
    FAILED = "failed"  # the check or the import stopped; nothing or part (see report) was written


@dataclass
class Upload:
    """One dashboard import, as its ``state.json`` keeps it."""

    token: str
    site: str
    format: str
    filename: str
    size: int
    actor: str
    teach: bool = False
    skip_bad: bool = False
    url_map: list[tuple[str, str]] = field(default_factory=list)
    status: UploadStatus = UploadStatus.CHECKING
    done: int = 0
    total: int = 0
    report: dict[str, Any] | None = None  # the dry run's, then the import's
    error: str = ""
    problems: list[str] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""

    @property
    def finished(self) -> bool:
        return self.status in (UploadStatus.DONE, UploadStatus.FAILED)


def detect(path: Path) -> str | None:
    """The format of an export read from its first bytes, or None if it is none of them."""
    with path.open("rb") as source:
        head = source.read(65_536)
    if head.startswith(b"SQLite format 3\x00"):
        return "isso"
    if head[:2] == b"\x1f\x8b":
        return "remark42"  # the only format exported gzipped
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        return "rejoinder" if re.search(rb'"format"\s*:\s*"rejoinder-export"', first) else "remark42"
    if text.startswith(b"<"):
        if re.search(rb"<rss[\s>]", text):
            return "wordpress"
        if re.search(rb"<disqus[\s>]", text):
            return "disqus"
    return None


def read_url_map(text: str) -> list[tuple[str, str]]:
    """``OLD NEW`` per line, as ``--url-map`` reads its file; ``InvalidInput`` naming ``url_map``."""
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise InvalidInput(
                f"the URL map's line {number} is not 'OLD-PREFIX NEW-PREFIX'",
                {"url_map": f"line {number} must hold two prefixes separated by spaces"},
            )
        pairs.append((parts[0], parts[1]))
    return pairs


def start(
    ctx: Context,
    user: Moderator,
    site_key: str,
    upload: IO[bytes],
    filename: str,
    *,
    format_name: str = AUTO,
    url_map: str = "",
    teach: bool = False,
    skip_bad: bool = False,
) -> Upload:
    """Keep ``upload`` for an import into ``site_key`` (an admin's only) and queue its dry run."""
    require_role(user, site_key, Role.ADMIN)
    if format_name != AUTO and format_name not in FORMATS:
        raise InvalidInput(
            f"unknown format {format_name!r}", {"format": f"must be {AUTO} or one of {', '.join(FORMATS)}"}
        )
    pairs = read_url_map(url_map)
    root = _root(ctx)
    sweep(root)
    token = secrets.token_urlsafe(24)
    directory = root / token
    filename = Path(filename or "export").name[:200] or "export"
    path = _file(directory, filename)
    path.parent.mkdir(parents=True)
    try:
        size = _copy_bounded(upload, path, ctx.settings.import_max_bytes)
        if size == 0:
            raise InvalidInput("the file is empty", {"file": "must be an export file, not an empty one"})
        if format_name == AUTO:
            found = detect(path)
            if found is None:
                raise InvalidInput(
                    "the file's format was not recognised",
                    {"format": f"could not be told from the file: choose one of {', '.join(FORMATS)}"},
                )
            format_name = found
        now = _now()
        state = Upload(
            token=token,
            site=site_key,
            format=format_name,
            filename=filename,
            size=size,
            actor=user.actor,
            teach=teach,
            skip_bad=skip_bad,
            url_map=pairs,
            created_at=now,
            updated_at=now,
        )
        _save(directory, state)
        with ctx.db.write() as conn:
            enqueue(conn, IMPORT_JOB, {"token": token, "dry_run": True}, max_attempts=1, dedupe_key=token)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return state


def get(ctx: Context, user: Moderator, token: str) -> Upload:
    """The upload ``token`` if ``user`` is an admin of its site; NotFound otherwise (whether or not it
    exists: a token of another site's says nothing)."""
    directory = _directory(ctx, token)
    state = _load(directory) if directory is not None else None
    if state is None or not user.may(state.site, Role.ADMIN):
        raise NotFound("no such import of yours", {"token": "is not an import of a site you are admin of"})
    return state


def confirm(ctx: Context, user: Moderator, token: str) -> Upload:
    """Queue the import the owner has seen the report of."""
    state = get(ctx, user, token)
    if state.status is not UploadStatus.REVIEW:
        raise InvalidInput(
            f"this import is {state.status.value}, not waiting for confirmation",
            {"token": "must be an import whose report is shown and not yet confirmed"},
        )
    directory = _root(ctx) / token
    state.status = UploadStatus.IMPORTING
    state.done, state.total = 0, 0
    _save(directory, state)
    with ctx.db.write() as conn:
        # Keyed by the upload: a confirmation sent twice (a double click) queues one import.
        enqueue(conn, IMPORT_JOB, {"token": token, "dry_run": False}, max_attempts=1, dedupe_key=token)
    return state


def cancel(ctx: Context, user: Moderator, token: str) -> Upload:
    """Forget an upload not being imported: its file and state are removed."""
    state = get(ctx, user, token)
    if state.status in (UploadStatus.CHECKING, UploadStatus.IMPORTING):
        raise InvalidInput(
            f"this import is {state.status.value}", {"token": "cannot be cancelled while its job runs"}
        )
    shutil.rmtree(_root(ctx) / token, ignore_errors=True)
    return state


def run(ctx: Context, job: Job) -> None:
    """The job: the dry run, or the import itself (after which the file is removed)."""
    token = str(job.payload.get("token", ""))
    directory = _directory(ctx, token)
    state = _load(directory) if directory is not None else None
    if directory is None or state is None:
        log.warning("import job %d: upload %r is gone (cancelled or expired)", job.id, token)
        return
    dry_run = bool(job.payload.get("dry_run"))
    progress = _Progress(directory, state)
    options = ImportOptions(
        site=state.site,
        url_map=UrlMap(state.url_map),
        dry_run=dry_run,
        skip_bad=state.skip_bad,
        teach=state.teach,
        progress=None if dry_run else progress,
        actor=f"{state.actor} (dashboard)" if state.actor else None,
    )
    try:
        report = import_file(ctx, state.format, _file(directory, state.filename), options)
    except ImportFailed as exc:
        _finish(directory, state, UploadStatus.FAILED, exc.message, [str(p) for p in exc.problems[:SHOWN]])
        return
    except InvalidInput as exc:
        rules = [f"{name}: {rule}" for name, rule in exc.fields.items()]
        _finish(directory, state, UploadStatus.FAILED, exc.message, rules)
        return
    except Exception as exc:
        _finish(directory, state, UploadStatus.FAILED, f"the import stopped: {exc}", [])
        raise
    state.report = summary(report)
    if dry_run:
        state.status = UploadStatus.REVIEW
        state.total = report.comments
        _save(directory, state)
    else:
        state.done = state.total = report.comments
        _finish(directory, state, UploadStatus.DONE, "", [])


def summary(report: ImportReport) -> dict[str, Any]:
    """The report as the page shows it: every count, the largest threads and the first problems."""
    threads = sorted(report.threads.values(), key=lambda t: (-sum(t.statuses.values()), t.url))
    return {
        "dry_run": report.dry_run,
        "source": report.source,
        "comments": report.comments,
        "threads": report.thread_count,
        "statuses": dict(sorted(report.statuses.items())),
        "kinds": dict(sorted(report.kinds.items())),
        "created": report.created,
        "existing": report.existing,
        "orphans": report.orphans,
        "max_depth": report.max_depth,
        "lessons": report.lessons,
        "skipped": len(report.skipped),
        "problems": [str(p) for p in report.skipped[:SHOWN]],
        "thread_rows": [
            {
                "url": t.url,
                "title": t.title,
                "new": t.new,
                "total": sum(t.statuses.values()),
                "statuses": dict(sorted(t.statuses.items())),
            }
            for t in threads[:SHOWN]
        ],
    }


def register_jobs(ctx: Context) -> None:
    ctx.jobs.handler(IMPORT_JOB, lambda job: run(ctx, job), lease=LEASE)


def sweep(root: Path, now: float | None = None) -> int:
    """Remove uploads untouched for ``EXPIRE_AFTER`` (never confirmed, or long finished); how many."""
    if not root.is_dir():
        return 0
    limit = (now or time.time()) - EXPIRE_AFTER.total_seconds()
    removed = 0
    for directory in root.iterdir():
        state = directory / _STATE
        try:
            touched = (state if state.exists() else directory).stat().st_mtime
        except OSError:
            continue
        if touched < limit:
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed


class _Progress:
    """The import's progress written to its state, at most every ``PROGRESS_EVERY`` seconds."""

    def __init__(self, directory: Path, state: Upload) -> None:
        self.directory = directory
        self.state = state
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done < total:
            return
        self.last = now
        self.state.done, self.state.total = done, total
        _save(self.directory, self.state)


def _finish(directory: Path, state: Upload, status: UploadStatus, error: str, problems: list[str]) -> None:
    """The end of an upload's life: its file goes, its state stays for the page (until swept)."""
    state.status, state.error, state.problems = status, error, problems
    shutil.rmtree(directory / _FILES, ignore_errors=True)
    _save(directory, state)


def _file(directory: Path, filename: str) -> Path:
    return directory / _FILES / (re.sub(r"[^\w.-]+", "_", filename).lstrip(".") or "export")


def _root(ctx: Context) -> Path:
    return Path(ctx.settings.import_upload_dir)


def _directory(ctx: Context, token: str) -> Path | None:
    if not TOKEN.match(token):
        return None
    directory = _root(ctx) / token
    return directory if directory.is_dir() else None


def _copy_bounded(source: IO[bytes], target: Path, limit: int) -> int:
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge("the file is too large", {"file": f"must be at most {limit:,} bytes"})
            out.write(chunk)
    return size


def _save(directory: Path, state: Upload) -> None:
    """Written whole and renamed into place: a reader never sees half a state."""
    state.updated_at = _now()
    partial = directory / f".{_STATE}.{os.getpid()}"
    partial.write_text(json.dumps(asdict(state), ensure_ascii=False), encoding="utf-8")
    partial.replace(directory / _STATE)


def _load(directory: Path) -> Upload | None:
    try:
        data = json.loads((directory / _STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    data["status"] = UploadStatus(data["status"])
    data["url_map"] = [tuple(pair) for pair in data.get("url_map") or []]
    return Upload(**data)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
