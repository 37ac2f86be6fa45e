"""The job queue on both databases: transactional enqueue, claims under a lease, retries with backoff,
dead letters, deduplication, periodic jobs, and the spam purge as a job."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from rejoinder import retention
from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.errors import JobNotDead, NotFound
from rejoinder.jobs import PURGE_FINISHED, JobQueue, enqueue, retry_delay
from rejoinder.model import Author, CommentStatus, Job, JobStatus
from rejoinder.store import jobs as store
from rejoinder.store.comments import get_comment, set_status
from rejoinder.store.schema import jobs as jobs_table
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE

WORKER = "test-worker"


class Recorder:
    """A handler that remembers what it ran and fails while told to."""

    def __init__(self) -> None:
        self.ran: list[Job] = []
        self.failures_left = 0
        self.lock = threading.Lock()

    def __call__(self, job: Job) -> None:
        with self.lock:
            self.ran.append(job)
            if self.failures_left:
                self.failures_left -= 1
                raise RuntimeError(f"flaky on attempt {job.attempts}")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def queue(ctx: Context, recorder: Recorder) -> JobQueue:
    """A queue of its own on the test database, with one kind of job: ``test.record``."""
    jobs = JobQueue(ctx.db, lease_seconds=60)
    jobs.handler("test.record", recorder)
    return jobs


def job(ctx: Context, job_id: int) -> Job:
    with ctx.db.read() as conn:
        found = store.get_job(conn, job_id)
    assert found is not None
    return found


def make_due(ctx: Context, job_id: int) -> None:
    """Bring a retry's time forward instead of waiting out its backoff."""
    with ctx.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(run_at=datetime.now(UTC)))


def enqueued(ctx: Context, kind: str = "test.record", **kw: Any) -> int:
    with ctx.db.write() as conn:
        job_id = enqueue(conn, kind, kw.pop("payload", {"n": 1}), **kw)
    assert job_id is not None
    return job_id


def test_a_job_exists_only_if_its_transaction_commits(ctx: Context, queue: JobQueue) -> None:
    with pytest.raises(RuntimeError), ctx.db.write() as conn:
        enqueue(conn, "test.record", {"lost": True})
        raise RuntimeError("the change that called for the job failed")
    assert queue.list_jobs() == []
    job_id = enqueued(ctx, payload={"kept": True})
    assert [(j.id, j.status, j.payload) for j in queue.list_jobs()] == [
        (job_id, JobStatus.QUEUED, {"kept": True})
    ]


def test_a_due_job_runs_once_with_its_payload_and_is_done(
    ctx: Context, queue: JobQueue, recorder: Recorder
) -> None:
    job_id = enqueued(ctx, payload={"comment_id": 7})
    assert queue.run_due(WORKER) == 1
    assert [(j.id, j.payload, j.attempts, j.locked_by) for j in recorder.ran] == [
        (job_id, {"comment_id": 7}, 1, WORKER)
    ]
    done = job(ctx, job_id)
    assert done.status is JobStatus.DONE and done.finished_at is not None and done.locked_by is None
    assert queue.run_due(WORKER) == 0  # nothing runs twice


def test_a_job_waits_for_its_time(ctx: Context, queue: JobQueue, recorder: Recorder) -> None:
    later = datetime.now(UTC) + timedelta(minutes=5)
    job_id = enqueued(ctx, run_at=later)
    assert queue.run_due(WORKER) == 0 and recorder.ran == []
    assert queue.next_due_at() == later
    make_due(ctx, job_id)
    assert queue.run_due(WORKER) == 1


def test_only_kinds_with_a_handler_here_are_taken(ctx: Context, queue: JobQueue) -> None:
    # A newer release's job kind waits for a worker that knows it, instead of failing in an older one.
    unknown = enqueued(ctx, "mail.send")
    assert queue.run_due(WORKER) == 0
    assert job(ctx, unknown).status is JobStatus.QUEUED and job(ctx, unknown).attempts == 0


def test_a_failed_attempt_is_retried_after_a_backoff_with_its_error_kept(
    ctx: Context, queue: JobQueue, recorder: Recorder
) -> None:
    recorder.failures_left = 1
    job_id = enqueued(ctx)
    before = datetime.now(UTC)
    assert queue.run_due(WORKER) == 1
    failed = job(ctx, job_id)
    assert failed.status is JobStatus.QUEUED and failed.attempts == 1 and failed.locked_by is None
    assert failed.last_error is not None and "RuntimeError: flaky on attempt 1" in failed.last_error
    assert "Traceback" in failed.last_error
    assert timedelta(seconds=5) <= failed.run_at - before <= timedelta(seconds=11)
    assert queue.run_due(WORKER) == 0  # not before its time
    make_due(ctx, job_id)
    assert queue.run_due(WORKER) == 1
    assert job(ctx, job_id).status is JobStatus.DONE and job(ctx, job_id).attempts == 2


def test_the_backoff_doubles_is_jittered_and_capped() -> None:
    for attempts in range(1, 12):
        ceiling = min(3600.0, 10.0 * 2 ** (attempts - 1))
        delays = [retry_delay(attempts) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 100  # jittered: jobs that failed together spread out
    assert max(retry_delay(40) for _ in range(100)) <= 3600
    assert retry_delay(3, base=1, cap=2) <= 2


def test_after_its_last_attempt_a_job_is_dead_and_can_be_retried(
    ctx: Context, queue: JobQueue, recorder: Recorder
) -> None:
    recorder.failures_left = 3
    job_id = enqueued(ctx, max_attempts=3)
    for _attempt in range(3):
        make_due(ctx, job_id)
        assert queue.run_due(WORKER) == 1
    dead = job(ctx, job_id)
    assert dead.status is JobStatus.DEAD and dead.attempts == 3 and dead.finished_at is not None
    assert dead.last_error is not None and "flaky on attempt 3" in dead.last_error
    assert [j.id for j in queue.list_jobs(status=JobStatus.DEAD)] == [job_id]
    make_due(ctx, job_id)
    assert queue.run_due(WORKER) == 0  # the dead stay dead

    queue.retry(job_id)
    again = job(ctx, job_id)
    assert again.status is JobStatus.QUEUED and again.attempts == 0 and again.finished_at is None
    assert queue.run_due(WORKER) == 1
    assert job(ctx, job_id).status is JobStatus.DONE


def test_only_dead_jobs_are_retried(ctx: Context, queue: JobQueue) -> None:
    job_id = enqueued(ctx)
    with pytest.raises(JobNotDead) as refused:
        queue.retry(job_id)
    assert refused.value.fields == {"id": "only dead jobs are retried"}
    with pytest.raises(NotFound):
        queue.retry(job_id + 1000)


def test_retrying_all_dead_jobs_skips_one_whose_work_is_queued_again(
    ctx: Context, queue: JobQueue, recorder: Recorder
) -> None:
    recorder.failures_left = 3
    keyed = enqueued(ctx, max_attempts=1, dedupe_key="lesson:1")
    plain = [enqueued(ctx, max_attempts=1), enqueued(ctx, max_attempts=1)]
    assert queue.run_due(WORKER) == 3
    assert {j.id for j in queue.list_jobs(status=JobStatus.DEAD)} == {keyed, *plain}
    newer = enqueued(ctx, dedupe_key="lesson:1")  # the key is free again once its job died
    assert queue.retry_dead() == plain
    assert job(ctx, keyed).status is JobStatus.DEAD and job(ctx, newer).status is JobStatus.QUEUED
    with pytest.raises(JobNotDead) as refused:
        queue.retry(keyed)
    assert refused.value.fields == {"id": "the same work is already queued"}


def test_a_dedupe_key_keeps_one_queued_or_running_job(ctx: Context, queue: JobQueue) -> None:
    first = enqueued(ctx, dedupe_key="digest:site-1")
    with ctx.db.write() as conn:
        assert enqueue(conn, "test.record", {}, dedupe_key="digest:site-1") is None
        assert enqueue(conn, "test.record", {}, dedupe_key="digest:site-2") is not None
    with ctx.db.write() as conn:  # still one while it runs
        claimed = store.claim(conn, {"test.record": timedelta(minutes=1)}, WORKER, datetime.now(UTC))
        assert claimed is not None and claimed.id == first
        assert enqueue(conn, "test.record", {}, dedupe_key="digest:site-1") is None
        assert store.mark_done(conn, claimed, datetime.now(UTC))
        assert enqueue(conn, "test.record", {}, dedupe_key="digest:site-1") is not None  # a new one, now


def test_two_claimers_never_take_the_same_job(ctx: Context, queue: JobQueue) -> None:
    with ctx.db.write() as conn:
        for n in range(60):
            enqueue(conn, "test.record", {"n": n})
    start = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]

    def claimer(mine: list[int], name: str) -> None:
        start.wait()
        while True:
            with ctx.db.write() as conn:
                taken = store.claim(conn, {"test.record": timedelta(minutes=5)}, name, datetime.now(UTC))
                if taken is None:
                    return
                time.sleep(0.001)  # hold the row a moment, as a worker's transaction would
            mine.append(taken.id)

    threads = [threading.Thread(target=claimer, args=(claimed[i], f"w{i}")) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [job_id for mine in claimed for job_id in mine]
    assert len(every) == 60 and len(set(every)) == 60, Counter(every).most_common(3)
    if ctx.db.backend == "postgresql":  # really concurrent there: each claimer got a share
        assert sum(1 for mine in claimed if mine) >= 2


def test_concurrent_runners_run_every_job_exactly_once(
    ctx: Context, queue: JobQueue, recorder: Recorder
) -> None:
    with ctx.db.write() as conn:
        ids = [enqueue(conn, "test.record", {"n": n}) for n in range(40)]
    runners = [threading.Thread(target=queue.run_due, args=(f"runner-{i}",)) for i in range(3)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=60)
    assert sorted(j.id for j in recorder.ran) == sorted(ids)
    assert {j.status for j in queue.list_jobs()} == {JobStatus.DONE}


def test_a_job_whose_lease_ran_out_runs_again_and_the_late_worker_changes_nothing(
    ctx: Context, recorder: Recorder
) -> None:
    queue = JobQueue(ctx.db, lease_seconds=0.3)
    queue.handler("test.record", recorder)
    job_id = enqueued(ctx)
    with ctx.db.write() as conn:  # a worker takes it, then dies without a word
        lost = store.claim(conn, {"test.record": timedelta(seconds=0.3)}, "crashed", datetime.now(UTC))
    assert lost is not None and lost.id == job_id
    assert queue.run_due(WORKER) == 0  # leased: nobody else takes it
    time.sleep(0.4)
    assert queue.run_due(WORKER) == 1
    assert [(j.id, j.attempts, j.locked_by) for j in recorder.ran] == [(job_id, 2, WORKER)]
    with ctx.db.write() as conn:  # the first worker was only slow, after all: its report is fenced off
        assert not store.mark_done(conn, lost, datetime.now(UTC))
        assert not store.mark_failed(conn, lost, "late", datetime.now(UTC), None)
    final = job(ctx, job_id)
    assert final.status is JobStatus.DONE and final.attempts == 2 and final.last_error is None


def test_a_job_that_takes_down_its_worker_every_time_ends_dead(ctx: Context, queue: JobQueue) -> None:
    job_id = enqueued(ctx, max_attempts=2)
    now = datetime.now(UTC)
    lease = {"test.record": timedelta(seconds=10)}
    for crash in range(2):
        with ctx.db.write() as conn:
            assert (
                store.claim(conn, lease, f"crashed-{crash}", now + timedelta(seconds=20 * crash)) is not None
            )
    with ctx.db.write() as conn:
        buried = store.bury_abandoned(conn, lease, now + timedelta(seconds=40))
    assert [(j.id, j.status) for j in buried] == [(job_id, JobStatus.DEAD)]
    assert "stopped before the lease ended" in (job(ctx, job_id).last_error or "")


def test_periodic_jobs_are_queued_once_however_many_processes_start(ctx: Context, recorder: Recorder) -> None:
    processes = []
    for _ in range(3):
        jobs = JobQueue(ctx.db)
        jobs.handler("test.hourly", recorder)
        jobs.every("test.hourly", timedelta(hours=1))
        jobs.schedule_periodic()
        processes.append(jobs)
    live = [j for j in processes[0].list_jobs() if j.status is JobStatus.QUEUED]
    assert Counter(j.kind for j in live) == {"test.hourly": 1, PURGE_FINISHED: 1}

    assert processes[1].run_due(WORKER) == 2  # the hourly job and the purge of finished jobs, once each
    assert [j.kind for j in recorder.ran] == ["test.hourly"]
    following = processes[2].list_jobs(status=JobStatus.QUEUED, kind="test.hourly")
    assert len(following) == 1
    assert timedelta(minutes=59) < following[0].run_at - datetime.now(UTC) <= timedelta(hours=1)
    for jobs in processes:
        jobs.schedule_periodic()
    assert len(processes[0].list_jobs(status=JobStatus.QUEUED, kind="test.hourly")) == 1


def test_a_periodic_job_that_dies_is_still_scheduled_again(ctx: Context, recorder: Recorder) -> None:
    jobs = JobQueue(ctx.db)
    jobs.handler("test.hourly", recorder)
    jobs.every("test.hourly", timedelta(hours=1))
    with ctx.db.write() as conn:
        enqueue(conn, "test.hourly", {}, dedupe_key="every:test.hourly", max_attempts=1)
    recorder.failures_left = 1
    assert jobs.run_due(WORKER) == 1
    assert [j.status for j in jobs.list_jobs(kind="test.hourly")] == [JobStatus.QUEUED, JobStatus.DEAD]


def test_finished_jobs_are_purged_after_a_while_and_dead_ones_kept(
    ctx: Context, queue: JobQueue, recorder: Recorder
) -> None:
    recorder.failures_left = 1
    dead, done = enqueued(ctx, max_attempts=1), enqueued(ctx)
    assert queue.run_due(WORKER) == 2
    with ctx.db.write() as conn:
        assert store.purge_done(conn, datetime.now(UTC) - timedelta(days=7)) == 0
        assert store.purge_done(conn, datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert [j.id for j in queue.list_jobs()] == [dead]
    assert done not in [j.id for j in queue.list_jobs()]


def test_a_job_enqueued_in_this_process_wakes_its_runner_at_once(ctx: Context, queue: JobQueue) -> None:
    queue.wait(0)  # forget earlier wake-ups
    woken = threading.Event()

    def sleeper() -> None:
        queue.wait(30)
        woken.set()

    thread = threading.Thread(target=sleeper)
    thread.start()
    with pytest.raises(RuntimeError), ctx.db.write() as conn:
        enqueue(conn, "test.record", {})
        raise RuntimeError("rolled back")
    assert not woken.wait(0.3)  # a job that was never committed wakes nobody
    enqueued(ctx)
    assert woken.wait(30)
    thread.join()


@pytest.fixture
def spam_comment(ctx: Context) -> Iterator[int]:
    from rejoinder.sites import create_site

    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    new = NewComment(site="test", url=ARTICLE, body="Cheap pills", author=Author("Spammer"))
    posted = post_comment(ctx, new, Client(origin=SITE_ORIGIN))
    comment_id = posted.comment.id
    with ctx.db.write() as conn:
        past = datetime.now(UTC) - timedelta(days=1)
        set_status(conn, comment_id, CommentStatus.SPAM, moderated_at=past, purge_after=past)
    yield comment_id


def test_the_spam_purge_is_an_hourly_job(ctx: Context, spam_comment: int) -> None:
    ctx.jobs.schedule_periodic()
    purges = ctx.jobs.list_jobs(kind=retention.PURGE_JOB)
    assert [(j.status, j.dedupe_key) for j in purges] == [(JobStatus.QUEUED, "every:spam.purge")]
    # the spam purge, the erasure of old client addresses, the weak-ham lessons, the purge of finished jobs,
    # notify.sweep
    assert ctx.jobs.run_due(WORKER) == 5
    with ctx.db.read() as conn:
        assert get_comment(conn, spam_comment) is None
    after = ctx.jobs.list_jobs(kind=retention.PURGE_JOB)
    assert [j.status for j in after] == [JobStatus.QUEUED, JobStatus.DONE]
    assert timedelta(minutes=59) < after[0].run_at - datetime.now(UTC) <= timedelta(hours=1)


def test_the_purge_keeps_spam_within_its_retention_period(ctx: Context, spam_comment: int) -> None:
    with ctx.db.write() as conn:
        later = datetime.now(UTC) + timedelta(days=1)
        set_status(conn, spam_comment, CommentStatus.SPAM, moderated_at=datetime.now(UTC), purge_after=later)
    assert retention.purge(ctx).comments == 0
    with ctx.db.read() as conn:
        assert conn.execute(select(jobs_table.c.id)).all() == []  # purging by hand queues nothing
        assert get_comment(conn, spam_comment) is not None
