"""How stale can another process be? Two ``rejoinder serve`` processes, A and B, on one PostgreSQL (a fresh
database, dropped after) and, in the first run, the machine's Redis (a key prefix of its own, deleted after).

One command: ``.venv/bin/python bench/staleness.py`` (about 5 minutes; ``--quick`` for a smoke run;
``BENCH_PORT=N`` to serve on N, N+1, … rather than on free ports; ``BENCH_PGDB`` to begin the names of
its database and Redis prefix). Each
sample reads a thread through B (so B serves it from its cache), posts a comment to it through A, and as soon
as A answers reads the thread through B in a tight loop until the comment is there. Recorded per sample:
the reads through B after A's answer that did not show it (*stale reads*) and the delay from A's answer to
the first read that did (sent, and answered). Samples run on an idle pair, then while other clients read a
mix of threads from both processes at once: 500 samples each with Redis. The same again without Redis (200
samples each), where B learns of A's comments by reading the outbox every ``outbox_poll_seconds`` (0.5 s);
there each sample starts after a random pause of up to one poll period. Results:
``bench/results/staleness.json``, turned into a section of docs/benchmarks.md by ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
ORIGIN = "https://blog.example"
SITE = "news"
# The sampler posts hundreds of comments a minute from one address: limits no person reaches.
SITE_SETTINGS = [
    "spam_filter=false",
    "rate_limit_ip=1000000/minute",
    "rate_limit_identity=1000000/minute",
    "rate_limit_thread=1000000/minute",
]
LOAD_THREADS = 50  # threads the background readers read, Zipf-like popularity and sizes
SAMPLE_THREADS = 50  # threads the samples post to, in turn: about 20 comments each, one page
POLL_SECONDS = 0.5  # outbox_poll_seconds, the default
GIVE_UP_SECONDS = 5.0  # a sample not fresh by then counts as never fresh
PAGE = 200  # top-level comments per read (the API's default is 50)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def thread_url(kind: str, n: int) -> str:
    return f"{ORIGIN}/{kind}/{n}"


def payload(url: str, body: str) -> dict[str, Any]:
    return {
        "site": SITE,
        "url": url,
        "title": "Staleness",
        "body": body,
        "author": {"name": "Sampler", "email": "sampler@example.org"},
    }


def comment_ids(response: httpx.Response) -> set[int]:
    response.raise_for_status()
    return {comment["id"] for comment in response.json()["comments"]}


class Deployment:
    """A fresh database (and Redis prefix), and the ``serve`` processes started on it."""

    def __init__(self, name: str, with_redis: bool) -> None:
        self.name = name
        self.prefix = name.replace("_", "-")
        self.with_redis = with_redis
        self.url = f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
        self.processes: list[subprocess.Popen[bytes]] = []

    def environ(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("REJOINDER_")}
        env |= {
            "REJOINDER_DATABASE_URL": self.url,
            "REJOINDER_REDIS_PREFIX": self.prefix,
            "REJOINDER_REDIS_URL": REDIS if self.with_redis else "",
            "REJOINDER_LOG_LEVEL": "warning",
            "REJOINDER_OUTBOX_POLL_SECONDS": str(POLL_SECONDS),
        }
        return env

    def rejoinder(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "rejoinder", *args], env=self.environ(), check=True)

    def serve(self, name: str) -> str:
        # BENCH_PORT: the first of the ports the servers take, one each, on a machine shared by several runs.
        first = os.environ.get("BENCH_PORT")
        port = int(first) + len(self.processes) if first else free_port()
        log = open(Path("/tmp") / f"{self.name}-{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "rejoinder", "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=self.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"bench/staleness: {name} was not ready after 60 s (log: {log.name})")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def deployment(name: str, with_redis: bool) -> Iterator[Deployment]:
    admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")  # the name is ours: [a-z0-9_] only
    made = Deployment(name, with_redis)
    try:
        made.rejoinder("migrate")
        made.rejoinder(
            "admin", "site", "create", SITE, "--origin", ORIGIN, *(f"--set={s}" for s in SITE_SETTINGS)
        )
        yield made
    finally:
        made.stop()
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"{made.prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def seed(base: str) -> None:
    """The background readers' threads: a few long ones, most short (Zipf-like)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for rank in range(1, LOAD_THREADS + 1):
            for i in range(max(1, 60 // rank)):
                url = thread_url("read", rank)
                response = http.post("/api/v1/comments", json=payload(url, f"Comment {i} of thread {rank}."))
                response.raise_for_status()


def sample(a: httpx.Client, b: httpx.Client, n: int, jitter: float = 0.0) -> dict[str, Any]:
    """One post through A and the reads through B until they show it."""
    url = thread_url("sample", n % SAMPLE_THREADS)
    # A whole page, however many samples the thread has had: a comment past the first page would look stale.
    params = {"site": SITE, "url": url, "limit": str(PAGE)}
    comment_ids(b.get("/api/v1/comments", params=params))  # B holds the thread in its cache
    # Without Redis, B learns on its own clock (the outbox poll): a sample started right after the last
    # one ended would always post just after a poll and wait a whole period. A random pause spreads them.
    time.sleep(random.uniform(0, jitter))
    posted = a.post("/api/v1/comments", json=payload(url, f"Sample {n}."))
    answered = time.perf_counter()
    posted.raise_for_status()
    comment_id = posted.json()["comment"]["id"]
    stale = 0
    while True:
        sent = time.perf_counter()
        seen = comment_ids(b.get("/api/v1/comments", params=params))
        received = time.perf_counter()
        if comment_id in seen:
            return {
                "stale_reads": stale,
                "fresh_sent_ms": (sent - answered) * 1000,
                "fresh_answered_ms": (received - answered) * 1000,
            }
        stale += 1
        if received - answered > GIVE_UP_SECONDS:
            return {"stale_reads": stale, "fresh_sent_ms": None, "fresh_answered_ms": None}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(samples: list[dict[str, Any]], elapsed: float) -> dict[str, Any]:
    fresh = [s for s in samples if s["fresh_sent_ms"] is not None]
    out: dict[str, Any] = {
        "samples": len(samples),
        "never_fresh": len(samples) - len(fresh),
        "stale_reads": sum(s["stale_reads"] for s in samples),
        "samples_with_stale_reads": sum(1 for s in samples if s["stale_reads"]),
        "elapsed_s": round(elapsed, 1),
    }
    for key in ("fresh_sent_ms", "fresh_answered_ms"):
        values = [s[key] for s in fresh]
        if values:
            out[key] = {
                "p50": round(statistics.median(values), 2),
                "p99": round(percentile(values, 0.99), 2),
                "max": round(max(values), 2),
            }
    return out


def read_load(bases: list[str], concurrency: int, stop: Any, results: Any) -> None:
    """Mixed reads on both processes until ``stop`` is set (runs in a process of its own). Says "ready" once
    every reader has had its first answer, and counts the reads from then on."""

    async def run() -> tuple[int, float]:
        weights = [1 / rank for rank in range(1, LOAD_THREADS + 1)]
        done, connected = 0, 0
        started = asyncio.get_running_loop().create_future()

        async def reader(worker: int) -> None:
            nonlocal done, connected
            rng = random.Random(worker)
            limits = httpx.Limits(max_connections=1)
            async with httpx.AsyncClient(base_url=bases[worker % len(bases)], limits=limits) as http:
                first = True
                while not stop.is_set():
                    rank = rng.choices(range(1, LOAD_THREADS + 1), weights)[0]
                    params = {"site": SITE, "url": thread_url("read", rank)}
                    (await http.get("/api/v1/comments", params=params)).raise_for_status()
                    if first:
                        first, connected = False, connected + 1
                        if connected == concurrency:
                            done = 0
                            started.set_result(time.perf_counter())
                            results.put("ready")
                    else:
                        done += 1

        await asyncio.gather(*(reader(worker) for worker in range(concurrency)))
        return done, (time.perf_counter() - await started) if started.done() else 0.0

    reads, seconds = asyncio.run(run())
    results.put({"reads": reads, "rps": round(reads / seconds) if seconds else None})


def measure(with_redis: bool, samples: int, load_processes: int, concurrency: int) -> dict[str, Any]:
    stem = os.environ.get("BENCH_PGDB", "rjstale")  # the database's (and Redis prefix's) first part
    name = f"{stem}_{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}_{'redis' if with_redis else 'poll'}"
    with deployment(name, with_redis) as made:
        a, b = made.serve("a"), made.serve("b")
        seed(a)
        jitter = 0.0 if with_redis else POLL_SECONDS
        out: dict[str, Any] = {"redis": with_redis, "loadavg_start": os.getloadavg(), "jitter_s": jitter}
        with httpx.Client(base_url=a, timeout=30) as http_a, httpx.Client(base_url=b, timeout=30) as http_b:
            for warm in range(SAMPLE_THREADS):  # every sample thread exists and both processes know it
                sample(http_a, http_b, -1 - warm)
            started = time.perf_counter()
            idle = [sample(http_a, http_b, n, jitter) for n in range(samples)]
            out["idle"] = summarise(idle, time.perf_counter() - started)
            print(f"bench/staleness: {'Redis' if with_redis else 'polling'}, idle: {out['idle']}", flush=True)

            ctx = multiprocessing.get_context("spawn")
            stop, results = ctx.Event(), ctx.Queue()
            loaders = [
                ctx.Process(target=read_load, args=([a, b], concurrency, stop, results))
                for _ in range(load_processes)
            ]
            for loader in loaders:
                loader.start()
            for _ in loaders:
                results.get(timeout=120)  # "ready"
            time.sleep(1)
            started = time.perf_counter()
            loaded = [sample(http_a, http_b, samples + n, jitter) for n in range(samples)]
            out["load"] = summarise(loaded, time.perf_counter() - started)
            stop.set()
            out["load"]["background_reads"] = [results.get(timeout=60) for _ in loaders]
            for loader in loaders:
                loader.join()
            print(f"bench/staleness: {'Redis' if with_redis else 'polling'}, load: {out['load']}", flush=True)
        out["loadavg_end"] = os.getloadavg()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 samples each, not kept")
    parser.add_argument("--samples", type=int, default=500, help="samples per condition with Redis")
    parser.add_argument(
        "--poll-samples", type=int, default=200, help="samples per condition without Redis (each ~0.25 s)"
    )
    parser.add_argument("--load-processes", type=int, default=2, help="processes of background readers")
    parser.add_argument("--concurrency", type=int, default=16, help="background readers per process")
    args = parser.parse_args()
    if args.quick:
        args.samples = args.poll_samples = 50
    result = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(["bench/staleness.py", *sys.argv[1:]]),
        "machine": {"nproc": os.cpu_count(), "loadavg_start": os.getloadavg()},
        "background": {"processes": args.load_processes, "concurrency_each": args.concurrency},
        "outbox_poll_seconds": POLL_SECONDS,
        "with_redis": measure(True, args.samples, args.load_processes, args.concurrency),
        "without_redis": measure(False, args.poll_samples, args.load_processes, args.concurrency),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"staleness{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"bench/staleness: wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
