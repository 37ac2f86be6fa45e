"""The sections of docs/benchmarks.md on several processes: the scale-out curve (``bench/scale``), staleness
across processes (``bench/staleness.py``) and one SQLite process before and after the scale-out work
(``bench/baseline`` beside ``bench/run``). ``bench/report.py`` appends them; each is left out while its
results are missing. Interpretation that depends on a run's figures lives beside them in
``bench/results/scale-notes.md`` and is included as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
WORKERS = (1, 2, 4)


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def num(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:.3f}" if value < 1 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def loadavg(result: dict[str, Any]) -> str:
    start = (result.get("machine") or {}).get("loadavg_start")
    return f"{start[0]:.2f}" if start else "—"


# --- the curve ----------------------------------------------------------------------------------------------

SCALE_INTRO = """## Several processes on PostgreSQL and Redis

`bench/scale` (about 13 minutes; `--quick` for a smoke run) seeds the harness's workload once into a fresh
PostgreSQL database through two processes, then for 1, 2 and 4 processes (`rejoinder serve --workers N` on
one port, `REJOINDER_REDIS_URL` and a Redis key prefix of the run's own) runs each phase on its own copy of
that database (`CREATE DATABASE … TEMPLATE`): mixed reads at c64 on the fresh processes (cold caches: each
process loads every thread from PostgreSQL the first time it is asked for it), then, as on a server that
has been running, hot reads of the 200-comment thread at c16, mixed reads at c64 again, counts, likes, and
writes at c8 and c32 while reads run at c32, then the check that every
acknowledged comment is readable — through whichever process the connection landed on. Databases and
Redis keys are deleted afterwards. The machine has 2 cores and the harness (one Python process) runs on
them too: its share is the `client` column below, and what other work on the machine took is `other`."""


def phase(result: dict[str, Any], name: str) -> dict[str, Any]:
    """One phase's summary: ``hot``, ``mixed``, ``counts``, ``like``, ``w8``, ``w32``, ``r8``, ``r32``."""
    if name == "hot":
        return (result.get("read-hot") or {}).get("c16") or {}
    if name == "mixed":
        return result.get("read-mixed") or {}
    if name == "mixed-cold":
        return result.get("read-mixed-cold") or {}
    if name in ("counts", "like"):
        return result.get(name) or {}
    write = (result.get("write") or {}).get(f"w{name[1:]}") or {}
    return write.get("writes" if name[0] == "w" else "reads") or {}


def lost(result: dict[str, Any]) -> tuple[int | None, int | None]:
    check = (result.get("write") or {}).get("visibility_check") or {}
    return check.get("lost"), check.get("acknowledged")


def scale_section() -> list[str]:
    runs = {n: load(f"scale-pg-w{n}") for n in WORKERS}
    runs = {n: r for n, r in runs.items() if r}
    if not runs:
        return []
    header = "| workload | " + " | ".join(f"{n} process{'es' if n > 1 else ''}" for n in runs) + " |"
    rule = "|---|" + "---|" * len(runs)
    rows = [
        ("hot 200-comment thread, c16", "hot", " rps"),
        ("mixed reads, c64, cold caches (first phase after start)", "mixed-cold", " rps"),
        ("mixed reads, c64", "mixed", " rps"),
        ("counts, 20 URLs a request, c16", "counts", " rps"),
        ("likes, c8", "like", "/s"),
        ("writes, 8 writers (reads at c32 alongside)", "w8", "/s"),
        ("  reads during 8 writers", "r8", " rps"),
        ("writes, 32 writers (reads at c32 alongside)", "w32", "/s"),
        ("  reads during 32 writers", "r32", " rps"),
    ]
    out = ["", SCALE_INTRO, "", "Throughput, and p99 latency in brackets:", "", header, rule]
    for label, key, unit in rows:
        cells = []
        for result in runs.values():
            s = phase(result, key)
            cells.append(f"{num(s.get('rps'), unit)} ({num(s.get('p99_ms'), ' ms')})" if s else "—")
        out.append(f"| {label} | {' | '.join(cells)} |")
    cells = []
    for result in runs.values():
        missing, acked = lost(result)
        cells.append(f"{num(missing)} of {num(acked)}")
    out.append(f"| acknowledged comments not readable after | {' | '.join(cells)} |")

    out += ["", "Where the 2 cores went (cores: server / harness / other):", "", header, rule]
    for label, key, _unit in rows:
        if key.startswith("r"):
            continue
        cells = []
        for result in runs.values():
            s = phase(result, key)
            cells.append(
                " / ".join(num(s.get(k)) for k in ("server_cpu_cores", "client_cpu_cores", "other_cpu_cores"))
                if s
                else "—"
            )
        out.append(f"| {label} | {' | '.join(cells)} |")

    two = runs.get(2)
    if two:
        mixed, writes = phase(two, "mixed"), phase(two, "w8")
        missing, acked = lost(two)
        met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
        mixed_ok = (mixed.get("rps") or 0) >= 2000 and (mixed.get("p99_ms") or 1e9) <= 50
        writes_ok = (writes.get("rps") or 0) >= 200
        out += [
            "",
            "Targets with 2 processes:",
            "",
            "| target | measured | |",
            "|---|---|---|",
            f"| mixed reads c64 ≥ 2,000 rps at p99 ≤ 50 ms | {num(mixed.get('rps'), ' rps')}, p99 "
            f"{num(mixed.get('p99_ms'), ' ms')} | {met(mixed_ok)} |",
            f"| writes under read load ≥ 200/s | {num(writes.get('rps'), '/s')} at c8, "
            f"{num(phase(two, 'w32').get('rps'), '/s')} at c32 | {met(writes_ok)} |",
            f"| 0 acknowledged comments lost | {num(missing)} of {num(acked)} | {met(missing == 0)} |",
        ]
    starts = ", ".join(f"{n}: {r['started']} (load {loadavg(r)})" for n, r in runs.items())
    out += ["", f"Runs started (1-minute load average at the start): {starts}."]
    notes = RESULTS / "scale-notes.md"
    if notes.exists():
        out += ["", notes.read_text().strip()]
    return out


# --- staleness ----------------------------------------------------------------------------------------------

STALENESS_INTRO = """## Staleness across processes

`bench/staleness.py` (about 5 minutes) starts two `rejoinder serve` processes, A and B, on one fresh
PostgreSQL database. Each sample reads a thread through B (so B answers it from its cache), posts a comment
to it through A, and from the moment A answers reads the thread through B in a tight loop until the comment
is there. A *stale read* is a read through B, after A's answer, that did not show the comment; the delay is
from A's answer to the moment the first read that showed it was sent (0 when the first read was fresh) and
answered. Samples run on an idle pair, then while background readers (two processes, 16 connections each,
half on A and half on B) read a Zipf-like mix of 50 threads. With Redis, A publishes the event before it
answers and B applies it when it arrives; without Redis, B reads the outbox every `outbox_poll_seconds`
(0.5 s), and each sample starts after a random pause of up to 0.5 s so that posts do not fall in step with
B's polls."""


def staleness_section() -> list[str]:
    result = load("staleness")
    if not result:
        return []
    out = [
        "",
        STALENESS_INTRO,
        "",
        "| fan-out | condition | samples | samples with a stale read | stale reads | first fresh read sent "
        "after A's answer, p50 / p99 / max | … answered, p50 / p99 / max | background reads |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, fanout in (("with_redis", "Redis pub/sub"), ("without_redis", "outbox poll, 0.5 s")):
        run = result.get(key)
        if not run:
            continue
        for condition in ("idle", "load"):
            s = run.get(condition)
            if not s:
                continue
            delays = [
                " / ".join(num((s.get(k) or {}).get(q)) for q in ("p50", "p99", "max")) + " ms"
                for k in ("fresh_sent_ms", "fresh_answered_ms")
            ]
            background = s.get("background_reads")
            reads = f"{num(sum(b['rps'] for b in background))} rps" if background else "—"
            never = f" ({s['never_fresh']} never fresh within 5 s)" if s.get("never_fresh") else ""
            when = "idle" if condition == "idle" else "under read load"
            out.append(
                f"| {fanout} | {when} | {num(s['samples'])} | "
                f"{num(s['samples_with_stale_reads'])}{never} | {num(s['stale_reads'])} | {delays[0]} | "
                f"{delays[1]} | {reads} |"
            )
    out += [
        "",
        f"Run started {result['started']} (1-minute load average {loadavg(result)}): "
        f"`{result.get('command', 'bench/staleness.py')}`.",
    ]
    notes = RESULTS / "staleness-notes.md"
    if notes.exists():
        out += ["", notes.read_text().strip()]
    return out


# --- one SQLite process, before and after -------------------------------------------------------------------

REGRESSION_INTRO = """## One SQLite process, before and after the scale-out

The main workload of `bench/run` (SQLite, one process) on this build and, in the same sitting, on the last
commit before the scale-out work (`bench/baseline`, which installs that commit from `git archive` into a
venv of its own and drives it with the same harness command). The target: within 10 %."""


def value(summary: dict[str, Any], field: str) -> float | None:
    """A phase's figure; ``cpu_ms`` is the server's CPU per request, steadier than rates on a busy machine."""
    if field != "cpu_ms":
        return summary.get(field)
    cores, rps = summary.get("server_cpu_cores"), summary.get("rps")
    return round(cores / rps * 1000, 3) if cores and rps else None


def regression_section() -> list[str]:
    before, after = load("rejoinder-baseline"), load("rejoinder")
    if not before or not after:
        return []
    rows = [
        ("hot 200-comment thread, c16", "hot", "rps", " rps", True),
        ("  p99", "hot", "p99_ms", " ms", False),
        ("  server CPU per request", "hot", "cpu_ms", " ms", False),
        ("mixed reads, c64", "mixed", "rps", " rps", True),
        ("  p99", "mixed", "p99_ms", " ms", False),
        ("  server CPU per request", "mixed", "cpu_ms", " ms", False),
        ("writes, 8 writers (reads at c32)", "w8", "rps", "/s", True),
        ("writes, 32 writers (reads at c32)", "w32", "rps", "/s", True),
        ("  reads during 32 writers", "r32", "rps", " rps", True),
    ]
    label = before.get("label", "rejoinder-baseline").removeprefix("rejoinder-baseline-")
    out = [
        "",
        REGRESSION_INTRO,
        "",
        f"| workload | before (`{label}`) | this build | change | within 10 % |",
        "|---|---|---|---|---|",
    ]
    for name, key, field, unit, higher_is_better in rows:
        b, a = value(phase(before, key), field), value(phase(after, key), field)
        change, verdict = "—", ""
        if b and a:
            ratio = a / b - 1
            change = f"{ratio:+.0%}"
            worse = -ratio if higher_is_better else ratio
            verdict = "yes" if worse <= 0.10 else "**no**"
        out.append(f"| {name} | {num(b, unit)} | {num(a, unit)} | {change} | {verdict} |")
    lb, la = lost(before), lost(after)
    out.append(
        f"| acknowledged comments not readable after | {num(lb[0])} of {num(lb[1])} | "
        f"{num(la[0])} of {num(la[1])} | | |"
    )
    out += [
        "",
        f"Before: run started {before['started']} (load {loadavg(before)}); this build: "
        f"{after['started']} (load {loadavg(after)}).",
    ]
    notes = RESULTS / "regression-notes.md"
    if notes.exists():
        out += ["", notes.read_text().strip()]
    return out


def sections() -> list[str]:
    return scale_section() + staleness_section() + regression_section()
