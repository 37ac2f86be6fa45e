"""What a PostgreSQL round trip costs a thread while another thread runs Python, as the event loop does.

PostgreSQL's group commits run in worker threads; every statement's answer has to wait for the GIL, which
the event loop holds while it answers readers. This times ``SELECT 1`` from a thread, first with nothing
else running, then beside a thread that keeps the interpreter busy:

    .venv/bin/python bench/roundtrip.py [postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import sys
import threading
import time

import psycopg

TRIPS = 300


def per_trip_ms(conn: psycopg.Connection[tuple[int]]) -> float:
    started = time.perf_counter()
    for _ in range(TRIPS):
        conn.execute("SELECT 1").fetchone()
    return (time.perf_counter() - started) / TRIPS * 1000


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        print(f"nothing else running: {per_trip_ms(conn):.3f} ms a round trip")
        stop = threading.Event()

        def busy() -> None:  # pure Python work, as a loop answering readers from memory does
            while not stop.is_set():
                sum(i * i for i in range(2000))

        spinner = threading.Thread(target=busy)
        spinner.start()
        try:
            print(f"beside a busy thread: {per_trip_ms(conn):.3f} ms a round trip")
        finally:
            stop.set()
            spinner.join()


if __name__ == "__main__":
    main()
