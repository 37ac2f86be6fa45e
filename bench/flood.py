"""What a flood from one address costs the readers on other addresses: their p99 with and without it.

Starts ``rejoinder serve`` from this checkout on a new database (a SQLite file, or a PostgreSQL database
made on the server given and dropped after; ``BENCH_PGDB`` begins its name), creates the flood site of
``bench/flooding.py``, and runs ten readers (each on its own loopback address) in rounds: a warm-up, a
flooded round of ``--spending-seconds`` in which the flood spends what the limits allow it, then
``--rounds`` pairs of a quiet and a flooded round, interleaved, so that load from elsewhere on the machine
weighs on both sides of a pair. The flood client runs in its own process. The server, the PostgreSQL
backends serving its database and the readers share one core, the flood client has the other: what the
flood costs the readers is then the server's work for it, not the attacker's CPU. Prints, and writes as
JSON under bench/results/, each round's p99 and the median over pairs of flooded p99 / quiet p99 (the
quiet p99 taken as at least ``--quiet-floor-ms``).

    .venv/bin/python bench/flood.py --database sqlite --port 19710
    .venv/bin/python bench/flood.py --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Each reader posts once a round and each address may post 20 comments a minute: keep ``--rounds`` at 9 or
fewer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cpu  # bench/cpu.py: a free port, and stopping a server
import httpx
from flooding import ORIGIN, SITE, SITE_SETTINGS, Round, article, flooded_round, p99, run_round
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
STARTUP_SECONDS = 60


@dataclass
class Placement:
    """The server (and on PostgreSQL the backends serving its database) and the readers on one core, the
    flood client on the others."""

    server_cores: set[int]
    flood_cores: set[int]
    database_url: str
    pinned_backends: set[int] = field(default_factory=set)

    def place_backends(self) -> None:
        """PostgreSQL: move the backends serving the database onto the server's core (new ones come as the
        server's pool grows, so each round asks again); only where this process may (root or PostgreSQL's
        own user). Floating, they met the flood client on its core, and the readers waited for the
        attacker's CPU."""
        if not self.database_url.startswith("postgresql"):
            return
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                for pid in conn.execute(query).scalars():
                    try:
                        os.sched_setaffinity(pid, self.server_cores)
                    except OSError:  # not allowed, or gone since
                        continue
                    self.pinned_backends.add(pid)
        finally:
            engine.dispose()


@contextlib.contextmanager
def beside(server_pid: int, database_url: str) -> Iterator[Placement]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        yield Placement(set(cores), set(cores), database_url)
        return
    for pid in (0, server_pid):
        os.sched_setaffinity(pid, {cores[0]})
    try:
        yield Placement({cores[0]}, set(cores[1:]), database_url)
    finally:
        os.sched_setaffinity(0, cores)


@contextlib.contextmanager
def new_database(choice: str, scratch: Path) -> Iterator[str]:
    """``sqlite``: a file in ``scratch``; a PostgreSQL URL: a new database on that server, dropped after."""
    if choice == "sqlite":
        yield f"sqlite:///{scratch / 'flood.db'}"
        return
    base = choice.rsplit("/", 1)[0]
    name = f"{os.environ.get('BENCH_PGDB', 'rejoinder_bench')}_flood_{os.getpid()}"
    admin = create_engine(f"{base}/postgres", poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def serving(database_url: str, port: int, scratch: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REJOINDER_")}
    env["PYTHONPATH"] = str(ROOT)
    rejoinder = [sys.executable, "-m", "rejoinder"]
    settings = [f"--set={name}={json.dumps(value)}" for name, value in SITE_SETTINGS.items()]
    create = [*rejoinder, "admin", "site", "create", SITE, "--origin", ORIGIN, *settings]
    subprocess.run(
        [*create, "--database", database_url], env=env, cwd=scratch, check=True, capture_output=True
    )
    with (scratch / "server.log").open("ab") as log:
        server = subprocess.Popen(
            [*rejoinder, "serve", "--database", database_url, "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=scratch, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {(scratch / 'server.log').read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        cpu.stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL of a server")
    parser.add_argument("--rounds", type=int, default=7, help="pairs of a quiet and a flooded round")
    parser.add_argument("--round-seconds", type=float, default=1.5)
    parser.add_argument("--spending-seconds", type=float, default=4.0)
    parser.add_argument("--quiet-floor-ms", type=float, default=25.0)
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    parser.add_argument("--out", type=Path, help="the JSON file (default: bench/results/flood-<db>.json)")
    args = parser.parse_args()
    backend = "sqlite" if args.database == "sqlite" else "postgres"
    floor = args.quiet_floor_ms / 1000

    scratch = Path(tempfile.mkdtemp(prefix="rejoinder-flood-"))
    with (
        contextlib.ExitStack() as cleanup,
        new_database(args.database, scratch) as url,
        serving(url, args.port or cpu.free_port(), scratch) as server,
    ):
        cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
        base_url = f"http://127.0.0.1:{server.args[-1]}"
        liked = httpx.post(
            f"{base_url}/api/v1/comments",
            json={"site": SITE, "url": article(0), "title": "Flood", "body": "Like me",
                  "author": {"name": "Ada", "email": "ada@example.org"}},
        )  # fmt: skip
        liked.raise_for_status()
        comment_id = liked.json()["comment"]["id"]
        with beside(server.pid, url) as placed:

            def flooded(seconds: float) -> tuple[Round, Counter[str]]:
                placed.place_backends()
                into = Round(flooded=True)
                answers = flooded_round(base_url, server.pid, comment_id, into, seconds, placed.flood_cores)
                return into, answers

            placed.place_backends()
            run_round(base_url, server.pid, Round(flooded=False), args.round_seconds)  # caches, connections
            spending, flood_answers = flooded(args.spending_seconds)
            rounds: list[Round] = []
            for _ in range(args.rounds):
                placed.place_backends()
                quiet = Round(flooded=False)
                run_round(base_url, server.pid, quiet, args.round_seconds)
                flooded_one, answers = flooded(args.round_seconds)
                flood_answers += answers
                rounds += [quiet, flooded_one]

    pairs = list(zip(rounds[::2], rounds[1::2], strict=True))
    ratios = [p99(f.latencies) / max(p99(q.latencies), floor) for q, f in pairs]
    readers = sum((r.answers for r in [spending, *rounds]), Counter[str]())
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/flood.py", *sys.argv[1:]]),
        "database": backend,
        "load_average": os.getloadavg(),
        "median_ratio": statistics.median(ratios),
        "ratios": [round(r, 3) for r in ratios],
        "quiet_p99_ms": [round(p99(q.latencies) * 1000, 1) for q, _ in pairs],
        "flooded_p99_ms": [round(p99(f.latencies) * 1000, 1) for _, f in pairs],
        "spending_p99_ms": round(p99(spending.latencies) * 1000, 1),
        "reader_requests_per_round": [len(r.latencies) for r in rounds],
        "readers": dict(readers),
        "flood": dict(flood_answers),
        "server_rss_mib": [r.rss >> 20 for r in [spending, *rounds]],
        "postgres_backends_pinned": len(placed.pinned_backends),
    }
    for quiet_ms, flooded_ms, ratio in zip(
        result["quiet_p99_ms"], result["flooded_p99_ms"], ratios, strict=True
    ):
        print(f"quiet p99 {quiet_ms:7.1f} ms   flooded p99 {flooded_ms:7.1f} ms   ratio {ratio:5.2f}")
    print(json.dumps({k: v for k, v in result.items() if k not in ("quiet_p99_ms", "flooded_p99_ms")}))
    out = args.out or RESULTS / f"flood-{backend}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median flooded/quiet p99 {result['median_ratio']:.2f} ({backend}); written to {out}")


if __name__ == "__main__":
    main()
