"""How many jobs a second the queue runs: enqueue N no-op jobs in one transaction, then run them with R
runner threads until none is left.

Usage: python bench/jobs.py [--database URL] [--jobs 2000] [--runners 1] [--json]

Each job costs what a real one does around its handler: a read to see that something is due, a write
transaction to claim it under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and a write transaction to
record it done — so the figure is the queue's own overhead per job, the ceiling for jobs that do nothing.
Without ``--database`` it runs on a fresh SQLite file; a PostgreSQL database is emptied of jobs first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import delete

from rejoinder.jobs import JobQueue, enqueue
from rejoinder.model import Job
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.store.schema import jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a new SQLite file)")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runners", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database or f"sqlite:///{Path(scratch) / 'bench.db'}"
        db = Database(url)
        upgrade(db)
        with db.write() as conn:
            conn.execute(delete(jobs))
        queue = JobQueue(db)
        ran = 0
        counted = threading.Lock()

        def noop(_job: Job) -> None:
            nonlocal ran
            with counted:
                ran += 1

        queue.handler("bench.noop", noop)
        started = time.perf_counter()
        with db.write() as conn:
            for n in range(args.jobs):
                enqueue(conn, "bench.noop", {"n": n})
        enqueued = time.perf_counter() - started
        started = time.perf_counter()
        threads = [threading.Thread(target=queue.run_due, args=(f"bench-{i}",)) for i in range(args.runners)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        db.dispose()
    result = {
        "backend": db.backend,
        "jobs": ran,
        "runners": args.runners,
        "enqueue_per_s": round(args.jobs / enqueued),
        "run_per_s": round(ran / elapsed),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['backend']}: {args.jobs} jobs enqueued at {result['enqueue_per_s']}/s in one "
            f"transaction, run by {args.runners} runner(s) at {result['run_per_s']}/s"
        )


if __name__ == "__main__":
    main()
