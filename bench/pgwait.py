"""Where PostgreSQL's connections spend a benchmark's wall time: waiting for the client, the disk or a lock.

Samples ``pg_stat_activity`` every few milliseconds for the databases whose names start with PREFIX (the
copies ``bench/cpu.py`` makes are named ``<seeded>_cpu_<pid>``) until the time is up or it is interrupted,
then prints the average number of connections in each state, wait event and statement. A connection
*idle in transaction* after a statement is waiting for the server process to send the next one (its
Python, and its threads' wait for the GIL); *active* on ``IO:WALSync`` or ``LWLock:WALWrite`` is a COMMIT
waiting for the disk; ``Lock:…`` is a row lock held by another transaction.

    .venv/bin/python bench/pgwait.py rejoinder_phases_seeded_cpu 120
"""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from typing import Any

import psycopg

QUERY = (
    "SELECT state, coalesce(wait_event_type, '') || ':' || coalesce(wait_event, ''), left(query, 60) "
    "FROM pg_stat_activity WHERE datname LIKE %s AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)
EVERY = 0.005  # seconds between samples


def main() -> None:
    prefix, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    url = sys.argv[3] if len(sys.argv) > 3 else "postgresql://postgres@127.0.0.1:5432/postgres"
    stop = False

    def interrupted(*_args: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    seen: Counter[tuple[str, str, str]] = Counter()
    samples = 0
    end = time.monotonic() + seconds
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < end and not stop:
            rows = conn.execute(QUERY, (prefix + "%",)).fetchall()
            if rows:
                samples += 1
            for state, wait, query in rows:
                seen[(state, wait, query if state != "idle" else "")] += 1
            time.sleep(EVERY)
    print(f"{samples} samples with a connection open; average connections in each state:")
    for (state, wait, query), count in seen.most_common(30):
        print(f"{count / max(samples, 1):7.3f}  {state:<20} {wait:<20} {' '.join(query.split())}")


if __name__ == "__main__":
    main()
