"""What the harness's client pays per answer of the hot thread, for each build's answer, served fixed.

The shared harness's client (aiohttp, one process) reads the hot 200-comment thread at c16 and is itself
near a core; what it spends per answer limits what it can measure of a server. This isolates that cost
from the server's:

1. **Capture.** For each build (a checkout, run as ``python -m rejoinder serve`` from its directory with
   ``--python``, as ``bench/cpu.py --build`` does), a new SQLite database with the site ``default`` made by
   that build (spam filter off, no rate limits), into which the hot thread of the seeded database (the
   thread nearest 200 comments, ``bench/phases seed``) is posted again through the build's API, comment by
   comment, replies as replies. The same comments for every build, whatever its schema: what differs
   between the answers is the builds' headers and JSON. The thread is read twice, as the harness's client
   asks for it; the second answer (from the server's memory, as a hot read meets it) is kept, head and body,
   byte for byte.
2. **Serve fixed.** One process of its own answers every request on a port per build with that build's
   bytes, in one write, keeping the connection (the ports after ``--port``, where it is given).
3. **Drive.** A client as the harness drives it (aiohttp with uvloop, one session per port, a closed loop
   of ``--concurrency`` readers, ``await response.read()``), in the harness's venv, reads each port for
   ``--seconds`` in turn, ``--rounds`` times (the order reversed every other round), after a warm-up; the
   figure is its ``time.process_time()`` per answer. A 2-byte JSON answer (``floor``) is served and read
   beside the builds': what a request costs the client whatever the answer, which moves with the machine.

Prints the medians with the paired difference to the first build's answer (median and quartiles over
rounds), and writes them with every round as JSON (default ``bench/results/client-cost.json``).

    .venv/bin/python bench/client_cost.py --seeded ~/.cache/rejoinder-bench/phases-seeded.db \\
        --build old=/tmp/old --build before=/tmp/before --build after=. --rounds 16 --port 19520
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import cpu  # bench/cpu.py: the seeded workload, starting and stopping a build's server, a free port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SERVE, DRIVE = "--serve-fixed", "--drive-client"  # how ``measure`` starts this file's two other processes
HARNESS_PYTHON = Path(os.environ.get("BENCH_CACHE", "~/.cache/rejoinder-bench")) / "bench-venv/bin/python"
# What aiohttp sends with a GET, so that each build answers as it answers the harness.
# Served beside the builds' answers: what the client pays for a request whatever the answer, so that the
# part an answer's bytes cost is its figure less this one (the machine's speed moves both).
FLOOR, FLOOR_ANSWER = (
    "floor",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
)
REQUEST_HEADERS = "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nUser-Agent: Python/3 aiohttp/3\r\n"
# The site for the replay: any number of comments, at once, from anyone.
SITE_SETTINGS = (
    "spam_filter=false",
    "min_submit_seconds=0",
    "rate_limit_ip=100000/minute",
    "rate_limit_identity=100000/minute",
    "rate_limit_thread=100000/minute",
)


def hot_thread(seeded: str) -> tuple[str, list[dict[str, Any]]]:
    """The seeded hot thread's URL and its published comments, oldest first."""
    url = cpu.Workload.from_database(seeded).hot_url
    query = (
        "SELECT c.id, c.parent_id, c.author_name, c.author_email, c.author_website, c.body FROM comments c "
        "JOIN threads t ON t.id = c.thread_id WHERE t.url = ? AND c.status = 'published' ORDER BY c.id"
    )
    with contextlib.closing(sqlite3.connect(seeded)) as conn:
        rows = conn.execute(query, (url,)).fetchall()
    names = ("id", "parent_id", "name", "email", "website", "body")
    return url, [dict(zip(names, row, strict=True)) for row in rows]


class Scratch:
    """A new SQLite file for one build's server (what ``cpu.server_on`` needs of a database)."""

    def __init__(self, directory: Path) -> None:
        self.url = f"sqlite:///{directory / 'capture.db'}"

    def drop(self) -> None:
        """The file goes with its directory."""


async def raw_get(port: int, path: str) -> bytes:
    """One GET on a new connection: the answer's head and body exactly as the server sent them."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{REQUEST_HEADERS}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lengths = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
        if not lengths:
            raise SystemExit(f"the answer on port {port} has no Content-Length: {head!r}")
        return head + await reader.readexactly(int(lengths[0].split(b":")[1]))
    finally:
        writer.close()


async def replay(port: int, url: str, comments: list[dict[str, Any]]) -> None:
    """The seeded comments posted again, in order, each from an address of its own, replies as replies."""
    client = cpu.Client(port)
    new_ids: dict[int, int] = {}  # the seeded comment's id: its id in the new database
    try:
        for n, comment in enumerate(comments):
            body: dict[str, Any] = {
                "site": "default",
                "url": url,
                "title": "A post",
                "body": comment["body"],
                "author": {"name": comment["name"], "email": comment["email"]},
            }
            if comment["website"]:
                body["author"]["website"] = comment["website"]
            if comment["parent_id"] is not None:
                body["parent_id"] = new_ids[comment["parent_id"]]
            address = f"X-Forwarded-For: 2001:db8:c1:{n:x}::1\r\n"
            status, answer = await client.request(
                "POST", "/api/v1/comments", json.dumps(body).encode(), address
            )
            if status != 201:
                raise SystemExit(f"posting comment {comment['id']} again: {status} {answer[:200]!r}")
            made = json.loads(answer)
            new_ids[comment["id"]] = made.get("comment", made)["id"]
    finally:
        client.close()


def capture(args: argparse.Namespace, code: Path, url: str, comments: list[dict[str, Any]]) -> bytes:
    """The hot thread's answer from a server of ``code``, read a second time, head and body."""
    scratch = Path(tempfile.mkdtemp(prefix="rejoinder-client-cost-"))
    try:
        database = Scratch(scratch)
        settings = [f"--set={setting}" for setting in SITE_SETTINGS]
        create = [args.python, "-m", "rejoinder", "admin", "site", "create", "default"]
        create += ["--origin", "https://blog.example", *settings, "--database", database.url]
        subprocess.run(create, cwd=code, check=True, capture_output=True)
        with cpu.server_on(args, code, database, scratch) as (_, port):
            asyncio.run(replay(port, url, comments))
            asyncio.run(raw_get(port, cpu.read_path(url)))
            return asyncio.run(raw_get(port, cpu.read_path(url)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def serve_fixed(answers: list[Path], ports: list[int]) -> None:
    """Answer every request on ``ports[i]`` with the bytes of ``answers[i]``, until terminated."""

    class Fixed(asyncio.Protocol):
        def __init__(self, answer: bytes) -> None:
            self.answer, self.pending = answer, b""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.WriteTransport, transport)

        def data_received(self, data: bytes) -> None:
            requests = (self.pending + data).split(b"\r\n\r\n")  # GETs: no bodies
            self.pending = requests.pop()
            for _ in requests:
                self.transport.write(self.answer)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for answer, port in zip(answers, ports, strict=True):
            fixed = answer.read_bytes()
            await loop.create_server(functools.partial(Fixed, fixed), "127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()

    run(serve())


def drive(ports: list[int], path: str, rounds: int, seconds: float, concurrency: int) -> None:
    """The harness's client against each port in turn: prints each round's CPU µs per answer, as JSON."""
    import aiohttp

    async def slot(session: aiohttp.ClientSession, url: str, length: float) -> float:
        answered, deadline = 0, time.perf_counter() + length

        async def reader() -> None:
            nonlocal answered
            while time.perf_counter() < deadline:
                async with session.get(url) as response:
                    await response.read()
                answered += 1

        started = time.process_time()
        await asyncio.gather(*(reader() for _ in range(concurrency)))
        return 1e6 * (time.process_time() - started) / answered

    async def measure() -> list[dict[str, float]]:
        sessions = {
            port: aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                auto_decompress=True,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            for port in ports
        }
        urls = {port: f"http://127.0.0.1:{port}{path}" for port in ports}
        try:
            for port in ports:  # connections open, caches and the allocator warm
                await slot(sessions[port], urls[port], 0.5)
            measured = []
            for number in range(rounds):
                order = ports if number % 2 == 0 else ports[::-1]
                measured.append(
                    {str(port): await slot(sessions[port], urls[port], seconds) for port in order}
                )
            return measured
        finally:
            for session in sessions.values():
                await session.close()

    print(json.dumps(run(measure())))


def run(main: Any) -> Any:
    """As the harness runs its loop: uvloop where it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def describe(answer: bytes) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = len(head.split(b"\r\n")) - 1
    return f"{len(head) + 4:,} + {len(body):,}, {headers} headers"


def quartiles(values: list[float]) -> tuple[float, float]:
    low, _, high = statistics.quantiles(values, n=4)
    return low, high


def measure(args: argparse.Namespace, answers: dict[str, bytes], path: str) -> list[dict[str, float]]:
    """The answers served fixed, each on a port of its own, and the client's CPU per answer for each, by
    round: the fixed server and the client in processes of their own, so that neither's CPU is the other's."""
    scratch = Path(tempfile.mkdtemp(prefix="rejoinder-client-cost-"))
    # The fixed answers on the ports after --port, where it is given.
    ports = {label: args.port + 1 + i if args.port else cpu.free_port() for i, label in enumerate(answers)}
    for label, answer in answers.items():
        (scratch / label).write_bytes(answer)
    serving = [f"{ports[label]}={scratch / label}" for label in answers]
    server = subprocess.Popen([sys.executable, __file__, SERVE, *serving], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != b"ready":
            raise SystemExit("the fixed answers' server did not start")
        plan = {"ports": list(ports.values()), "path": path, "rounds": args.rounds}
        plan |= {"seconds": args.seconds, "concurrency": args.concurrency}
        client = [args.client_python, __file__, DRIVE, json.dumps(plan)]
        measured = json.loads(subprocess.run(client, check=True, capture_output=True, text=True).stdout)
    finally:
        cpu.stop_server(server)
        shutil.rmtree(scratch, ignore_errors=True)
    return [{label: by_port[str(ports[label])] for label in answers} for by_port in measured]


def main() -> None:
    # The two processes ``measure`` starts: this file again, with the harness's interpreter for the client.
    if sys.argv[1:2] == [SERVE]:
        pairs = [item.split("=", 1) for item in sys.argv[2:]]
        serve_fixed([Path(file) for _, file in pairs], [int(port) for port, _ in pairs])
        return
    if sys.argv[1:2] == [DRIVE]:
        drive(**json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seeded", required=True, help="a seeded SQLite file (bench/phases seed sqlite); not modified"
    )
    cpu.add_build_arguments(parser)
    parser.add_argument(
        "--client-python",
        default=str(HARNESS_PYTHON.expanduser()),
        help="the interpreter of the harness's client, with aiohttp and uvloop (default: the venv "
        "bench/phases makes)",
    )
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.0, help="of each answer in each round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, help="the JSON file (default: bench/results/client-cost.json)")
    args = parser.parse_args()
    if not Path(args.client_python).exists():
        raise SystemExit(
            f"{args.client_python} not found: run bench/phases once (it makes the harness's venv)"
        )

    url, comments = hot_thread(args.seeded)
    answers = {label: capture(args, code, url, comments) for label, code in cpu.builds(args)}
    answers[FLOOR] = FLOOR_ANSWER
    for label, answer in answers.items():
        print(f"{label}: {describe(answer)}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()
    measured = measure(args, answers, cpu.read_path(url))
    load_after = os.getloadavg()

    rounds = {label: [by_label[label] for by_label in measured] for label in answers}
    first = next(iter(answers))
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/client_cost.py", *sys.argv[1:]]),
        "builds": {label: cpu.revision(code) or str(code) for label, code in cpu.builds(args)},
        "load_average_before": load_before,
        "load_average_after": load_after,
        "answers": {label: describe(answer) for label, answer in answers.items()},
        "client_cpu_us_per_answer": rounds,
        "medians": {label: statistics.median(values) for label, values in rounds.items()},
        "paired_to": first,
        "paired_differences": {},
        "above_the_floor": {},
    }
    median_of = f"client CPU per answer, median of {args.rounds}"
    print(f"| answer (bytes: head + body) | {median_of} | above the floor | paired difference to {first} |")
    print("|---|---|---|---|")
    for label, values in rounds.items():
        above = statistics.median(value - floor for value, floor in zip(values, rounds[FLOOR], strict=True))
        result["above_the_floor"][label] = above
        cell = "—"
        if label != first:
            differences = [value - base for value, base in zip(values, rounds[first], strict=True)]
            low, high = quartiles(differences)
            result["paired_differences"][label] = {
                "median": statistics.median(differences), "quartiles": [low, high]
            }  # fmt: skip
            cell = f"{statistics.median(differences):+.1f} µs (IQR {low:+.1f} … {high:+.1f})"
        figures = f"{statistics.median(values):.1f} µs | {above:.1f} µs"
        print(f"| {label} ({describe(answers[label])}) | {figures} | {cell} |")
    print(
        f"load average: {' '.join(f'{v:.2f}' for v in load_before)} before, "
        f"{' '.join(f'{v:.2f}' for v in load_after)} after"
    )
    out = args.out or RESULTS / "client-cost.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
