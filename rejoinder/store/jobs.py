"""The ``jobs`` table: enqueue, claim under a lease, finish, retry, list and purge background jobs.

Every function runs in the caller's transaction. Claiming is safe with many processes at once: on
PostgreSQL the due row is locked with ``FOR UPDATE SKIP LOCKED`` (other claimers pass over it), on SQLite
the write transaction itself is the lock (``BEGIN IMMEDIATE``: one writer at a time).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, update
from sqlalchemy.engine import Row

from rejoinder.model import Job, JobStatus
from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import jobs

LIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def insert_job(
    conn: Connection,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime,
    now: datetime,
    dedupe_key: str | None,
    max_attempts: int,
) -> int | None:
    """Add a queued job; its id, or None when a live job already holds ``dedupe_key``."""
    values = {
        "kind": kind,
        "payload": payload,
        "status": JobStatus.QUEUED.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at,
        "dedupe_key": dedupe_key,
        "created_at": now,
    }
    if dedupe_key is None:
        return int(conn.execute(insert(jobs).values(values).returning(jobs.c.id)).scalar_one())
    # The partial unique index on live jobs' keys settles races between processes: the loser inserts nothing.
    new_id = conn.execute(insert_ignore(conn, jobs).values(values).returning(jobs.c.id)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


def _due(kinds: Collection[str], now: datetime) -> Any:
    """Queued jobs whose time has come, and running ones whose worker's lease ran out (it crashed)."""
    return and_(
        jobs.c.kind.in_(list(kinds)),
        or_(
            and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.run_at <= now),
            and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.locked_until < now),
        ),
    )


def next_due_at(conn: Connection, kinds: Collection[str]) -> datetime | None:
    """When the earliest job of these kinds becomes due (a lease's end counts for a running job)."""
    queued = select(jobs.c.run_at).where(
        jobs.c.kind.in_(list(kinds)), jobs.c.status == JobStatus.QUEUED.value
    )
    running = select(jobs.c.locked_until).where(
        jobs.c.kind.in_(list(kinds)), jobs.c.status == JobStatus.RUNNING.value
    )
    times = [
        conn.execute(queued.order_by(jobs.c.run_at).limit(1)).scalar_one_or_none(),
        conn.execute(running.order_by(jobs.c.locked_until).limit(1)).scalar_one_or_none(),
    ]
    known = [moment for moment in times if moment is not None]
    return min(known) if known else None


def bury_abandoned(conn: Connection, kinds: Collection[str], now: datetime) -> list[Job]:
    """Mark dead the jobs whose lease ran out on their last attempt (each took its worker down with it)."""
    rows = conn.execute(
        update(jobs)
        .where(
            jobs.c.kind.in_(list(kinds)),
            jobs.c.status == JobStatus.RUNNING.value,
            jobs.c.locked_until < now,
            jobs.c.attempts >= jobs.c.max_attempts,
        )
        .values(
            status=JobStatus.DEAD.value,
            locked_by=None,
            locked_until=None,
            finished_at=now,
            last_error="the worker running the last attempt stopped before the lease ended",
        )
        .returning(*jobs.c)
    ).all()
    return [_job(row) for row in rows]


def claim(conn: Connection, leases: Mapping[str, timedelta], worker: str, now: datetime) -> Job | None:
    """Take the earliest due job of the kinds in ``leases`` for ``worker``, for as long as its kind's
    lease, counting the attempt."""
    pick = select(jobs.c.id, jobs.c.kind).where(_due(leases, now)).order_by(jobs.c.run_at, jobs.c.id).limit(1)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    picked = conn.execute(pick).one_or_none()
    if picked is None:
        return None
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == picked.id)
        .values(
            status=JobStatus.RUNNING.value,
            locked_by=worker,
            locked_until=now + leases[picked.kind],
            attempts=jobs.c.attempts + 1,
        )
        .returning(*jobs.c)
    ).one()
    return _job(row)


def _held_by(job: Job) -> Any:
    # The attempt number fences a worker whose lease ran out and whose job another worker took over:
    # its late report changes nothing.
    return and_(
        jobs.c.id == job.id,
        jobs.c.status == JobStatus.RUNNING.value,
        jobs.c.locked_by == job.locked_by,
        jobs.c.attempts == job.attempts,
    )


def mark_done(conn: Connection, job: Job, now: datetime) -> bool:
    """Record the success of the attempt ``job`` describes; False if that attempt no longer holds it."""
    result = conn.execute(
        update(jobs)
        .where(_held_by(job))
        .values(status=JobStatus.DONE.value, locked_by=None, locked_until=None, finished_at=now)
    )
    return bool(result.rowcount)


def mark_failed(conn: Connection, job: Job, error: str, now: datetime, retry_at: datetime | None) -> bool:
    """Record a failed attempt: queued again for ``retry_at``, or dead when it is None."""
    values: dict[str, Any] = {"locked_by": None, "locked_until": None, "last_error": error}
    if retry_at is None:
        values.update(status=JobStatus.DEAD.value, finished_at=now)
    else:
        values.update(status=JobStatus.QUEUED.value, run_at=retry_at)
    return bool(conn.execute(update(jobs).where(_held_by(job)).values(values)).rowcount)


def requeue_dead(conn: Connection, job_id: int, now: datetime) -> bool:
    """Give a dead job a fresh set of attempts, due now; False if it is not dead, or if a live job
    already holds its dedupe key (the work is queued anyway)."""
    other = jobs.alias("other")
    key_taken = exists().where(
        other.c.dedupe_key == jobs.c.dedupe_key, other.c.status.in_(LIVE), other.c.id != jobs.c.id
    )
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.DEAD.value, ~key_taken)
        .values(status=JobStatus.QUEUED.value, attempts=0, run_at=now, finished_at=None)
    )
    return bool(result.rowcount)


def dead_ids(conn: Connection) -> list[int]:
    query = select(jobs.c.id).where(jobs.c.status == JobStatus.DEAD.value).order_by(jobs.c.id)
    return [int(job_id) for job_id in conn.execute(query).scalars()]


def get_job(conn: Connection, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).one_or_none()
    return None if row is None else _job(row)


def list_jobs(
    conn: Connection,
    *,
    statuses: Sequence[JobStatus] = (),
    kind: str | None = None,
    limit: int = 100,
) -> list[Job]:
    """Jobs newest first, optionally only those with one of ``statuses`` and of ``kind``."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if statuses:
        query = query.where(jobs.c.status.in_([status.value for status in statuses]))
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    return [_job(row) for row in conn.execute(query)]


def purge_done(conn: Connection, finished_before: datetime) -> int:
    """Delete jobs that succeeded before ``finished_before``; dead ones stay until someone retries them."""
    return conn.execute(
        delete(jobs).where(jobs.c.status == JobStatus.DONE.value, jobs.c.finished_at < finished_before)
    ).rowcount


def _job(row: Row[Any]) -> Job:
    return Job(
        id=int(row.id),
        kind=row.kind,
        payload=dict(row.payload),
        status=JobStatus(row.status),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_at=row.run_at,
        locked_by=row.locked_by,
        locked_until=row.locked_until,
        last_error=row.last_error,
        dedupe_key=row.dedupe_key,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )
