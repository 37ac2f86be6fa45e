"""``rejoinder import wordpress|disqus|isso|remark42|rejoinder FILE`` and ``rejoinder export``: bring a
site's old comments in, and take everything out again."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rejoinder.cli.options import opened, store_options

if TYPE_CHECKING:  # the parsers are built on every run: the services are imported only by the commands
    from rejoinder.importers.service import ImportReport

SOURCES = {
    "wordpress": "a WordPress export (WXR, Tools › Export › All content)",
    "disqus": "a Disqus export (XML, Admin › Community › Export)",
    "isso": "an Isso database (comments.db)",
    "remark42": "a Remark42 backup (remark42 backup, or the admin export; .gz or plain)",
    "rejoinder": "a Rejoinder JSON export (rejoinder export --format json)",
}


class ProgressBar:
    """``[#####.....] 52% 52,000/100,000`` on standard error, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        self.stream.write(f"\r[{bar:.<30}] {share:4.0%} {done:,}/{total:,}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def format_report(report: ImportReport) -> str:
    """The report as the command prints it: totals, then one line per thread."""
    verb = "would import" if report.dry_run else "imported"
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items())) or "none"
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(report.kinds.items()))
    lines = [
        f"{report.source} → site {report.site}" + (" (dry run: nothing written)" if report.dry_run else ""),
        f"  {_count(report.comments, 'comment')} in {_count(report.thread_count, 'thread')}: {statuses}",
        f"  kinds: {kinds}" if kinds else "  kinds: none",
        f"  deepest reply: depth {report.max_depth}",
        f"  {verb} {report.created} new, {report.existing} already imported",
    ]
    if report.orphans:
        lines.append(
            f"  {report.orphans} replies whose parent is not in the file: kept as top-level comments"
        )
    if report.lessons:
        lines.append(f"  taught the spam filter {report.lessons} lessons")
    if report.skipped:
        lines.append(f"  skipped {len(report.skipped)}:")
        lines += [f"    {problem}" for problem in report.skipped]
    shown = len(report.threads)
    largest = f", the largest {shown} of {report.thread_count}" if shown < report.thread_count else ""
    lines.append(f"  threads (new / in file, by status{largest}):")
    for thread in sorted(report.threads.values(), key=lambda t: (-sum(t.statuses.values()), t.url)):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(thread.statuses.items()))
        title = f"  “{thread.title}”" if thread.title else ""
        lines.append(
            f"    {thread.new:>4} / {sum(thread.statuses.values()):<4} {thread.url}{title}  ({counts})"
        )
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cmd_import(args: argparse.Namespace) -> int:
    from rejoinder.importers.records import ImportFailed
    from rejoinder.importers.service import ImportOptions, UrlMap, import_file

    url_map = UrlMap.read(Path(args.url_map)) if args.url_map else UrlMap()
    show_progress = args.progress if args.progress is not None else sys.stderr.isatty()
    options = ImportOptions(
        site=args.site,
        url_map=url_map,
        dry_run=args.dry_run,
        skip_bad=args.skip_bad,
        teach=args.teach,
        progress=ProgressBar(sys.stderr) if show_progress else None,
        **({"batch_size": args.batch_size} if args.batch_size else {}),
    )
    with opened(args) as ctx:
        try:
            report = import_file(ctx, args.source, Path(args.file), options)
        except ImportFailed as exc:
            print(f"rejoinder: {exc.message}", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
    print(format_report(report))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rejoinder.exporters import export

    with opened(args) as ctx:
        if args.output and args.output != "-":
            with open(args.output, "w", encoding="utf-8") as out:
                written = export(ctx, out, args.format, args.site)
        else:
            written = export(ctx, sys.stdout, args.format, args.site)
    print(f"exported {written} comments", file=sys.stderr)
    return 0


def add_parsers(commands: Any) -> None:
    """``import SOURCE FILE`` and ``export`` on the top-level subparsers."""
    importing = commands.add_parser("import", help="import comments from another system").add_subparsers(
        dest="source", required=True
    )
    for source, what in SOURCES.items():
        command = importing.add_parser(source, help=f"import {what}")
        command.add_argument("file", help=what)
        command.add_argument("--site", required=True, help="the key of the site to import into")
        command.add_argument(
            "--dry-run", action="store_true", help="report what would be imported, per thread and status"
        )
        command.add_argument(
            "--url-map",
            metavar="FILE",
            help="old → new URL prefixes, one 'OLD NEW' pair a line (the longest matching prefix wins)",
        )
        command.add_argument(
            "--skip-bad",
            action="store_true",
            help="import everything readable and list what was skipped (default: a bad file imports nothing)",
        )
        command.add_argument(
            "--teach",
            action="store_true",
            help="teach the spam filter from the imported statuses (spam and approved)",
        )
        command.add_argument(
            "--batch-size",
            type=int,
            default=None,
            metavar="N",
            help="comments per transaction (default 250; smaller keeps a busy server's writes quicker)",
        )
        command.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="show a progress bar (default: when standard error is a terminal)",
        )
        store_options(command)
        command.set_defaults(func=cmd_import)
    export = commands.add_parser("export", help="export comments as JSON (for import rejoinder) or WXR")
    export.add_argument("--format", choices=("json", "wxr"), default="json")
    export.add_argument("--site", help="export only this site (default: every site; WXR merges them)")
    export.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
    store_options(export)
    export.set_defaults(func=cmd_export)
