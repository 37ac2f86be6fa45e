"""Background jobs: work that must not run inside a request, kept in the database and retried with backoff.

A job is enqueued with ``enqueue(conn, …)`` in the same transaction as the change that calls for it, so a
crash can never commit the change and lose the job. The ``JobQueue`` on the context knows the handler of
each kind and runs due jobs for whoever drives it: the server's in-process runner or ``rejoinder worker``
(see ``rejoinder.worker``). A failed attempt is retried after an exponential, jittered, capped delay;
after ``max_attempts`` the job is dead, and stays in the table until someone retries it.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event

from rejoinder.errors import JobNotDead, NotFound
from rejoinder.model import Job, JobStatus
from rejoinder.store import jobs as store
from rejoinder.store.db import Database, forget

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 10.0  # the first retry comes after 5–10 s, the fifth after 80–160 s
RETRY_CAP_SECONDS = 3600.0
PURGE_FINISHED = "jobs.purge"
_ENQUEUED = "rejoinder.jobs_enqueued"  # set on a connection whose transaction enqueued a job
_MAX_ERROR_CHARS = 4000

Handler = Callable[[Job], None]


def enqueue(
    conn: Connection,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
) -> int | None:
    """Queue a job in the caller's transaction: it exists if and only if the transaction commits.

    Returns its id, or None if a queued or running job already holds ``dedupe_key``.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = datetime.now(UTC)
    job_id = store.insert_job(
        conn,
        kind,
        payload or {},
        run_at=run_at or now,
        now=now,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
    )
    if job_id is not None:
        conn.info[_ENQUEUED] = True  # wakes this process's runner once the transaction commits
    return job_id


def retry_delay(attempts: int, *, base: float = RETRY_BASE_SECONDS, cap: float = RETRY_CAP_SECONDS) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling from ``base``, at most
    ``cap``, and jittered over its upper half so that jobs which failed together do not retry together."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling * (0.5 + random.random() / 2)


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta

    @property
    def dedupe_key(self) -> str:
        # One live job per periodic kind across every process: N servers do not run it N times.
        return f"every:{self.kind}"


@dataclass(frozen=True)
class _Registered:
    run: Handler
    lease: timedelta


class JobQueue:
    """The handlers of this process and the means to run due jobs; owned by the ``Context``."""

    def __init__(
        self, db: Database, *, lease_seconds: float = 300, keep_done: timedelta = timedelta(days=7)
    ) -> None:
        self.db = db
        self.lease = timedelta(seconds=lease_seconds)
        self.keep_done = keep_done
        self._handlers: dict[str, _Registered] = {}
        self._periodic: dict[str, Periodic] = {}
        self._wake = threading.Event()
        # After a commit (the connection goes back to the pool), not before it: a runner woken any earlier
        # could look for the job before it is visible. The mark is read, not taken, by every queue on the
        # engine, and wiped when the connection's next transaction begins, or when this one rolls back.
        event.listen(db.writer, "checkin", self._on_checkin)
        event.listen(db.writer, "begin", _forget_enqueued)
        event.listen(db.writer, "rollback", _forget_enqueued)
        self.handler(PURGE_FINISHED, self._purge_finished)
        self.every(PURGE_FINISHED, timedelta(hours=1))

    # -- registration -------------------------------------------------------------------------------

    def handler(self, kind: str, run: Handler, *, lease: timedelta | None = None) -> None:
        """Run ``run(job)`` for jobs of ``kind``; it must finish within the lease, or the job runs again."""
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = _Registered(run, lease or self.lease)

    def every(self, kind: str, interval: timedelta) -> None:
        """Run the handler of ``kind`` every ``interval``, once across all processes."""
        if kind not in self._handlers:
            raise ValueError(f"register a handler for {kind!r} before scheduling it")
        self._periodic[kind] = Periodic(kind, interval)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    # -- scheduling -----------------------------------------------------------------------------------

    def schedule_periodic(self) -> None:
        """Make sure every periodic job has its next run queued (a no-op where one already is)."""
        with self.db.write() as conn:
            for periodic in self._periodic.values():
                enqueue(conn, periodic.kind, dedupe_key=periodic.dedupe_key)

    def _schedule_next(self, conn: Connection, job: Job, now: datetime) -> None:
        periodic = self._periodic.get(job.kind)
        if periodic is not None and job.dedupe_key == periodic.dedupe_key:
            enqueue(conn, job.kind, run_at=now + periodic.every, dedupe_key=periodic.dedupe_key)

    # -- running --------------------------------------------------------------------------------------

    def next_due_at(self) -> datetime | None:
        with self.db.read() as conn:
            return store.next_due_at(conn, self.kinds)

    def run_one(self, worker: str) -> Job | None:
        """Claim the earliest due job, run it, record the outcome; the job as claimed, or None."""
        now = datetime.now(UTC)
        with self.db.write() as conn:
            for buried in store.bury_abandoned(conn, self.kinds, now):
                log.error("job %d (%s) is dead: %s", buried.id, buried.kind, buried.last_error)
                self._schedule_next(conn, buried, now)
            leases = {kind: registered.lease for kind, registered in self._handlers.items()}
            job = store.claim(conn, leases, worker, now)
        if job is None:
            return None
        try:
            self._handlers[job.kind].run(job)
        except Exception as exc:
            self._failed(job, exc)
        else:
            self._succeeded(job)
        return job

    def run_due(self, worker: str, stop: threading.Event | None = None) -> int:
        """Run jobs while any is due (and ``stop`` is not set); how many ran."""
        ran = 0
        while stop is None or not stop.is_set():
            due_at = self.next_due_at()
            if due_at is None or due_at > datetime.now(UTC):
                break  # a read first: an idle poll takes no write lock
            if self.run_one(worker) is None:
                break
            ran += 1
        return ran

    def _succeeded(self, job: Job) -> None:
        now = datetime.now(UTC)
        with self.db.write() as conn:
            if store.mark_done(conn, job, now):
                self._schedule_next(conn, job, now)
                return
        log.warning("job %d (%s) finished after its lease ran out; it may have run twice", job.id, job.kind)

    def _failed(self, job: Job, exc: Exception) -> None:
        now = datetime.now(UTC)
        error = "".join(traceback.format_exception(exc))[-_MAX_ERROR_CHARS:]
        retry_at = None
        if job.attempts < job.max_attempts:
            retry_at = now + timedelta(seconds=retry_delay(job.attempts))
        with self.db.write() as conn:
            recorded = store.mark_failed(conn, job, error, now, retry_at)
            if recorded and retry_at is None:
                self._schedule_next(conn, job, now)
        if retry_at is None:
            log.error("job %d (%s) is dead after %d attempts: %s", job.id, job.kind, job.attempts, exc)
        else:
            log.warning(
                "job %d (%s) failed (attempt %d), retrying at %s: %s",
                job.id,
                job.kind,
                job.attempts,
                retry_at.isoformat(timespec="seconds"),
                exc,
            )

    def _purge_finished(self, _job: Job) -> None:
        with self.db.write() as conn:
            store.purge_done(conn, datetime.now(UTC) - self.keep_done)

    # -- waking ---------------------------------------------------------------------------------------

    def wait(self, timeout: float) -> None:
        """Sleep until ``timeout`` passes or a job is enqueued in this process (or ``wake`` is called)."""
        self._wake.wait(timeout)
        self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.get(_ENQUEUED):
            self._wake.set()

    # -- administration -------------------------------------------------------------------------------

    def list_jobs(
        self, *, status: JobStatus | None = None, kind: str | None = None, limit: int = 100
    ) -> list[Job]:
        """Jobs newest first, optionally of one status and kind."""
        with self.db.read() as conn:
            return store.list_jobs(conn, statuses=(status,) if status else (), kind=kind, limit=limit)

    def retry(self, job_id: int) -> None:
        """Queue a dead job again with a fresh set of attempts."""
        with self.db.write() as conn:
            if store.requeue_dead(conn, job_id, datetime.now(UTC)):
                return
            job = store.get_job(conn, job_id)
        if job is None:
            raise NotFound(f"there is no job {job_id}", {"id": "no such job"})
        if job.status is not JobStatus.DEAD:
            raise JobNotDead(f"job {job_id} is {job.status}, not dead", {"id": "only dead jobs are retried"})
        raise JobNotDead(
            f"job {job_id} was not retried: job with its key {job.dedupe_key!r} is already queued or running",
            {"id": "the same work is already queued"},
        )

    def retry_dead(self) -> list[int]:
        """Queue every dead job again; the ids queued (a dead job whose key is live again is skipped)."""
        now = datetime.now(UTC)
        with self.db.write() as conn:
            return [job_id for job_id in store.dead_ids(conn) if store.requeue_dead(conn, job_id, now)]


def _forget_enqueued(conn: Connection) -> None:
    forget(conn, _ENQUEUED)


def worker_name() -> str:
    """Who holds a lease, as shown by ``rejoinder jobs list``: host, process and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
