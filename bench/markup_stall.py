"""What pathological Markdown posted beside readers costs them: their p99 on the hot thread, alone and beside.

markdown-it-py is super-linear on some bodies within the length limit (docs/benchmarks.md, "Pathological
Markdown beside readers"); rendered on the event loop, one such post stalls every reader of the server.
For each build (a checkout, run as ``python -m rejoinder serve`` from its directory, as ``bench/cpu.py
--build`` does) and each round, this restores a copy of a seeded database (SQLite file or PostgreSQL
template, ``bench/phases seed``), starts the server, reads the hot 200-comment thread once, then:

- ``alone``: ``--readers`` clients read the hot thread for ``--seconds``;
- ``beside``: the same readers for ``--seconds`` while one client posts the shapes of ``SHAPES`` in turn,
  each from a new address to another thread, one post at a time.

Builds alternate within each round (the second round runs them the other way round), so that a neighbour's
burst weighs on both. Prints a row per build and round and the medians over rounds, and writes them as JSON
(default ``bench/results/markup-stall-sqlite.json`` or ``-postgres.json``).

    .venv/bin/python bench/markup_stall.py --seeded ~/.cache/rejoinder-bench/phases-seeded.db \\
        --build before=/tmp/before --build after=. --rounds 3 --port 19510

    .venv/bin/python bench/markup_stall.py --build before=/tmp/before --build after=. --rounds 3 \\
        --seeded postgresql+psycopg://postgres@127.0.0.1:5432/rejoinder_phases_seeded
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import cpu  # bench/cpu.py: the seeded workload, a server of a build on a copy of the seed, its client

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# Each within the default ``max_body_length`` (10,000 characters); 64-203 ms each for markdown-it-py on this
# machine (docs/benchmarks.md, "Pathological Markdown beside readers").
SHAPES = {
    "emphasis, then a stray backtick": "*a* " * 2499 + "`",
    "a stray backtick, then emphasis": "`" + "*a* " * 2499,
    "unclosed links": "[a](" * 2500,
    "opening brackets, then closing ones": "[" * 4000 + "]" * 4000,
    "underscores, then a stray backtick": "_a_ " * 2499 + "`x",
}


async def post_shapes(
    port: int, work: cpu.Workload, stop: asyncio.Event
) -> tuple[list[float], dict[str, int]]:
    """The shapes in turn, one post at a time, each from a new address to a thread other than the hot one,
    until ``stop``: the latencies and the count of each status."""
    others = [url for url in work.urls if url != work.hot_url]
    client = cpu.Client(port)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    try:
        for n, body in enumerate(itertools.cycle(SHAPES.values())):
            if stop.is_set():
                break
            comment = {
                "site": "default",
                "url": others[n % len(others)],
                "title": "A post",
                "body": body,
                "author": {"name": f"Marker {n}", "email": f"marker{n}@example.com"},
            }
            address = f"X-Forwarded-For: 2001:db8:bad:{n:x}::1\r\n"
            started = time.perf_counter()
            status, _ = await client.request(
                "POST", "/api/v1/comments", json.dumps(comment).encode(), address
            )
            latencies.append(time.perf_counter() - started)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    finally:
        client.close()
    return latencies, statuses


async def read_for(run: cpu.Run, readers: int, seconds: float, stop: asyncio.Event) -> list[float]:
    """The hot thread read by ``readers`` clients until ``seconds`` have passed; ``stop`` is set then."""
    timer = asyncio.get_running_loop().call_later(seconds, stop.set)
    try:
        return await run.drive("hot", sys.maxsize, readers, until=stop)
    finally:
        timer.cancel()


async def one_build(args: argparse.Namespace, code: Path, work: cpu.Workload) -> dict[str, float]:
    async with cpu.serving(args, code, args.seeded) as (_, _, port):
        run = cpu.Run(port, work)
        warm = cpu.Client(port)
        await warm.request("GET", cpu.read_path(work.hot_url))
        warm.close()
        alone = await read_for(run, args.readers, args.seconds, asyncio.Event())
        stop = asyncio.Event()
        beside, (posts, statuses) = await asyncio.gather(
            read_for(run, args.readers, args.seconds, stop), post_shapes(port, work, stop)
        )
    return {
        "alone_reads": len(alone),
        "alone_p99_ms": 1000 * cpu.percentile(alone, 0.99),
        "beside_reads": len(beside),
        "beside_p50_ms": 1000 * cpu.percentile(beside, 0.50),
        "beside_p99_ms": 1000 * cpu.percentile(beside, 0.99),
        "beside_max_ms": 1000 * max(beside),
        "posts_created": statuses.get("201", 0),
        "posts_other": sum(count for status, count in statuses.items() if status != "201"),
        "post_p50_ms": 1000 * cpu.percentile(posts, 0.50),
        "read_errors": sum(run.errors.values()),
    }


def row(label: str, result: dict[str, float]) -> str:
    beside = ", ".join(f"{result[name]:,.0f}" for name in ("beside_p50_ms", "beside_p99_ms", "beside_max_ms"))
    posts = f"{result['posts_created']:,.0f} ({result['posts_other']:,.0f} other)"
    return (
        f"| {label} | {result['alone_p99_ms']:,.0f} ms | {result['beside_reads']:,.0f}, {beside} ms | "
        f"{posts}, {result['post_p50_ms']:,.0f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cpu.add_seeded_argument(parser)
    cpu.add_build_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0, help="of each phase, alone and beside")
    parser.add_argument("--readers", type=int, default=16, help="concurrent readers of the hot thread")
    parser.add_argument(
        "--out", type=Path, help="the JSON file (default: bench/results/markup-stall-<db>.json)"
    )
    args = parser.parse_args()
    backend = "postgres" if args.seeded.startswith(cpu.POSTGRES) else "sqlite"
    if backend == "sqlite" and not Path(args.seeded).exists():
        raise SystemExit(f"{args.seeded} not found: seed one with `bench/phases seed sqlite`")
    work = cpu.Workload.from_database(args.seeded)
    builds = cpu.builds(args)
    rounds: dict[str, list[dict[str, float]]] = {label: [] for label, _ in builds}
    loads: list[float] = []
    print(
        "| build, round | readers alone p99 | beside the posts: reads, p50, p99, max | posts 201, post p50 |"
    )
    print("|---|---|---|---|")
    for number in range(args.rounds):
        for label, code in builds if number % 2 == 0 else builds[::-1]:
            result = asyncio.run(one_build(args, code, work))
            rounds[label].append(result)
            loads.append(os.getloadavg()[0])
            print(row(f"{label}, round {number + 1}", result), flush=True)
    medians = {
        label: {name: statistics.median(r[name] for r in results) for name in results[0]}
        for label, results in rounds.items()
    }
    for label, _ in builds:
        print(row(f"**{label}, median of {args.rounds}**", medians[label]))
    print(f"load average (1 min) after each run: {min(loads):.1f}-{max(loads):.1f}")
    out = args.out or RESULTS / f"markup-stall-{backend}.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join(["bench/markup_stall.py", *sys.argv[1:]]),
                "database": backend,
                "builds": {label: cpu.revision(code) or str(code) for label, code in builds},
                "load_average_1min": loads,
                "rounds": rounds,
                "medians": medians,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
