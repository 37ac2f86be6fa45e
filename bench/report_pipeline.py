"""The section of docs/benchmarks.md on writes through the whole spam filter before and after:
``bench/baseline --pipeline-only`` beside ``bench/run --pipeline-only``, the same harness command against
the earlier commit. ``bench/report.py`` includes it after this build's pipeline run; it is left out while
either result is missing.
"""

from __future__ import annotations

from typing import Any

from report_scale import load, loadavg, num

INTRO = """### Before and after (`bench/baseline --pipeline-only`)

The same run against the last commit before the scale-out work, installed from `git archive` into a venv
of its own (`bench/baseline --pipeline-only`, in the same sitting as `bench/run --pipeline-only`). The
adapter speaks both proofs of work: that commit's one level, this build's levels that grow with the
filter's doubt and the address's volume. Seeding runs against the clock (90 s sequential, then 420 s with
8 clients): how many comments it stores is its rate. Server CPU per comment is the server's CPU time in a
seeding phase over the comments it stored there, form requests and challenged retries included; in the
write phases readers share the server, so only rates are compared there."""


def _summary(result: dict[str, Any], key: str) -> dict[str, Any]:
    if key in ("seed-seq", "seed-c8"):
        return result.get(key) or {}
    writers, side = key.split("/")
    return ((result.get("write") or {}).get(writers) or {}).get(side) or {}


def _cpu_per_comment(summary: dict[str, Any]) -> float | None:
    cpu, ok = summary.get("server_cpu_s"), summary.get("ok")
    return round(cpu / ok * 1000, 2) if cpu and ok else None


ROWS = [
    ("seeding, sequential", "seed-seq", "rps", "/s"),
    ("  server CPU per comment", "seed-seq", "cpu", " ms"),
    ("seeding, 8 clients", "seed-c8", "rps", "/s"),
    ("  server CPU per comment", "seed-c8", "cpu", " ms"),
    ("writes, 8 writers (reads at c32)", "w8/writes", "rps", "/s"),
    ("  reads alongside", "w8/reads", "rps", " rps"),
    ("writes, 32 writers (reads at c32)", "w32/writes", "rps", "/s"),
    ("  reads alongside", "w32/reads", "rps", " rps"),
]


def _tally(name: str) -> str:
    verdicts = load(name) or {}
    return ", ".join(f"{key} {count:,}" for key, count in sorted(verdicts.items())) or "—"


def _unseen(result: dict[str, Any], name: str) -> str:
    check = (result.get("write") or {}).get("visibility_check") or {}
    found = load(name) or {}
    statuses = ", ".join(f"{k} {v}" for k, v in sorted((found.get("statuses") or {}).items()))
    text = f"{num(check.get('lost'))} of {num(check.get('acknowledged'))}"
    return f"{text} (listed: {statuses})" if statuses else text


def section() -> list[str]:
    before, after = load("rejoinder-baseline-pipeline"), load("rejoinder-pipeline")
    if not before or not after:
        return []
    label = before.get("label", "").removeprefix("rejoinder-baseline-").removesuffix("-pipeline") or "before"
    out = ["", INTRO, "", f"| workload | before (`{label}`) | this build | change |", "|---|---|---|---|"]
    for name, key, field, unit in ROWS:
        b_sum, a_sum = _summary(before, key), _summary(after, key)
        b = _cpu_per_comment(b_sum) if field == "cpu" else b_sum.get(field)
        a = _cpu_per_comment(a_sum) if field == "cpu" else a_sum.get(field)
        change = f"{a / b - 1:+.0%}" if a and b else "—"
        out.append(f"| {name} | {num(b, unit)} | {num(a, unit)} | {change} |")
    out += [
        f"| comments seeded | {num((before.get('seed-total') or {}).get('created'))} "
        f"| {num((after.get('seed-total') or {}).get('created'))} | |",
        f"| verdicts and challenges (client's tally) | {_tally('rejoinder-baseline-pipeline-verdicts')} "
        f"| {_tally('rejoinder-pipeline-verdicts')} | |",
        f"| acknowledged, not in their thread after "
        f"| {_unseen(before, 'rejoinder-baseline-pipeline-unseen')} "
        f"| {_unseen(after, 'rejoinder-pipeline-unseen')} | |",
        "",
        f"Before: run started {before['started']} (load {loadavg(before)}); this build: "
        f"{after['started']} (load {loadavg(after)}).",
    ]
    return out
