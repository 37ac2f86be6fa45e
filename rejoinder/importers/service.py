"""Importing a parsed export into a site: old URLs mapped to threads, every comment rendered and checked by
the rules posted ones meet, and written once, in small transactions.

An import reads its file twice. The first pass only counts: threads, statuses, problems. If there are
problems and the owner did not ask to skip them, nothing is written. The second pass writes, a batch at a
time, each batch in a transaction of its own so a running server keeps answering between them; each comment
keeps its origin (source, original id), so importing the file again writes nothing new, and an updated
export adds only what it adds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Connection

from rejoinder import audit
from rejoinder.antispam import Submission, teach_in
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.events import ThreadChanged
from rejoinder.importers import disqus, isso, rejoinder_json, remark42, wordpress
from rejoinder.importers.records import ImportedComment, ImportFailed, Markup, Problem, Record
from rejoinder.importers.survey import Survey
from rejoinder.model import Author, CommentKind, CommentStatus, Moderator, Site
from rejoinder.rendering import render, render_html, sanitise
from rejoinder.sites import require_site
from rejoinder.store import imports as store
from rejoinder.threads import thread_url

K = TypeVar("K")
V = TypeVar("V")

MAX_NAME = 100
MAX_EMAIL = 320
MAX_WEBSITE = 2048
MAX_TITLE = 500
MAX_ADDRESS = 45
# Comments per transaction: small enough that a server's own writes wait at most a few tens of
# milliseconds behind one, large enough that the commits' fsyncs do not dominate.
BATCH = 250
# The planner's statistics are refreshed (see store.imports) once this many comments are written, then
# each time their number doubles, and at least every STATISTICS_EVERY: a table the planner believes empty
# is scanned whole for every lookup, so the first refreshes come early.
FIRST_STATISTICS = 1_000
STATISTICS_EVERY = 20_000
# Written comments (by source id, to place replies) and threads (by URL) kept in memory (see _Recent).
WINDOW = 20_000
# Threads a report lists one by one, the largest first; its totals count every thread.
REPORT_THREADS = 1_000


@dataclass(frozen=True)
class Format:
    """One importable source: its name as an origin, and how to read a file of it."""

    source: str
    parse: Callable[[Path, bool], Iterator[Record]]
    tolerant: bool = False  # has a parser that reads past malformed parts


FORMATS: dict[str, Format] = {
    "wordpress": Format(wordpress.SOURCE, lambda path, _tolerant: wordpress.parse(path)),
    "disqus": Format(disqus.SOURCE, lambda path, tolerant: disqus.parse(path, tolerant=tolerant), True),
    "isso": Format(isso.SOURCE, lambda path, _tolerant: isso.parse(path)),
    "remark42": Format(remark42.SOURCE, lambda path, _tolerant: remark42.parse(path)),
    "rejoinder": Format(rejoinder_json.SOURCE, lambda path, _tolerant: rejoinder_json.parse(path)),
}


class UrlMap:
    """Old URL prefixes to new ones, the longest matching prefix winning (Disqus often lists one article
    under several hosts; Isso keeps only paths)."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None) -> None:
        self.pairs = sorted(pairs or [], key=lambda pair: len(pair[0]), reverse=True)
        # Every comment asks for its page's address, and a page has many comments.
        self._seen: dict[str, str] = {}

    @classmethod
    def read(cls, path: Path) -> UrlMap:
        """``OLD NEW`` per line, blank lines and ``#`` comments ignored."""
        pairs = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise InvalidInput(
                    f"{path}: line {number} is not 'OLD-PREFIX NEW-PREFIX'",
                    {"url_map": f"line {number} must hold two prefixes separated by spaces"},
                )
            pairs.append((parts[0], parts[1]))
        return cls(pairs)

    def apply(self, url: str) -> str:
        """The new, normalised address of ``url``; ``InvalidInput`` if it is not one a thread can have."""
        mapped = self._seen.get(url)
        if mapped is None:
            mapped = self._seen[url] = self._map(url)
            if len(self._seen) > 10_000:
                self._seen.clear()
        return mapped

    def _map(self, url: str) -> str:
        url = url.strip()
        for old, new in self.pairs:
            if url.startswith(old):
                url = new + url[len(old) :]
                break
        # Percent-escapes in one case, as browsers send them: exports mix %e7 and %E7 for one page.
        return thread_url(_PERCENT.sub(lambda m: m.group(0).upper(), url))


_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
# Control characters (Unicode category Cc) but tab and newline: what a posted comment's text loses too.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class ThreadReport:
    url: str
    title: str = ""
    statuses: Counter[str] = field(default_factory=Counter)
    new: int = 0


@dataclass
class ImportReport:
    """What an import found and did (or, on a dry run, would do)."""

    source: str
    site: str
    dry_run: bool
    threads: dict[str, ThreadReport] = field(default_factory=dict)  # the largest REPORT_THREADS, by URL
    thread_count: int = 0  # every thread of the file
    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    comments: int = 0  # good records in the file
    created: int = 0  # written now (on a dry run: that would be)
    existing: int = 0  # imported before
    skipped: list[Problem] = field(default_factory=list)
    orphans: int = 0  # replies whose parent is not in the file: kept as top-level comments
    lessons: int = 0
    max_depth: int = 0


@dataclass(frozen=True)
class ImportOptions:
    site: str
    url_map: UrlMap = field(default_factory=UrlMap)
    dry_run: bool = False
    skip_bad: bool = False
    teach: bool = False
    batch_size: int = BATCH
    progress: Callable[[int, int], None] | None = None  # (records done, records in all)
    actor: Moderator | str | None = None  # who the audit log names (None: whoever runs the command)


def import_file(ctx: Context, format_name: str, path: Path, options: ImportOptions) -> ImportReport:
    """Import ``path`` (a file of ``format_name``) into the site ``options.site``; see the module."""
    chosen = FORMATS.get(format_name)
    if chosen is None:
        raise InvalidInput(
            f"unknown format {format_name!r}", {"format": f"must be one of {', '.join(FORMATS)}"}
        )
    if options.batch_size < 1:
        raise InvalidInput("batch size below 1", {"batch_size": "must be at least 1"})
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file", {"file": "must be an export file"})
    with ctx.db.read() as conn:
        site = require_site(conn, options.site)
    report = ImportReport(chosen.source, site.key, options.dry_run)
    found = _survey(ctx, chosen, path, site, options, report)
    if report.skipped and not options.skip_bad:
        raise ImportFailed(
            f"{path.name}: {len(report.skipped)} problem(s), nothing was imported "
            "(--skip-bad imports everything else)",
            report.skipped,
        )
    if options.dry_run:
        return report
    _Writer(ctx, chosen.source, site, options, report, found.orphan_parents, found.records).run(
        _good(chosen.parse(path, found.tolerant), options.url_map, found.duplicated)
    )
    with ctx.db.write() as conn:
        after = {
            "source": chosen.source,
            "file": path.name,
            "created": report.created,
            "existing": report.existing,
        }
        actor = options.actor if options.actor is not None else audit.cli_actor()
        audit.record(conn, actor, "import", site_id=site.id, after=after)
    return report


def _good(
    records: Iterator[Record], url_map: UrlMap, duplicated: set[str]
) -> Iterator[tuple[ImportedComment, str]]:
    """The readable comments with their mapped thread URL, each source id once (the survey reported the
    others, and named the ids the file lists twice)."""
    seen: set[str] = set()
    for record in records:
        if isinstance(record, Problem):
            continue
        if record.source_id in duplicated:
            if record.source_id in seen:
                continue
            seen.add(record.source_id)
        try:
            url = url_map.apply(record.thread.url)
        except InvalidInput:
            continue
        yield record, url


@dataclass
class _Found:
    """What the first pass hands the second: the ids to write once, the parents not in the file."""

    records: int
    duplicated: set[str]
    orphan_parents: set[str]
    tolerant: bool


def _survey(
    ctx: Context, chosen: Format, path: Path, site: Site, options: ImportOptions, report: ImportReport
) -> _Found:
    """The first pass: count, find problems, and tell what was imported before."""
    tolerant = False
    survey = Survey()
    try:
        problems, duplicated = _count(chosen.parse(path, False), options.url_map, report, survey)
        if any(p.fatal for p in problems) and options.skip_bad and chosen.tolerant:
            # The strict reading stopped at a malformed spot: read element by element instead.
            tolerant = True
            report.statuses.clear()
            report.kinds.clear()
            survey.close()
            survey = Survey()
            problems, duplicated = _count(chosen.parse(path, True), options.url_map, report, survey)
        report.skipped = problems
        report.comments = survey.count
        report.orphans = survey.orphans()
        report.max_depth = survey.max_depth()
        orphan_parents = survey.orphan_parents()
        with ctx.db.write() as conn:
            store.refresh_statistics(conn)
            for chunk in survey.chunks(500):
                existing = store.find_origins(
                    conn, site.id, chosen.source, [source_id for source_id, _ in chunk]
                )
                report.existing += len(existing)
                survey.mark_existing(list(existing))
        report.thread_count = survey.thread_count()
        for url, title, status, count, new in survey.largest_threads(REPORT_THREADS):
            thread = report.threads.get(url)
            if thread is None:
                thread = report.threads[url] = ThreadReport(url, title)
            thread.statuses[status] = count
            thread.new += new
    finally:
        survey.close()
    report.created = report.comments - report.existing
    return _Found(report.comments + len(problems), duplicated, orphan_parents, tolerant)


def _count(
    records: Iterator[Record], url_map: UrlMap, report: ImportReport, survey: Survey
) -> tuple[list[Problem], set[str]]:
    """Note every readable comment in ``survey`` and count it in ``report``; the problems found, and the
    ids the file lists more than once."""
    problems: list[Problem] = []
    duplicated: set[str] = set()
    for record in records:
        if isinstance(record, Problem):
            problems.append(record)
            continue
        where = (f"line {record.line}, " if record.line else "") + f"comment {record.source_id}"
        try:
            url = url_map.apply(record.thread.url)
        except InvalidInput as exc:
            problems.append(Problem(where, f"its page address {record.thread.url!r} {exc.message}"))
            continue
        if not survey.add(record.source_id, record.parent_id, url, record.status.value, record.thread.title):
            duplicated.add(record.source_id)
            problems.append(Problem(where, "appears twice in the file (the second is skipped)"))
            continue
        report.statuses[record.status.value] += 1
        report.kinds[record.kind.value] += 1
    return problems, duplicated


class _Recent(Generic[K, V]):
    """The entries written most recently, at most ``size`` of them once trimmed: memory stays flat however
    long the file. Trimmed only between batches, so what a batch looked up when it started is still here
    when the batch uses it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def trim(self) -> None:
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _ThreadRef:
    id: int
    url: str


@dataclass
class _Prepared:
    """A comment made ready outside the transaction: cleaned, rendered."""

    record: ImportedComment
    url: str
    author: Author
    body: str
    html: str


class _Writer:
    """The second pass: batches written in transactions of their own, replies held back until their
    parent is written (a source need not list parents first)."""

    def __init__(
        self,
        ctx: Context,
        source: str,
        site: Site,
        options: ImportOptions,
        report: ImportReport,
        orphan_parents: set[str],
        total: int,
    ) -> None:
        self.ctx = ctx
        self.source = source
        self.site = site
        self.options = options
        self.report = report
        self.orphan_parents = orphan_parents
        self.total = total
        self.done = 0
        self.statistics_at = FIRST_STATISTICS
        # source id -> (comment id, root id) of the comments written last: replies mostly follow their
        # parents closely; an older parent is found through its origin in the store.
        self.written: _Recent[str, tuple[int, int | None]] = _Recent(WINDOW)
        self.waiting: dict[str, list[_Prepared]] = {}  # parent's source id -> replies held back
        self.threads: _Recent[str, _ThreadRef] = _Recent(WINDOW)  # url -> thread; others asked of the store

    def run(self, records: Iterator[tuple[ImportedComment, str]]) -> None:
        batch: list[_Prepared] = []
        for record, url in records:
            batch.append(_prepare(record, url))
            if len(batch) >= self.options.batch_size:
                self._write(batch)
                batch = []
        self._write(batch)
        if self.waiting:  # a loop of parents (a → b → a): nothing else can place them
            stranded = [item for items in self.waiting.values() for item in items]
            self.waiting.clear()
            self._write(stranded, top_level=True)

    def _write(self, batch: list[_Prepared], top_level: bool = False) -> None:
        if not batch:
            return
        lessons: list[tuple[int, _Prepared]] = []
        touched: set[str] = set()
        counts: Counter[int] = Counter()
        with self.ctx.db.write() as conn:
            known = store.find_origins(
                conn,
                self.site.id,
                self.source,
                [p.record.source_id for p in batch]
                + [
                    p.record.parent_id
                    for p in batch
                    if p.record.parent_id and p.record.parent_id not in self.written
                ],
            )
            # In waves: every comment whose parent is written goes in one statement, then the replies
            # that were waiting for those, and so on down the batch's depth.
            wave = batch
            while wave:
                ready: list[tuple[_Prepared, tuple[int, int | None] | None]] = []
                released: list[_Prepared] = []
                for item in wave:
                    record = item.record
                    found = known.get(record.source_id)
                    if found is not None:
                        self.written[record.source_id] = found
                        released += self.waiting.pop(record.source_id, [])
                        continue
                    parent = None
                    if record.parent_id and record.parent_id not in self.orphan_parents and not top_level:
                        parent = self.written.get(record.parent_id) or known.get(record.parent_id)
                        if parent is None:
                            self.waiting.setdefault(record.parent_id, []).append(item)
                            continue
                    ready.append((item, parent))
                for (item, parent), (comment_id, thread) in zip(
                    ready, self._insert(conn, ready), strict=True
                ):
                    record = item.record
                    root = None if parent is None else (parent[1] or parent[0])
                    self.written[record.source_id] = (comment_id, root)
                    if record.kind is CommentKind.COMMENT:
                        if record.status is CommentStatus.PUBLISHED:
                            counts[thread.id] += 1
                        if record.status in (CommentStatus.PUBLISHED, CommentStatus.SPAM):
                            lessons.append((comment_id, item))
                    touched.add(thread.url)
                    released += self.waiting.pop(record.source_id, [])
                wave = released
            store.add_to_comment_counts(conn, counts)
            self.ctx.events.record_many(conn, [ThreadChanged(self.site.key, url) for url in sorted(touched)])
        self.written.trim()
        self.threads.trim()
        self.done += len(batch)
        if self.done >= self.statistics_at:
            with self.ctx.db.write() as conn:
                store.refresh_statistics(conn)
            self.statistics_at = min(2 * self.statistics_at, self.statistics_at + STATISTICS_EVERY)
        if self.options.teach and lessons:
            self._teach(lessons)
        if self.options.progress is not None:
            self.options.progress(min(self.done, self.total), self.total)

    def _threads_of(self, conn: Connection, items: list[_Prepared]) -> list[_ThreadRef]:
        """Each item's thread, the new ones created together."""
        wanted: dict[str, tuple[str, datetime, bool]] = {}
        for item in items:
            if item.url not in self.threads and item.url not in wanted:
                record = item.record
                created = record.thread.created_at or record.created_at
                wanted[item.url] = (_text(record.thread.title, MAX_TITLE), created, record.thread.closed)
        if wanted:
            for url, thread_id in store.ensure_threads(conn, self.site.id, wanted).items():
                self.threads[url] = _ThreadRef(thread_id, url)
        return [self.threads[item.url] for item in items]

    def _insert(
        self, conn: Connection, ready: list[tuple[_Prepared, tuple[int, int | None] | None]]
    ) -> list[tuple[int, _ThreadRef]]:
        """Insert the comments in one statement, then their origins and likes in one each."""
        if not ready:
            return []
        threads = self._threads_of(conn, [item for item, _ in ready])
        rows = []
        all_likers = []
        for (item, parent), thread in zip(ready, threads, strict=True):
            record = item.record
            verdict = record.verdict
            likers = (
                list(record.likers)
                if record.likers is not None
                else [_imported_liker(self.source, record.source_id, n) for n in range(record.likes)]
            )
            all_likers.append(likers)
            rows.append(
                {
                    "thread_id": thread.id,
                    "parent_id": parent[0] if parent else None,
                    "root_id": (parent[1] or parent[0]) if parent else None,
                    "author_name": item.author.name,
                    "author_email": item.author.email,
                    "author_website": item.author.website,
                    "body": item.body,
                    "html": item.html,
                    "status": record.status.value,
                    "created_at": record.created_at,
                    "edited_at": record.edited_at,
                    "remote_addr": _text(record.remote_addr, MAX_ADDRESS),
                    "user_agent": _text(record.user_agent, 500),
                    "like_count": len(likers),
                    "version": 1,
                    "kind": record.kind.value,
                    "moderated_at": record.moderated_at,
                    "spam_action": verdict.action if verdict else None,
                    "spam_score": verdict.score if verdict else None,
                    "spam_reasons": verdict.reasons if verdict else None,
                    "fingerprint": verdict.fingerprint if verdict else None,
                    "purge_after": verdict.purge_after if verdict else None,
                }
            )
        ids = store.insert_comments(conn, rows)
        origins = []
        likes = []
        for (item, _), comment_id, likers in zip(ready, ids, all_likers, strict=True):
            record = item.record
            for source, original in [(self.source, record.source_id), *record.also_known_as]:
                origins.append(
                    {
                        "site_id": self.site.id,
                        "source": source,
                        "original_id": original,
                        "comment_id": comment_id,
                    }
                )
            likes += [
                {"comment_id": comment_id, "liker_key": key, "created_at": record.created_at}
                for key in likers
            ]
        store.add_origins(conn, origins)
        store.add_likes(conn, likes)
        return list(zip(ids, threads, strict=True))

    def _teach(self, lessons: list[tuple[int, _Prepared]]) -> None:
        """The imported decisions as lessons, one per comment (taught again, a lesson changes nothing)."""
        with self.ctx.db.write() as conn:
            for comment_id, item in lessons:
                sub = Submission(
                    item.body, item.author, item.record.remote_addr, item.record.user_agent, item.url
                )
                is_spam = item.record.status is CommentStatus.SPAM
                # Weak lessons: an export says what its old site decided, not what this site's moderators
                # would; they count a fraction of a decision, as comments that stood unreported do.
                if teach_in(self.ctx, conn, self.site, f"comment:{comment_id}", sub, is_spam, weak=True):
                    self.report.lessons += 1


def _prepare(record: ImportedComment, url: str) -> _Prepared:
    """Cleaned and rendered by the rules a posted comment meets; source markup is never trusted."""
    body = unicodedata.normalize("NFC", record.body.replace("\r\n", "\n"))
    body = _CONTROL.sub("", body).strip()
    if record.html is not None:
        html = sanitise(record.html)
    elif record.markup is Markup.MARKDOWN:
        html = render(body) if body else ""
    else:
        html = render_html(body) if body else ""
    website = _text(record.author.website, MAX_WEBSITE)
    if website and not _is_web_address(website):
        website = ""  # a javascript: or malformed link is no link at all
    author = Author(_text(record.author.name, MAX_NAME), _text(record.author.email, MAX_EMAIL), website)
    return _Prepared(record, url, author, body, html)


def _text(value: str, limit: int) -> str:
    return _CONTROL.sub("", " ".join(unicodedata.normalize("NFC", value).split()))[:limit]


def _is_web_address(website: str) -> bool:
    try:
        parts = urlsplit(website)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and " " not in website


def _imported_liker(source: str, source_id: str, n: int) -> str:
    """A stand-in liker for a like counted by the source without saying who: one row per like keeps
    ``like_count`` equal to the likes stored, and no reader's key can ever be this."""
    return "import:" + hashlib.sha256(f"{source}\0{source_id}\0{n}".encode()).hexdigest()[:56]
