"""Scale-out benchmark: the shared harness against ``rejoinder serve --workers N`` (N = 1, 2, 4 by default)
on one PostgreSQL and one Redis. Run it as ``bench/scale`` (``--quick`` for a smoke run).

The workload is seeded once into a fresh PostgreSQL database through two processes; every N then runs on
its own copy of that database (``CREATE DATABASE … TEMPLATE``), so each curve point starts from the same
data, and with its own Redis key prefix on the machine's Redis (keys deleted afterwards, never FLUSHALL).
Per N: mixed reads (c64) on the fresh processes, whose caches are cold (kept as ``read-mixed-cold``),
then, as on a server that has been running, hot reads of the 200-comment thread (c16), mixed reads again,
counts, likes, writes at c8 and c32 while reads run at c32, and the harness's check that every
acknowledged comment is readable.
Results: ``bench/results/scale-pg-wN.json`` (and ``scale-pg-seed.json``); ``bench/report.py`` turns them
into a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
LOADGEN = ROOT.parent / "shared" / "bench" / "loadgen.py"
RESULTS = ROOT / "bench" / "results"
CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "rejoinder-bench"))
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
# BENCH_PORT: the port the servers listen on, for a machine shared by several runs.
PORT = int(os.environ.get("BENCH_PORT", "18200"))
ORIGIN = "https://blog.example"


def database_url(name: str) -> str:
    return f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


class Scratch:
    """The databases and Redis prefixes this run creates, all removed when it ends (also on failure)."""

    def __init__(self) -> None:
        self.admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True)
        self.redis = redis.Redis.from_url(REDIS)
        self.databases: list[str] = []
        self.prefixes: list[str] = []

    def database(self, name: str, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        self.admin.execute(f"CREATE DATABASE {name}{clause}")  # names are ours: [a-z0-9_] only
        self.databases.append(name)
        return name

    def drop_database(self, name: str) -> None:
        self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if name in self.databases:
            self.databases.remove(name)

    def prefix(self, prefix: str) -> str:
        self.prefixes.append(prefix)
        return prefix

    def drop_prefix(self, prefix: str) -> None:
        keys = list(self.redis.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            self.redis.delete(*keys)
        if prefix in self.prefixes:
            self.prefixes.remove(prefix)

    def close(self) -> None:
        for name in list(self.databases):
            self.drop_database(name)
        for prefix in list(self.prefixes):
            self.drop_prefix(prefix)
        self.admin.close()
        self.redis.close()


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def bench_python() -> str:
    venv = CACHE / "bench-venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "aiohttp", "uvloop"], check=True)
    return str(venv / "bin" / "python")


def harness(
    *,
    database: str,
    prefix: str,
    workers: int,
    phases: str,
    state: Path,
    label: str,
    out: Path,
    quick: bool,
    reset: str | None = None,
) -> None:
    serve = f"{python()} -m rejoinder serve --host 127.0.0.1 --port {PORT} --workers {workers}"
    env = {
        "REJOINDER_DATABASE_URL": database_url(database),
        "REJOINDER_REDIS_URL": REDIS,
        "REJOINDER_REDIS_PREFIX": prefix,
        "REJOINDER_TRUSTED_PROXIES": "127.0.0.1",
    }
    command = [
        bench_python(),
        str(LOADGEN),
        "--adapter",
        "bench/adapter.py:WholeThreadAdapter",
        "--base",
        f"http://127.0.0.1:{PORT}",
        "--server-cmd",
        serve,
        *(arg for key, value in env.items() for arg in ("--server-env", f"{key}={value}")),
        "--server-log",
        str(CACHE / f"scale-server-w{workers}.log"),
        "--ready-timeout",
        "60",
        "--phases",
        phases,
        "--hot-conc",
        "16",
        "--state",
        str(state),
        "--label",
        label,
        "--out",
        str(out),
        *(["--reset-cmd", reset] if reset else []),
        *(["--quick"] if quick else []),
    ]
    print(f"bench/scale: {label}: {workers} process(es), {database}, Redis prefix {prefix}", flush=True)
    cold: dict[str, object] | None = None
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as run:
        assert run.stdout is not None
        for line in run.stdout:
            print(line, end="", flush=True)
            # The first mixed-read phase meets cold caches; the results file keeps only the last one.
            if cold is None and "] read-mixed-c64 {" in line:
                cold = ast.literal_eval(line[line.index("{") :])
    if run.returncode:
        raise subprocess.CalledProcessError(run.returncode, command)
    if cold is not None:
        result = json.loads(out.read_text())
        result["read-mixed-cold"] = cold
        out.write_text(json.dumps(result, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: a tenth of the data, 3 s phases")
    parser.add_argument("--workers", default="1,2,4", help="process counts to measure (default 1,2,4)")
    args = parser.parse_args()
    if not LOADGEN.exists():
        sys.exit(f"bench/scale: {LOADGEN} not found (the shared harness lives beside the repository)")
    counts = [int(n) for n in args.workers.split(",")]
    suffix = "-quick" if args.quick else ""
    run = f"{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}"
    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    scratch = Scratch()
    try:
        seeded = scratch.database(f"rjbench_{run}_seed")
        create_site = (
            f"{shlex.quote(python())} -m rejoinder admin site create default --origin {ORIGIN} "
            f"--set spam_filter=false --database {shlex.quote(database_url(seeded))} >/dev/null"
        )
        seed_state = CACHE / f"scale-state{suffix}.json"
        harness(
            database=seeded,
            prefix=scratch.prefix(f"rjbench-{run}-seed"),
            workers=2,
            phases="seed",
            state=seed_state,
            label="rejoinder-pg-seed",
            out=RESULTS / f"scale-pg-seed{suffix}.json",
            quick=args.quick,
            reset=create_site,
        )
        for workers in counts:
            # The write phase adds to the state file: every N starts from the seeded copy of both.
            database = scratch.database(f"rjbench_{run}_w{workers}", template=seeded)
            prefix = scratch.prefix(f"rjbench-{run}-w{workers}")
            state = CACHE / f"scale-state-w{workers}{suffix}.json"
            shutil.copyfile(seed_state, state)
            harness(
                database=database,
                prefix=prefix,
                workers=workers,
                # Mixed reads first, on cold caches: each process loads a thread from PostgreSQL the first
                # time it is asked for it. The second mixed-read phase is measured as a running server's.
                phases="read-mixed,read-hot,read-mixed,counts,like,write",
                state=state,
                label=f"rejoinder-pg-w{workers}",
                out=RESULTS / f"scale-pg-w{workers}{suffix}.json",
                quick=args.quick,
            )
            scratch.drop_database(database)
            scratch.drop_prefix(prefix)
    finally:
        scratch.close()
    if not args.quick:
        report = subprocess.run(
            [python(), "bench/report.py"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        (ROOT / "docs" / "benchmarks.md").write_text(report)
        print("bench/scale: wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
