"""Server CPU per minute while nothing happens, for one or more builds.

A deployment spends most of its life idle; what its periodic loops cost then is paid around the clock. For
each build and round this starts ``rejoinder serve`` on a copy of a database (``--seeded``: a seeded SQLite
file or PostgreSQL database, copied as ``bench/cpu.py`` does; ``fresh``: a new empty SQLite file), sends
an optional short burst of traffic (``--burst``: every thread read once, a few posts and likes), waits
``--settle`` seconds for what the burst left to be done, then reads the server's user+system CPU time
(``/proc/PID/stat``) over ``--seconds`` and reports it per minute. On PostgreSQL it also reports the
transactions the database saw per minute over the same window (``pg_stat_database``); ``BENCH_PGDB``
begins the copy's name. Builds alternate within each round.

    .venv/bin/python bench/idle.py --build base=/tmp/base --build branch=. --rounds 2 --burst \\
        --seeded ~/.cache/rejoinder-bench/phases-seeded.db --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cpu  # bench/cpu.py: the database copies, the server and the client

FRESH = "fresh"
BURST_POSTS = 20
BURST_LIKES = 50


@contextlib.asynccontextmanager
async def serving(
    args: argparse.Namespace, code: Path, seeded: str
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Any, int]]:
    scratch = Path(tempfile.mkdtemp(prefix="rejoinder-idle-"))
    database: Any = _FreshFile(scratch) if seeded == FRESH else cpu.Database(seeded, scratch, "idle")
    try:
        with cpu.server_on(args, code, database, scratch) as (server, port):
            yield server, database, port
    finally:
        with contextlib.suppress(OSError):
            for path in scratch.iterdir():
                path.unlink()
            scratch.rmdir()


class _FreshFile:
    """A new SQLite file: the server makes its schema on start."""

    def __init__(self, scratch: Path) -> None:
        self.url = f"sqlite:///{scratch / 'fresh.db'}"
        sqlite3.connect(scratch / "fresh.db").close()

    def stats(self) -> dict[str, float]:
        return {}

    def drop(self) -> None:
        pass


async def burst(port: int, work: cpu.Workload) -> None:
    """Every thread read once, then a few posts and likes: what a quiet hour's first minute looks like."""
    run = cpu.Run(port, work)
    client = cpu.Client(port)
    for url in work.urls:
        await client.request("GET", cpu.read_path(url))
    client.close()
    await run.drive("post", BURST_POSTS, 2)
    await run.drive("like", BURST_LIKES, 2)


async def one(args: argparse.Namespace, code: Path, work: cpu.Workload | None) -> dict[str, float]:
    async with serving(args, code, args.seeded) as (server, database, port):
        if work is not None:
            await burst(port, work)
        await asyncio.sleep(args.settle)
        seen_before, before = database.stats(), cpu.cpu_seconds(server.pid)
        await asyncio.sleep(args.seconds)
        used, seen_after = cpu.cpu_seconds(server.pid) - before, database.stats()
        result = {"cpu_s_per_min": 60 * used / args.seconds}
        if seen_before:
            transactions = seen_after["transactions"] - seen_before["transactions"]
            result["transactions_per_min"] = 60 * transactions / args.seconds
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cpu.add_build_arguments(parser)
    parser.add_argument("--seeded", default=FRESH, help="a seeded SQLite file or PostgreSQL URL, or 'fresh'")
    parser.add_argument("--burst", action="store_true", help="reads, posts and likes before going quiet")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the idle CPU is measured")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds between the burst and measuring")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    builds = cpu.builds(args)
    work = None
    if args.burst:
        if args.seeded == FRESH:
            raise SystemExit("--burst needs a seeded database")
        work = cpu.Workload.from_database(os.path.expanduser(args.seeded))
    if args.seeded != FRESH:
        args.seeded = os.path.expanduser(args.seeded)
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in builds}
    for round_number in range(1, args.rounds + 1):
        for name, code in builds:
            started = time.monotonic()
            result = asyncio.run(one(args, code, work))
            results[name].append(result)
            took = time.monotonic() - started
            print(f"round {round_number} {name}: {json.dumps(result)} ({took:.0f} s)", flush=True)
    for name, rounds in results.items():
        for key in rounds[0]:
            figures = [r[key] for r in rounds]
            shown = " ".join(f"{f:.3f}" for f in figures)
            print(f"{name} {key}: {shown} median {statistics.median(figures):.3f}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
