#!/usr/bin/env python3
"""Live-update benchmark: many open SSE streams on one ``rejoinder serve`` process, comments posted to them.

    .venv/bin/python bench/sse.py [--connections 1000] [--comments 20] [--out bench/results/sse.json]

Starts a server on 127.0.0.1 (SQLite in a temporary directory), opens the streams with raw asyncio sockets,
posts comments one after another, and measures for every stream how long after the POST was sent its
``comment`` event arrived (p50/p99/max), and the server's resident memory before and after the streams
were opened (per connection). The open-files limit is raised to its hard limit for the run; the whole run
is bounded by ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = "https://bench.example/2026/live"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("REJOINDER_")} | {"PYTHONPATH": str(ROOT)}


def raise_open_files_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft < needed:
        sys.exit(f"bench/sse.py: the open-files limit is {soft}, below the {needed} this run needs")
    return soft


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def rejoinder(*args: str, cwd: str) -> None:
    command = [sys.executable, "-m", "rejoinder", *args]
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


class Follower:
    """One open stream over a raw socket; notes when each ``comment`` event arrives."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        query = httpx.QueryParams({"site": "bench", "url": ARTICLE})
        self.writer.write(
            f"GET /api/v1/threads/events?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        await self.reader.readuntil(b": connected")  # the opening lines: the stream is registered

    async def listen(self) -> None:
        assert self.reader is not None
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                line = await self.reader.readline()
                if not line:
                    return
                if line.startswith(b"event: comment"):
                    self.arrivals.append(time.perf_counter())

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(port: int, pid: int, connections: int, comments: int, gap: float) -> dict[str, object]:
    base = f"http://127.0.0.1:{port}"
    before = rss_kib(pid)
    followers = [Follower() for _ in range(connections)]
    opened = time.perf_counter()
    for start in range(0, connections, 100):  # in batches: the listen backlog is finite
        await asyncio.gather(*(f.open(port) for f in followers[start : start + 100]))
    open_seconds = time.perf_counter() - opened
    listening = [asyncio.create_task(f.listen()) for f in followers]
    await asyncio.sleep(1.0)  # let the server settle before reading its memory
    after = rss_kib(pid)

    sent: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for i in range(comments):
            payload = {
                "site": "bench",
                "url": ARTICLE,
                "title": "Live",
                "body": f"Live comment number {i}",
                "author": {"name": f"Poster {i}"},
            }
            sent.append(time.perf_counter())
            answer = await http.post("/api/v1/comments", json=payload)
            answer.raise_for_status()
            await asyncio.sleep(gap)
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and any(len(f.arrivals) < comments for f in followers):
            await asyncio.sleep(0.1)
        after_posts = rss_kib(pid)

    latencies = [
        (arrival - sent[i]) * 1000 for f in followers for i, arrival in enumerate(f.arrivals[:comments])
    ]
    for task in listening:
        task.cancel()
    for f in followers:
        f.close()
    delivered = len(latencies)
    return {
        "connections": connections,
        "comments": comments,
        "deliveries_expected": connections * comments,
        "deliveries": delivered,
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p99": round(percentile(latencies, 0.99), 1) if latencies else None,
        "latency_ms_max": round(max(latencies), 1) if latencies else None,
        "open_seconds": round(open_seconds, 2),
        "rss_mib_before": round(before / 1024, 1),
        "rss_mib_with_streams": round(after / 1024, 1),
        "rss_mib_after_posts": round(after_posts / 1024, 1),
        "kib_per_connection": round((after - before) / connections, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between two posts")
    parser.add_argument("--timeout", type=float, default=180, help="the run ends after this many seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/sse.json")
    args = parser.parse_args()
    limit = raise_open_files_limit(args.connections + 200)  # the server inherits it

    with tempfile.TemporaryDirectory(prefix="rejoinder-sse-") as home:
        database = f"sqlite:///{home}/sse.db"
        rejoinder(
            "admin", "site", "create", "bench", "--set", "spam_filter=false", "--database", database, cwd=home
        )  # fmt: skip
        port = free_port()
        log = Path(home) / "serve.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [sys.executable, "-m", "rejoinder", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--database", database],
                cwd=home,
                env=ENV | {"REJOINDER_SSE_MAX_CONNECTIONS": str(args.connections + 100)},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 30
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                            break
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit(f"bench/sse.py: the server did not start:\n{log.read_text()}")
                    time.sleep(0.1)
                measuring = run(port, server.pid, args.connections, args.comments, args.gap)
                result = asyncio.run(asyncio.wait_for(measuring, args.timeout))
            finally:
                server.terminate()
                server.wait(timeout=30)

    result["open_files_limit"] = limit
    result["cpus"] = os.cpu_count()
    result["load_average_1min"] = round(os.getloadavg()[0], 1)  # other work on the machine skews latency
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
