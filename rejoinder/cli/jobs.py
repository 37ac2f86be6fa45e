"""The ``rejoinder worker`` and ``rejoinder jobs list|retry`` commands. Lists are JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rejoinder.cli.options import opened, store_options

if TYPE_CHECKING:  # the parsers are built on every run: the store is imported only by the commands
    from rejoinder.model import Job

STATUSES = ("queued", "running", "done", "dead")  # the values of rejoinder.model.JobStatus


def _job_json(job: Job) -> str:
    def when(moment: Any) -> str | None:
        return None if moment is None else moment.isoformat()

    return json.dumps(
        {
            "id": job.id,
            "kind": job.kind,
            "status": job.status.value,
            "attempts": job.attempts,
            "max_attempts": job.max_attempts,
            "run_at": when(job.run_at),
            "locked_by": job.locked_by,
            "locked_until": when(job.locked_until),
            "dedupe_key": job.dedupe_key,
            "created_at": when(job.created_at),
            "finished_at": when(job.finished_at),
            "payload": job.payload,
            "last_error": job.last_error,
        }
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from rejoinder.logs import configure_logging
    from rejoinder.worker import Runner

    with opened(args) as ctx:
        configure_logging(ctx.settings, sys.stderr)  # standard output is for the command's answer
        runner = Runner(ctx.jobs, poll_seconds=ctx.settings.jobs_poll_seconds)
        # The worker also delivers events whose writer never did, and hears of other processes' changes.
        ctx.events.start()
        if args.once:
            sys.stdout.write(f"ran {runner.run_once()} jobs\n")
            return
        runner.stop_on_signals()
        kinds = ", ".join(sorted(ctx.jobs.kinds))
        sys.stdout.write(f"Rejoinder worker {runner.name} running jobs: {kinds}\n")
        sys.stdout.flush()
        runner.run_forever()
        sys.stdout.write(f"Rejoinder worker {runner.name} stopped\n")


def cmd_jobs_list(args: argparse.Namespace) -> None:
    from rejoinder.model import JobStatus

    with opened(args) as ctx:
        status = JobStatus(args.status) if args.status else None
        for job in ctx.jobs.list_jobs(status=status, kind=args.kind, limit=args.limit):
            sys.stdout.write(_job_json(job) + "\n")


def cmd_jobs_retry(args: argparse.Namespace) -> None:

    with opened(args) as ctx:
        if args.all_dead:
            queued = ctx.jobs.retry_dead()
            ids = ", ".join(map(str, queued)) or "none"
            sys.stdout.write(f"dead jobs queued again: {ids}\n")
        else:
            ctx.jobs.retry(args.id)
            sys.stdout.write(f"job {args.id} queued again\n")


def add_parsers(commands: Any) -> None:
    """Add ``worker`` and ``jobs list|retry`` to the top-level subparsers."""
    worker = commands.add_parser(
        "worker",
        help="run background jobs until SIGTERM/SIGINT",
        description="Run background jobs (the spam purge, …) until SIGTERM or SIGINT, which stop it after "
        "the job it is running. Any number of workers may share a database. `rejoinder serve` runs jobs "
        "itself unless jobs_in_process is off.",
    )
    worker.add_argument("--once", action="store_true", help="run the jobs that are due, then exit")
    store_options(worker)
    worker.set_defaults(run=cmd_worker)

    jobs = commands.add_parser("jobs", help="list background jobs, retry dead ones").add_subparsers(
        dest="jobs", required=True
    )
    listing = jobs.add_parser("list", help="list jobs as JSON lines, newest first")
    listing.add_argument("--status", choices=STATUSES, help="only jobs with this status (dead: used up)")
    listing.add_argument("--kind", help="only jobs of this kind, e.g. spam.purge")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    store_options(listing)
    listing.set_defaults(run=cmd_jobs_list)

    retry = jobs.add_parser("retry", help="queue dead jobs again with a fresh set of attempts")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="the dead job's id")
    which.add_argument("--all-dead", action="store_true", help="every dead job")
    store_options(retry)
    retry.set_defaults(run=cmd_jobs_retry)
