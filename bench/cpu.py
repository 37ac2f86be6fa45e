"""Server CPU time per request, per kind of request, for one or more builds on the same seeded database.

Throughput on a shared machine says more about the neighbours than about the server; the CPU time the
server process spends per request holds up under load. For each build (a checkout of Rejoinder, run as
``python -m rejoinder serve`` from that directory) and each round, this restores a copy of a seeded
SQLite or PostgreSQL database (made with ``bench/phases seed sqlite|postgres``), starts the server, warms
its caches with one read of every thread, then sends a fixed number of requests of each kind and divides
the server's user+system CPU time (``/proc/PID/stat``) by the requests answered. Builds alternate within
each round, so a neighbour's burst hits both. Kinds (concurrency as in the shared harness):

- ``cold``: every thread read once, one at a time, on a fresh server (measured first, with any kind
  but the pipeline's)
- ``fresh``: mixed reads at c64 on a server of its own that has read nothing yet, as the shared harness's
  ``read-mixed`` meets it: the first reads of each thread, from the database, among the others
- ``hot``: the whole 200-comment thread, c16; ``mixed``: threads by Zipf-like popularity, c64
- ``counts``: 20 URLs a request, c16; ``like``: a like by a new liker, c8
- ``post``: a new comment, c8; ``post1``: a new comment, one at a time
- ``write32``: new comments from 32 writers while 32 readers read the mixed threads, until the writers
  are done (CPU per request of either kind; the readers' p99, the writes per second and the writers' p99
  are printed too); ``write8``: the same with 8 writers, as the shared harness's first write phase
- ``pipeline``: new comments through the whole spam filter, as ``bench/run --pipeline-only`` sends them
  (``bench/adapter.py:FormAdapter``): the shared harness's seeding plan (its threads, its 2,000
  commenters with their addresses, its word-salad texts, replies once their parent is answered), c8; each
  comment a form token first, and where the server answers ``challenge_required``, the proof of work
  solved at the level it names and the comment sent again: with the challenge the refusal carries and
  the same form token, or, from a build whose refusal carries none, with a new form asked for at that
  level. ``pipeline1``: the same, one at a time (the harness's sequential seeding)

The pipeline kinds run on a server of their own, on an empty database of the same kind as ``--seeded``
(a file, or a new database on the same PostgreSQL server; the seeded one is not read), whose site the
build's own command line makes with bench/run's pipeline settings (the filter on, rate limits at 100,000
a minute, ``min_submit_seconds=0``): the harness's seeding starts from nothing too, and an older build
(250b2a7) runs on its own schema. A few comments warm the server first (imports on first use); then its
idle CPU is sampled for a few seconds. Reported: server CPU per stored comment and per request (forms
and posts), the same less the idle rate over the phase, how many comments were published, held or sent
to spam, how many were challenged, and the client's CPU apart: the driver's own, and the proofs of work
solved in a process of its own (one, as the adapter's). The harness's solving waits are not the
server's work: stored comments per second says how long the phase took, not how fast the server is.

On PostgreSQL each kind also reports what the database saw of it (``pg_stat_database`` of the copy):
transactions per request, connections opened and deadlocks.

    .venv/bin/python bench/cpu.py --seeded ~/.cache/rejoinder-bench/phases-seeded.db \\
        --build before=../wt-before --build after=. --rounds 3

    .venv/bin/python bench/cpu.py --seeded SEEDED_BY_OLDER.db --seeded-for after=THE_SAME_MIGRATED.db \\
        --build older=../older --build after=. --kinds hot,counts

    .venv/bin/python bench/cpu.py --build after=. --kinds like,post \\
        --seeded postgresql+psycopg://postgres@127.0.0.1:5432/rejoinder_phases_seeded

    .venv/bin/python bench/cpu.py --seeded sqlite --build base=../wt-250b2a7 --build after=. \\
        --kinds pipeline,pipeline1 --rounds 3

The database is copied for every run (a file in a temporary directory, or a database made from the seeded
one as a template) and deleted after; results (medians over
rounds) are printed as a table and written to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import importlib.util
import itertools
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pipeline_client  # bench/pipeline_client.py: a comment as the API takes it, the proof of work solved

POSTGRES = "postgresql"
KINDS = ("fresh", "hot", "mixed", "counts", "like", "post", "post1", "write8", "write32")
WRITERS = {"write8": 8, "write32": 32}
CONCURRENCY = {"fresh": 64, "hot": 16, "mixed": 64, "counts": 16, "like": 8, "post": 8, "post1": 1}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Through the whole spam filter, as bench/run's pipeline run (``bench/adapter.py:FormAdapter``): clients.
PIPELINE_KINDS = {"pipeline": 8, "pipeline1": 1}
# bench/run's pipeline site: the filter on (the default), the harness's hundreds of comments per address
# let through the rate limits (which still run), no minimum time between form and post.
PIPELINE_SITE = (
    "min_submit_seconds=0",
    "rate_limit_ip=100000/minute",
    "rate_limit_identity=100000/minute",
    "rate_limit_thread=100000/minute",
)
PAGE_BASE = "https://blog.example"  # the harness's page_base, the site's origin
HARNESS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "loadgen.py"
WARM_UP_COMMENTS = 20
IDLE_SECONDS = 5.0


@dataclass
class Workload:
    """What the requests are about: the seeded threads and comments."""

    urls: list[str]
    weights: list[float]
    hot_url: str
    comment_ids: list[int]
    # Published comments by thread URL, for replies (``--replies``).
    published: dict[str, list[int]] = field(default_factory=dict)
    replies: float = 0.0  # the share of new comments that answer a published one of their thread
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    @classmethod
    def from_database(cls, seeded: str) -> Workload:
        threads = (
            "SELECT t.url, count(c.id) FROM threads t LEFT JOIN comments c ON c.thread_id = t.id "
            "GROUP BY t.id ORDER BY t.id"
        )
        connect = sqlite3.connect if not seeded.startswith(POSTGRES) else _postgres
        with contextlib.closing(connect(seeded)) as conn:
            rows = conn.execute(threads).fetchall()
            ids = [row[0] for row in conn.execute("SELECT id FROM comments ORDER BY id")]
            placed = conn.execute(
                "SELECT t.url, c.id FROM comments c JOIN threads t ON t.id = c.thread_id "
                "WHERE c.status = 'published' ORDER BY c.id"
            ).fetchall()
        published: dict[str, list[int]] = {}
        for url, comment_id in placed:
            published.setdefault(url, []).append(comment_id)
        urls = [url for url, _ in rows]
        hot = min(rows, key=lambda row: abs(row[1] - 200))[0]
        order = list(range(len(urls)))
        random.Random(42).shuffle(order)  # popularity independent of size, as the harness does
        weights = [0.0] * len(urls)
        for rank, index in enumerate(order, start=1):
            weights[index] = 1.0 / rank
        return cls(urls, list(itertools.accumulate(weights)), hot, ids, published)

    def popular_url(self) -> str:
        return self.rng.choices(self.urls, cum_weights=self.weights)[0]


def _postgres(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


class Database:
    """A copy of the seeded database for one server, deleted after: a file, or a PostgreSQL database
    made from the seeded one as a template."""

    def __init__(self, seeded: str, scratch: Path, purpose: str = "cpu", *, empty: bool = False) -> None:
        """``empty``: a new, empty database of the same kind (on the same PostgreSQL server) instead."""
        self.seeded = seeded
        if seeded.startswith(POSTGRES):
            base, self.template = seeded.rsplit("/", 1)
            # BENCH_PGDB, where set, begins the copy's name: one machine, many checkouts' benchmarks.
            self.name = f"{os.environ.get('BENCH_PGDB', self.template)}_{purpose}_{os.getpid()}"
            self.url = f"{base}/{self.name}"
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            template = "" if empty else f' TEMPLATE "{self.template}"'
            self._admin(f'CREATE DATABASE "{self.name}"{template}')
        else:
            if not empty:
                shutil.copy(seeded, scratch / "bench.db")
            self.url = f"sqlite:///{scratch / 'bench.db'}"

    def _admin(self, statement: str) -> None:
        with contextlib.closing(_postgres(self.seeded.rsplit("/", 1)[0] + "/postgres")) as conn:
            conn.execute(statement)

    def stats(self) -> dict[str, float]:
        """PostgreSQL's counters for this copy (transactions, connections opened, deadlocks); {} on SQLite."""
        if not self.seeded.startswith(POSTGRES):
            return {}
        query = (
            "SELECT pg_stat_clear_snapshot(), xact_commit + xact_rollback, sessions, deadlocks "
            "FROM pg_stat_database WHERE datname = %s"
        )
        with contextlib.closing(_postgres(self.url)) as conn:
            _, transactions, sessions, deadlocks = conn.execute(query, (self.name,)).fetchone()
        return {"transactions": transactions, "sessions": sessions, "deadlocks": deadlocks}

    def drop(self) -> None:
        if self.seeded.startswith(POSTGRES):
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def percentile(values: list[float], share: float) -> float:
    """The value ``share`` of the way up ``values`` sorted (NaN for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def read_path(url: str) -> str:
    return f"/api/v1/comments?site=default&url={quote(url, safe='')}&limit=1000"


class Client:
    """A keep-alive HTTP/1.1 connection: cheap enough that the server, not the client, sets the pace."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        reused = self.writer is not None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        try:
            status_line = await self.reader.readline()
        except ConnectionResetError:
            status_line = b""
        if not status_line and reused:
            # The server closed the connection while it sat idle past its keep-alive (a client of the
            # pipeline kinds waits seconds for its proof of work): the request was not read; send it again.
            self.close()
            self.writer = None
            return await self.request(method, path, body, headers)
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Run:
    def __init__(self, port: int, work: Workload) -> None:
        self.port, self.work = port, work
        self.counter = itertools.count()
        self.errors: dict[int, int] = {}

    def _check(self, status: int, expected: int) -> None:
        if status != expected:
            self.errors[status] = self.errors.get(status, 0) + 1

    async def one(self, kind: str, client: Client) -> float:
        n = next(self.counter)
        started = time.perf_counter()
        if kind == "hot":
            status, _ = await client.request("GET", read_path(self.work.hot_url))
            self._check(status, 200)
        elif kind == "mixed":
            status, _ = await client.request("GET", read_path(self.work.popular_url()))
            self._check(status, 200)
        elif kind == "counts":
            urls = "&".join(f"url={quote(self.work.popular_url(), safe='')}" for _ in range(20))
            status, _ = await client.request("GET", f"/api/v1/counts?site=default&{urls}")
            self._check(status, 200)
        elif kind == "like":
            comment = self.work.rng.choice(self.work.comment_ids)
            liker = (
                f"X-Rejoinder-Liker: cpu-{os.getpid()}-{n}\r\nX-Forwarded-For: 2001:db8:{n % 60000:x}::9\r\n"
            )
            status, _ = await client.request("PUT", f"/api/v1/comments/{comment}/like", headers=liker)
            self._check(status, 200)
        else:  # a new comment
            url = self.work.popular_url()
            body = {
                "site": "default",
                "url": url,
                "title": "A post",
                "body": f"Comment number {n} about *caches*, [latency](https://example.com/{n}) and more.",
                "author": {"name": f"Writer {n % 500}", "email": f"writer{n % 500}@example.com"},
            }
            answerable = self.work.published.get(url)
            if answerable and self.work.rng.random() < self.work.replies:
                body["parent_id"] = self.work.rng.choice(answerable)
            address = f"X-Forwarded-For: 2001:db8:{n % 60000:x}::7\r\n"
            status, _ = await client.request("POST", "/api/v1/comments", json.dumps(body).encode(), address)
            self._check(status, 201)
        return time.perf_counter() - started

    async def drive(
        self, kind: str, total: int, concurrency: int, until: asyncio.Event | None = None
    ) -> list[float]:
        """``total`` requests from ``concurrency`` clients, or fewer if ``until`` is set first."""
        latencies: list[float] = []
        left = itertools.count()

        async def worker() -> None:
            client = Client(self.port)
            try:
                while next(left) < total and not (until is not None and until.is_set()):
                    latencies.append(await self.one(kind, client))
            finally:
                client.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies


def load_harness_plan(path: Path) -> Any:
    """The shared harness's seeding plan (``build_plan()``, its defaults: threads, commenters with their
    addresses, texts, replies), from ``loadgen.py`` itself. The plan needs nothing of the harness's HTTP
    client: where ``aiohttp`` is not installed, a stand-in lets the module load."""
    if not path.exists():
        raise SystemExit(f"{path} not found: the pipeline kinds post the shared harness's plan (--harness)")
    spec = importlib.util.spec_from_file_location("rejoinder_bench_harness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    stand_in = importlib.util.find_spec("aiohttp") is None
    if stand_in:
        sys.modules["aiohttp"] = types.ModuleType("aiohttp")
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        if stand_in:
            del sys.modules["aiohttp"]
    return module.build_plan()


class Pipeline:
    """New comments of the harness's plan through the whole spam filter, as ``FormAdapter`` posts them: a
    form before each, the proof of work solved (in a process of its own) when the server asks for it."""

    def __init__(self, port: int, plan: Any, solver: concurrent.futures.Executor) -> None:
        self.port, self.plan, self.solver = port, plan, solver
        self.ids: dict[int, int] = {}  # planned comment -> the id the server gave it
        # What became of each planned comment: its status ("+work": after a proof of work), or "refused"
        self.outcomes: dict[int, str] = {}
        self.worked: set[int] = set()  # ids of the comments stored after a proof of work was asked for
        self.answered: dict[int, asyncio.Event] = {}
        self.tally: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.requests = 0
        self.solving = 0.0  # CPU seconds of the solver process

    async def post(
        self, client: Client, thread: Any, user: Any, text: str, parent_id: int | None
    ) -> dict[str, Any] | None:
        """One comment, as ``FormAdapter.create_comment``: the stored comment, or None if refused."""
        data = pipeline_client.comment_body("default", PAGE_BASE + thread.url, thread, user, text, parent_id)
        difficulty, challenge = 0, None
        for _attempt in range(2):
            if challenge is None:
                # The adapter fetches its form without the commenter's address, as the harness's session does.
                query = "site=default" + (f"&difficulty={difficulty}" if difficulty else "")
                status, answer = await client.request("GET", f"/api/v1/form?{query}")
                self.requests += 1
                if status != 200:
                    self.refusals[f"form {status}"] += 1
                    return None
                form = json.loads(answer)
                data["form_token"] = form["form_token"]
                challenge = form.get("challenge") if difficulty else None
            if challenge:
                loop = asyncio.get_running_loop()
                data["altcha"], used = await loop.run_in_executor(
                    self.solver, pipeline_client.solve_timed, challenge
                )
                self.solving += used
                self.tally["challenged"] += 1
            address = f"X-Forwarded-For: {user.ip}\r\n"
            sent = json.dumps(data).encode()
            status, answer = await client.request("POST", "/api/v1/comments", sent, address)
            self.requests += 1
            if status == 201:
                comment: dict[str, Any] = json.loads(answer)["comment"]
                self.tally[comment["status"]] += 1
                if difficulty:
                    self.worked.add(int(comment["id"]))
                return comment
            if status == 422 and b"challenge_required" in answer:
                # 250b2a7 names no level: 1 only marks the next form's challenge as one to solve. A refusal
                # that carries its challenge leaves the form token unused: the retry needs no second form.
                self.tally["refused_for_work"] += 1
                error = json.loads(answer)["error"]
                difficulty = max(1, int(error.get("difficulty") or 0))
                challenge = error.get("challenge")
                continue
            code = json.loads(answer).get("error", {}).get("code", "") if answer.startswith(b"{") else ""
            self.refusals[f"{status} {code}".strip()] += 1
            return None
        self.refusals["challenge_loop"] += 1
        return None

    async def planned(self, client: Client, index: int, wait_for_parent: bool) -> None:
        """The plan's comment ``index``; a reply once its parent has been answered (skipped if its parent
        was refused, as the harness does)."""
        planned = self.plan.comments[index]
        answered = self.answered.setdefault(index, asyncio.Event())
        try:
            parent_id = None
            if planned.parent is not None:
                if wait_for_parent:
                    await self.answered.setdefault(planned.parent, asyncio.Event()).wait()
                parent_id = self.ids.get(planned.parent)
                if parent_id is None:
                    self.refusals["parent_missing"] += 1
                    self.outcomes[index] = "refused"
                    return
            thread, user = self.plan.threads[planned.thread], self.plan.users[planned.user]
            comment = await self.post(client, thread, user, planned.text, parent_id)
            self.outcomes[index] = "refused"
            if comment is not None:
                self.ids[index] = int(comment["id"])
                self.outcomes[index] = comment["status"] + ("+work" if self.ids[index] in self.worked else "")
        finally:
            answered.set()

    async def drive(self, comments: int, concurrency: int, only: set[int] | None = None) -> None:
        """The plan's first ``comments`` (those of them in ``only``, if given), from ``concurrency``
        clients."""
        left = iter([index for index in range(comments) if only is None or index in only])

        async def worker() -> None:
            client = Client(self.port)
            try:
                for index in left:
                    await self.planned(client, index, wait_for_parent=concurrency > 1)
            finally:
                client.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def warm_up(self, comments: int) -> None:
        """A few comments by a commenter and in a thread of no plan's (texts from the plan's end): the
        server's first verdict imports and loads what every later one uses."""
        user = types.SimpleNamespace(name="warm-up", email="warm-up@example.com", ip="2001:db8:ffff::9")
        thread = types.SimpleNamespace(url="/posts/warm-up", title="Warming up")
        client = Client(self.port)
        try:
            for planned in self.plan.comments[-comments:]:
                await self.post(client, thread, user, planned.text, None)
        finally:
            client.close()
        self.tally.clear()
        self.refusals.clear()
        self.requests, self.solving = 0, 0.0


async def measure_pipeline(
    kind: str, port: int, pid: int, plan: Any, comments: int, only: set[int] | None = None
) -> tuple[dict[str, float], dict[str, int], dict[int, str]]:
    """``comments`` of the plan (those of them in ``only``, if given) through the whole filter from
    ``PIPELINE_KINDS[kind]`` clients: the figures, the refusals other than for a proof of work (by status
    and code), and what became of each comment sent."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as solver:
        solver.submit(time.process_time).result()  # started before anything is measured
        run = Pipeline(port, plan, solver)
        await run.warm_up(WARM_UP_COMMENTS)
        await asyncio.sleep(1.0)
        idle_before = cpu_seconds(pid)
        await asyncio.sleep(IDLE_SECONDS)
        idle = (cpu_seconds(pid) - idle_before) / IDLE_SECONDS  # CPU seconds per second at rest
        before, client_before, started = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await run.drive(comments, PIPELINE_KINDS[kind], only)
        elapsed = time.perf_counter() - started
        client_used = time.process_time() - client_before
        await asyncio.sleep(0.3)  # work finishing after the last answer (the bus, the outbox) counts too
        used = cpu_seconds(pid) - before
    stored = sum(run.tally[status] for status in ("published", "pending", "spam"))
    per_stored = 1000 / max(stored, 1)
    figures = {
        "cpu_ms_per_stored": used * per_stored,
        "cpu_ms_per_stored_less_idle": (used - idle * (elapsed + 0.3)) * per_stored,
        "cpu_ms_per_request": 1000 * used / max(run.requests, 1),
        "idle_cpu_ms_per_s": 1000 * idle,
        "server_cores": used / elapsed,
        "stored": stored,
        "stored_per_s": stored / elapsed,
        "requests": run.requests,
        "published": run.tally["published"],
        "held": run.tally["pending"],
        "spam": run.tally["spam"],
        "challenged": run.tally["challenged"],
        "refused_for_work": run.tally["refused_for_work"],
        "refused_otherwise": sum(run.refusals.values()),
        "client_cpu_ms_per_stored": client_used * per_stored,
        "solving_cpu_s": run.solving,
    }
    return figures, dict(run.refusals), run.outcomes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    code: Path, python: str, database: str, port: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    command = [python, "-m", "rejoinder", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--database", database]
    environment = {**os.environ, "REJOINDER_TRUSTED_PROXIES": "127.0.0.1", **env}
    with log.open("wb") as output:  # a file, as a deployment's log would be: every line is written
        server = subprocess.Popen(command, cwd=code, env=environment, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"the server of {code} exited with {server.returncode}") from None
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the server of {code} did not start")


async def measure(kind: str, run: Run, pid: int, requests: int, database: Database) -> dict[str, float]:
    seen_before = database.stats()
    before, started = cpu_seconds(pid), time.perf_counter()
    extra: dict[str, float] = {}
    if kind in WRITERS:
        # Readers read only while the writers write: their latencies are all "beside 32 writers".
        written = asyncio.Event()

        async def write() -> list[float]:
            try:
                return await run.drive("post", requests // 10, WRITERS[kind])
            finally:
                written.set()

        writes, reads = await asyncio.gather(write(), run.drive("mixed", requests * 10, 32, until=written))
        writing = time.perf_counter() - started
        latencies, answered = reads, len(writes) + len(reads)
        extra = {
            "writes_per_s": len(writes) / writing,
            "writers_p99_ms": 1000 * percentile(writes, 0.99),
            "reads_per_s": len(reads) / writing,
        }
    else:
        sent = "mixed" if kind == "fresh" else kind
        latencies = await run.drive(sent, requests, CONCURRENCY[kind])
        answered = len(latencies)
    elapsed, used = time.perf_counter() - started, cpu_seconds(pid) - before
    await asyncio.sleep(0.3)  # work finishing after the last answer (fan-out, housekeeping) counts too
    used = cpu_seconds(pid) - before
    if seen_before:
        await asyncio.sleep(1.0)  # the database publishes its counters about once a second
        seen = {name: value - seen_before[name] for name, value in database.stats().items()}
        extra["pg_transactions_per_request"] = seen["transactions"] / answered
        extra["pg_connections_opened"] = seen["sessions"]
        extra["pg_deadlocks"] = seen["deadlocks"]
    return {
        "cpu_ms_per_request": 1000 * used / answered,
        "rps": answered / elapsed,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        **extra,
    }


async def one_build(
    args: argparse.Namespace, code: Path, work: Workload | None, seeded: str
) -> dict[str, dict[str, float]]:
    kinds = [kind for kind in args.kinds.split(",") if kind not in PIPELINE_KINDS]
    results: dict[str, dict[str, float]] = {}
    if kinds:
        assert work is not None
        results = await seeded_kinds(args, code, work, seeded, kinds)
    for kind in args.kinds.split(","):
        if kind in PIPELINE_KINDS:  # each on a server and an empty database of its own
            async with serving(args, code, seeded, empty=True) as (server, _database, port):
                results[kind], refusals, outcomes = await measure_pipeline(
                    kind, port, server.pid, args.plan, args.requests // 4, args.only
                )
                results[f"{kind} outcomes"] = {str(index): seen for index, seen in outcomes.items()}
                results[kind]["rss_mib"] = rss_mib(server.pid)
            if refusals:
                results[f"{kind} refusals"] = {reason: float(n) for reason, n in refusals.items()}
    return results


async def seeded_kinds(
    args: argparse.Namespace, code: Path, work: Workload, seeded: str, kinds: list[str]
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    errors: dict[int, int] = {}
    if "fresh" in kinds:  # a server of its own: the warming below would leave it nothing to read first
        async with serving(args, code, seeded) as (server, database, port):
            first = Run(port, work)
            results["fresh"] = await measure("fresh", first, server.pid, args.requests, database)
            errors = first.errors
    async with serving(args, code, seeded) as (server, database, port):
        run = Run(port, work)
        run.errors = errors
        # Every thread read once, one at a time (``cold``: from the database), so that the other kinds meet
        # the caches as a running server has them.
        before, client = cpu_seconds(server.pid), Client(port)
        for url in work.urls:
            status, _ = await client.request("GET", read_path(url))
            run._check(status, 200)
        client.close()
        results["cold"] = {"cpu_ms_per_request": 1000 * (cpu_seconds(server.pid) - before) / len(work.urls)}
        for kind in kinds:
            if kind == "fresh":
                continue
            requests = args.requests * (4 if kind in ("hot", "counts") else 1)
            if kind in ("post", "post1", "like"):
                requests //= 4
            results[kind] = await measure(kind, run, server.pid, requests, database)
        results["memory"] = {"rss_mib": rss_mib(server.pid)}
        if run.errors:
            results["errors"] = {str(status): count for status, count in run.errors.items()}
        return results


@contextlib.asynccontextmanager
async def serving(
    args: argparse.Namespace, code: Path, seeded: str, *, empty: bool = False
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Database, int]]:
    """A server of ``code`` on a fresh copy of the seeded database; stopped, and the copy deleted, after.
    ``empty``: on an empty database instead, with the pipeline's site made by ``code``'s command line."""
    scratch = Path(tempfile.mkdtemp(prefix="rejoinder-cpu-"))
    database = Database(seeded, scratch, "pipeline" if empty else "cpu", empty=empty)
    try:
        if empty:
            try:
                make_pipeline_site(args, code, database.url)
            except BaseException:
                database.drop()
                raise
        with server_on(args, code, database, scratch) as (server, port):
            yield server, database, port
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def server_on(
    args: argparse.Namespace, code: Path, database: Any, scratch: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A server of ``code`` on ``database`` (anything with a ``url`` and a ``drop()``), its log in
    ``scratch``; stopped, and the database dropped, after."""
    port = args.port or free_port()
    env = dict(item.split("=", 1) for item in args.env)
    server = start_server(code, args.python, database.url, port, env, scratch / "server.log")
    try:
        yield server, port
    finally:
        stop_server(server)
        database.drop()


def make_pipeline_site(args: argparse.Namespace, code: Path, database: str) -> None:
    """The site bench/run's pipeline run makes, by ``code``'s own command line (which makes the schema
    first): an older build's settings are its own."""
    command = [args.python, "-m", "rejoinder", "admin", "site", "create", "default", "--origin", PAGE_BASE]
    command += [part for setting in PIPELINE_SITE for part in ("--set", setting)]
    environment = {**os.environ, **dict(item.split("=", 1) for item in args.env)}
    made = subprocess.run(
        [*command, "--database", database], cwd=code, env=environment, capture_output=True, text=True
    )
    if made.returncode != 0:
        raise SystemExit(f"the site could not be made by {code}: {made.stderr.strip()[-2000:]}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop a server as its service manager would (SIGTERM), killing it if it has not gone in 20 s."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def add_seeded_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seeded",
        required=True,
        help="a seeded SQLite file, or a PostgreSQL URL (postgresql+psycopg://…/db) of a seeded database "
        "used as a template; neither is modified",
    )


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``server_on`` reads, and ``--build``: what each script that serves builds asks for."""
    parser.add_argument("--build", action="append", required=True, help="LABEL=DIR, a checkout to serve from")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs every build")
    parser.add_argument(
        "--port", type=int, default=0, help="the port every server listens on (default: any free one)"
    )
    parser.add_argument("--env", action="append", default=[], help="K=V for every server")


def builds(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """``--build LABEL=DIR`` as given, in order."""
    return [(label, Path(path).resolve()) for label, path in (item.split("=", 1) for item in args.build)]


def revision(code: Path) -> str:
    """The commit checked out in ``code``, for the record of a run ("" where it is not a git checkout)."""
    found = subprocess.run(["git", "-C", str(code), "rev-parse", "--short=7", "HEAD"], capture_output=True)
    return found.stdout.decode().strip() if found.returncode == 0 else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_seeded_argument(parser)
    add_build_arguments(parser)
    parser.add_argument(
        "--seeded-for",
        action="append",
        default=[],
        help="LABEL=FILE: this build's copy of the same seeded SQLite database, already migrated to its "
        "schema (a newer build migrates an older seed at every start, which can take minutes)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--requests", type=int, default=4000, help="requests per kind (x4 hot, counts; /4 writes)"
    )
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--replies",
        type=float,
        default=0.0,
        help="the share of new comments that answer a seeded published comment of their thread "
        "(the shared harness's write phase: 0.2)",
    )
    parser.add_argument(
        "--harness",
        type=Path,
        default=HARNESS,
        help="the shared harness's loadgen.py, whose seeding plan the pipeline kinds post "
        "(default: ../shared/bench/loadgen.py beside the repository)",
    )
    parser.add_argument(
        "--plan-only",
        type=Path,
        help="a JSON list of the plan's comments (their indices) the pipeline kinds send, of the first "
        "--requests/4, the others left out (a reply whose parent is left out is skipped): the same comments "
        "for every build, those an earlier run's outcomes pick",
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    args.only = set(json.loads(args.plan_only.read_text())) if args.plan_only else None
    unknown = sorted(set(kinds) - {*KINDS, *PIPELINE_KINDS})
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    seeded_kinds = [kind for kind in kinds if kind not in PIPELINE_KINDS]
    work = None
    if seeded_kinds:  # the pipeline kinds only take the kind of database from --seeded
        if not args.seeded.startswith(POSTGRES) and not Path(args.seeded).exists():
            raise SystemExit(f"{args.seeded} not found: seed one with `bench/phases seed sqlite`")
        work = Workload.from_database(args.seeded)
        work.replies = args.replies
    args.plan = load_harness_plan(args.harness) if len(seeded_kinds) < len(kinds) else None
    served = builds(args)
    seeded_for = dict(item.split("=", 1) for item in args.seeded_for)
    rounds: dict[str, list[dict[str, dict[str, float]]]] = {label: [] for label, _ in served}
    for number in range(args.rounds):
        for label, code in served if number % 2 == 0 else served[::-1]:
            result = asyncio.run(one_build(args, code, work, seeded_for.get(label, args.seeded)))
            rounds[label].append(result)
            print(f"round {number + 1} {label}: " + json.dumps(result), file=sys.stderr, flush=True)
    medians = {
        label: {
            kind: {name: statistics.median(r[kind][name] for r in results) for name in results[0][kind]}
            for kind in results[0]
            if kind != "errors" and not kind.endswith((" refusals", " outcomes"))  # not in every round
        }
        for label, results in rounds.items()
    }
    if seeded_kinds:
        print_table(medians, served, seeded_kinds)
    for kind in kinds:
        if kind in PIPELINE_KINDS:
            print_pipeline_table(medians, served, kind)
    if args.out:
        args.out.write_text(json.dumps({"rounds": rounds, "medians": medians}, indent=1))


Medians = dict[str, dict[str, dict[str, float]]]


def print_table(medians: Medians, served: list[tuple[str, Path]], kinds: list[str]) -> None:
    print("| kind | " + " | ".join(f"{label}: CPU ms/req (rps, p99 ms)" for label, _ in served) + " |")
    print("|---|" + "---|" * len(served))
    for kind in ["cold", *kinds]:
        cells = [
            f"{m[kind]['cpu_ms_per_request']:.3f}"
            + (f" ({m[kind]['rps']:,.0f}, {m[kind]['p99_ms']:.1f})" if "rps" in m[kind] else "")
            + (f" writes {m[kind]['writes_per_s']:,.0f}/s" if "writes_per_s" in m[kind] else "")
            + (
                f" [{m[kind]['pg_transactions_per_request']:.2f} tx/req, "
                f"{m[kind]['pg_connections_opened']:.0f} conn, {m[kind]['pg_deadlocks']:.0f} deadlocks]"
                if "pg_deadlocks" in m[kind]
                else ""
            )
            for m in (medians[label] for label, _ in served)
        ]
        print(f"| {kind} | " + " | ".join(cells) + " |")
        if kind in WRITERS:
            cells = [
                f"{m[kind]['writes_per_s']:,.0f}/s, writers' p99 {m[kind]['writers_p99_ms']:,.0f} ms"
                for m in (medians[label] for label, _ in served)
            ]
            print(f"| {kind}: writes | " + " | ".join(cells) + " |")
    print(
        "| RSS at the end | "
        + " | ".join(f"{medians[label]['memory']['rss_mib']:.1f} MiB" for label, _ in served)
        + " |"
    )


def print_pipeline_table(medians: Medians, served: list[tuple[str, Path]], kind: str) -> None:
    """The medians of a pipeline kind, a row per figure."""
    rows = (
        (
            "server CPU per stored comment, ms (less its idle rate)",
            "{cpu_ms_per_stored:.2f} ({cpu_ms_per_stored_less_idle:.2f})",
        ),
        ("server CPU per request (forms and posts), ms", "{cpu_ms_per_request:.2f}"),
        ("stored: published / held / spam", "{stored:,.0f}: {published:,.0f} / {held:,.0f} / {spam:,.0f}"),
        (
            "proofs of work solved / posts refused for one / refused otherwise",
            "{challenged:,.0f} / {refused_for_work:,.0f} / {refused_otherwise:,.0f}",
        ),
        (
            "client CPU per stored comment, ms (its proofs of work apart, s)",
            "{client_cpu_ms_per_stored:.2f} ({solving_cpu_s:.1f} s)",
        ),
        (
            "stored per second; the server's share of a core; at rest, ms/s",
            "{stored_per_s:.1f}; {server_cores:.2f}; {idle_cpu_ms_per_s:.1f}",
        ),
    )
    print(f"\n| {kind} | " + " | ".join(label for label, _ in served) + " |")
    print("|---|" + "---|" * len(served))
    for title, cell in rows:
        print(f"| {title} | " + " | ".join(cell.format(**medians[label][kind]) for label, _ in served) + " |")


if __name__ == "__main__":
    main()
