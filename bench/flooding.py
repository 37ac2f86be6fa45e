"""A flood from one address beside ten readers, each on a loopback address of its own (127.0.0.x): the load
under which ``tests/test_flood.py`` checks what the server does, and whose cost to the readers
``bench/flood.py`` measures. The flood runs in a process of its own (``bench/flood_client.py``), so its
work does not share the readers' interpreter; this module needs nothing but httpx and the standard library.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READERS = 10
THINK_SECONDS = 0.02  # between one reader's requests: people, not a load generator
FLOOD_CONNECTIONS = 4
FLOOD_ADDRESS = "127.0.0.66"
SITE = "flood"
ORIGIN = "https://blog.example"
# Per minute: the site's rate_limit_ip for posts, the server's defaults for likes and previews.
LIMITS = {"post": 20, "like": 60, "preview": 30}
# The site the flood meets: its spam filter on (what a flood's posts go through), no proof of work or
# minimum time to submit (those would slow the flood client, not the server), the limits above.
SITE_SETTINGS: dict[str, object] = {
    "spam_filter": True,
    "pow": "off",
    "min_submit_seconds": 0,
    "rate_limit_ip": f"{LIMITS['post']}/minute",
    "rate_limit_identity": f"{LIMITS['post']}/minute",
    "rate_limit_thread": "600/minute",
}
# What a reader may be answered: anything else (a refusal, an error, a time-out) is a reader let down.
READER_ANSWERS = {"read 200", "post 201", "post 202"}
READER_TIMEOUT_SECONDS = 10
FLOOD_CLIENT = Path(__file__).with_name("flood_client.py")


def reader_address(n: int) -> str:
    return f"127.0.0.{10 + n}"


def article(n: int) -> str:
    return f"https://blog.example/2026/12/article-{n}"


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Round:
    """What the readers were answered in one round, how long each answer took, and the server's resident
    memory at its end."""

    flooded: bool
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    per_reader: Counter[int] = field(default_factory=Counter)
    rss: int = 0


def read_and_post(
    base_url: str, n: int, seconds: float, start: threading.Barrier, into: Round, lock: threading.Lock
) -> None:
    """One reader: posts one comment to its article's thread, then reads the thread until the round ends,
    and at least once (posting first, so a slow round still has its ten comments). The round starts once
    every reader has its client: making ten of them takes seconds of a busy core. A request that fails
    (a time-out, a refused connection) is counted by its error's name."""
    transport = httpx.HTTPTransport(local_address=reader_address(n))
    with httpx.Client(transport=transport, base_url=base_url, timeout=READER_TIMEOUT_SECONDS) as http:
        start.wait()
        deadline = time.monotonic() + seconds
        step = 0
        while step < 2 or time.monotonic() < deadline:
            step += 1
            kind = "post" if step == 1 else "read"
            started = time.perf_counter()
            try:
                if kind == "post":
                    answer = http.post("/api/v1/comments", json=_reader_comment(n))
                else:
                    answer = http.get("/api/v1/comments", params={"site": SITE, "url": article(n)})
            except httpx.HTTPError as exc:
                key = f"{kind} {type(exc).__name__}"
            else:
                key = f"{kind} {answer.status_code}"
            took = time.perf_counter() - started
            with lock:
                into.latencies.append(took)
                into.answers[key] += 1
                into.per_reader[n] += 1
            time.sleep(THINK_SECONDS)


def _reader_comment(n: int) -> dict[str, object]:
    return {
        "site": SITE,
        "url": article(n),
        "title": "Tide pools",
        "body": f"reader {n} says hello",
        "author": {"name": f"Reader {n}", "email": f"reader{n}@example.org"},
    }


def run_round(base_url: str, server_pid: int, into: Round, seconds: float) -> None:
    """Ten readers for ``seconds``; the server's resident memory noted at the end."""
    lock, start = threading.Lock(), threading.Barrier(READERS)
    readers = [
        threading.Thread(target=read_and_post, args=(base_url, n, seconds, start, into, lock))
        for n in range(READERS)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    into.rss = rss_bytes(server_pid)


def flooded_round(
    base_url: str,
    server_pid: int,
    comment_id: int,
    into: Round,
    seconds: float,
    flood_cores: set[int] | None = None,
) -> Counter[str]:
    """A round of readers while the flood client (on ``flood_cores``, if given) likes ``comment_id``, posts
    and previews from ``FLOOD_ADDRESS``; what the flood was answered, by kind and status."""
    flood = subprocess.Popen(
        [sys.executable, str(FLOOD_CLIENT), base_url, FLOOD_ADDRESS, SITE, article(0), str(comment_id),
         str(FLOOD_CONNECTIONS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        if flood_cores:
            os.sched_setaffinity(flood.pid, flood_cores)
        assert flood.stdout is not None
        if flood.stdout.readline().strip() != "flooding":
            raise RuntimeError("the flood client did not start")
        time.sleep(0.3)  # its connections open and its first requests are in flight
        run_round(base_url, server_pid, into, seconds)
        output, _ = flood.communicate(input="", timeout=30)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    return Counter(json.loads(output))


def flood_accepted(answers: Counter[str], kind: str) -> int:
    return sum(answers[f"{kind} {status}"] for status in (200, 201, 202))
