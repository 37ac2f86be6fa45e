"""Job runners as real processes: ``rejoinder worker`` takes up what was queued while none ran, a worker
killed with ``kill -9`` in the middle of a job leaves it to the next one once its lease ends, and
``rejoinder serve`` runs jobs itself unless told not to."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.jobs import enqueue
from rejoinder.model import Author, CommentStatus, Job, JobStatus
from rejoinder.retention import PURGE_JOB
from rejoinder.sites import create_site
from rejoinder.store import jobs as store
from rejoinder.store.comments import get_comment, set_status
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE
from tests.test_process import ENV, STARTUP_SECONDS, free_port

pytestmark = pytest.mark.slow
POLL = {"REJOINDER_JOBS_POLL_SECONDS": "0.2"}


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, how: signal.Signals) -> int:
        self.popen.send_signal(how)
        return self.popen.wait(timeout=STARTUP_SECONDS)


@contextmanager
def running(
    tmp_path: Path, *args: str, env: dict[str, str], ready: Callable[[], bool] | None = None
) -> Iterator[Process]:
    """``python -m rejoinder ARGS`` in the background, its output in a log; killed if still running."""
    log = tmp_path / f"{args[0]}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", *args],
            cwd=tmp_path,
            env=ENV | env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        process = Process(popen, log)
        try:
            if ready is not None:
                wait_for(ready, f"{args[0]} to be ready", process)
            yield process
        finally:
            if popen.poll() is None:
                popen.kill()
            popen.wait(timeout=STARTUP_SECONDS)


def wait_for(condition: Callable[[], bool], what: str, process: Process, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if process.popen.poll() is not None:
            pytest.fail(
                f"waiting for {what}, the process exited with {process.popen.returncode}:\n{process.output()}"
            )
        time.sleep(0.05)
    pytest.fail(f"waited {seconds} s for {what}:\n{process.output()}")


def the_job(ctx: Context, job_id: int) -> Job:
    with ctx.db.read() as conn:
        found = store.get_job(conn, job_id)
    assert found is not None
    return found


@pytest.fixture
def expired_spam(ctx: Context) -> int:
    """A comment in the spam folder whose retention period is over: the purge deletes it."""
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    new = NewComment(site="test", url=ARTICLE, body="Cheap pills", author=Author("Spammer"))
    comment_id = post_comment(ctx, new, Client(origin=SITE_ORIGIN)).comment.id
    with ctx.db.write() as conn:
        past = datetime.now(UTC) - timedelta(days=1)
        set_status(conn, comment_id, CommentStatus.SPAM, moderated_at=past, purge_after=past)
    return comment_id


@pytest.fixture
def queued_purge(ctx: Context, expired_spam: int) -> int:
    """The hourly spam purge, queued while no process runs jobs."""
    with ctx.db.write() as conn:
        job_id = enqueue(conn, PURGE_JOB, dedupe_key=f"every:{PURGE_JOB}")
    assert job_id is not None
    return job_id


def purged(ctx: Context, comment_id: int) -> bool:
    with ctx.db.read() as conn:
        return get_comment(conn, comment_id) is None


def test_a_worker_started_later_runs_what_was_queued_and_stops_cleanly_on_sigterm(
    tmp_path: Path, ctx: Context, database_url: str, expired_spam: int, queued_purge: int
) -> None:
    with running(tmp_path, "worker", "--database", database_url, env=POLL) as worker:
        wait_for(lambda: the_job(ctx, queued_purge).status is JobStatus.DONE, "the purge job", worker)
        assert purged(ctx, expired_spam)
        # An enqueued job from another process is seen at the next poll.
        with ctx.db.write() as conn:
            another = enqueue(conn, "jobs.purge", dedupe_key="every:jobs.purge", run_at=datetime.now(UTC))
        if another is not None:
            wait_for(lambda: the_job(ctx, another).status is JobStatus.DONE, "the second job", worker)
        assert worker.stop(signal.SIGTERM) == 0, worker.output()
    assert "stopped" in worker.output()
    following = ctx.jobs.list_jobs(status=JobStatus.QUEUED, kind=PURGE_JOB)
    assert len(following) == 1 and following[0].run_at > datetime.now(UTC) + timedelta(minutes=55)


def test_worker_once_runs_what_is_due_and_exits(
    tmp_path: Path, ctx: Context, database_url: str, expired_spam: int, queued_purge: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rejoinder", "worker", "--once", "--database", database_url],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # spam purge, erasure of old addresses, purge of jobs, the notifications' sweep
    assert done.stdout.strip() == "ran 4 jobs"
    assert the_job(ctx, queued_purge).status is JobStatus.DONE and purged(ctx, expired_spam)


def test_a_job_whose_worker_is_killed_midway_runs_again_after_its_lease(
    tmp_path: Path, ctx: Context, database_url: str, backend: str, expired_spam: int, queued_purge: int
) -> None:
    if backend != "postgres":
        pytest.skip("the job is held midway by a table lock, which takes PostgreSQL")
    lease = {"REJOINDER_JOBS_LEASE_SECONDS": "3"} | POLL
    blocker = create_engine(database_url)
    try:
        with blocker.connect() as conn:
            # The purge's DELETE waits behind this lock: the job is claimed, then stuck in its handler.
            conn.execute(text("LOCK TABLE comments IN SHARE MODE"))
            with running(tmp_path, "worker", "--database", database_url, env=lease) as first:
                wait_for(lambda: the_job(ctx, queued_purge).status is JobStatus.RUNNING, "the claim", first)
                time.sleep(0.5)  # well inside the handler by now
                assert first.stop(signal.SIGKILL) == -signal.SIGKILL
            conn.rollback()
    finally:
        blocker.dispose()

    abandoned = the_job(ctx, queued_purge)
    assert abandoned.status is JobStatus.RUNNING and abandoned.attempts == 1
    assert abandoned.locked_until is not None and not purged(ctx, expired_spam)
    with running(tmp_path, "worker", "--database", database_url, env=lease) as second:
        wait_for(lambda: the_job(ctx, queued_purge).status is JobStatus.DONE, "the second attempt", second)
        assert second.stop(signal.SIGTERM) == 0, second.output()
    finished = the_job(ctx, queued_purge)
    assert finished.attempts == 2 and finished.last_error is None
    assert finished.finished_at is not None and finished.finished_at >= abandoned.locked_until
    assert purged(ctx, expired_spam)


def serve_args(database_url: str) -> tuple[str, ...]:
    port = free_port()
    return ("serve", "--port", str(port), "--database", database_url)


def answering(args: tuple[str, ...]) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{args[2]}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return ready


def test_serve_runs_jobs_in_process_unless_told_not_to(
    tmp_path: Path, ctx: Context, database_url: str, expired_spam: int, queued_purge: int
) -> None:
    off = {"REJOINDER_JOBS_IN_PROCESS": "false"} | POLL
    args = serve_args(database_url)
    with running(tmp_path, *args, env=off, ready=answering(args)) as server:
        time.sleep(1.5)  # several polls' worth
        assert the_job(ctx, queued_purge).status is JobStatus.QUEUED and not purged(ctx, expired_spam)
        assert server.stop(signal.SIGTERM) == 0, server.output()

    args = serve_args(database_url)
    with running(tmp_path, *args, env=POLL, ready=answering(args)) as server:
        wait_for(lambda: the_job(ctx, queued_purge).status is JobStatus.DONE, "the purge job", server)
        assert purged(ctx, expired_spam)
        assert server.stop(signal.SIGTERM) == 0, server.output()
    assert "Application shutdown complete" in server.output()
