"""Write docs/benchmarks.md from the harness results in bench/results/ (run by bench/run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from report_pipeline import section as pipeline_beside_baseline
from report_scale import sections as scale_sections

RESULTS = Path(__file__).parent / "results"
# Sections measured by other scripts and written by hand, included as they are (in name order).
SECTIONS = Path(__file__).parent / "sections"
DOC = Path(__file__).parent.parent / "docs" / "benchmarks.md"

INTRO = """# Benchmarks

Measured with the shared load harness (`../shared/bench/loadgen.py`), which drives every server with the
same deterministic workload: 1,000 threads with Zipf-like sizes, about 30,000 comments (20 % replies),
2,000 commenters with their own addresses in `X-Forwarded-For`. Machine: 2 cores, the harness on the same
machine (its own CPU use is recorded per phase: `client` below). Quote ratios and medians, not one absolute
figure.

Rerun everything with one command (about ten minutes; `--with-isso` adds the 30-40 minute Isso run):

    bench/run

Rejoinder runs as `rejoinder serve` on SQLite (WAL, `synchronous=FULL`: every `201` is on disk) with
`REJOINDER_TRUSTED_PROXIES=127.0.0.1`, one process; Isso 0.14 under gunicorn with 4 sync workers
(`bench/run-isso.sh`, `bench/isso.cfg`). Isso's read and write phases come from a second run on its seeded
database while nothing else ran (`bench/run-isso.sh --phases read-hot,read-mixed,counts,write --reset-cmd ''
--out bench/results/isso-rerun.json`): the first run shared the machine with other work.

The harness reads Rejoinder through `bench/adapter.py`, the built-in Rejoinder adapter plus one change: when
a thread has more than 1,000 top-level comments (the largest one does by the end of the write phase), it
follows `next_cursor` as the widget's *Load more* would, so the visibility check sees the whole thread.
"""


HISTORY = """## Before and after

The same harness on the same machine, as the read and write paths changed (write figures are writes/s
with reads running at c32 alongside; "reads" is what those readers got):

| change | hot c16 | mixed c64 | 8 writers | 32 writers | reads, 32 writers |
|---|---|---|---|---|---|
| responses cached per query, writes in the thread pool | 10,960 rps | 8,019 rps | 63/s | 81/s | 1,383 rps |
| + thread snapshots updated by writes, group commit | — | — | 157/s | 216/s | 964 rps |
| + pages cut on the event loop, JSON kept per comment | 11,423 rps | — | 144/s | 160/s | 2,400 rps |
| + SQLite group commit on the event loop | 11,782 rps | 9,298 rps | 289/s | 345/s | 737 rps |

Without any cache, a cold read of the 1,000-comment thread costs 27-32 ms in-process (database, tree,
JSON); from memory it is answered in 0.3 ms. Runs vary by 10-20 % from one to the next; the tables below are
this build's own run. The last step in the table moves SQLite's writes onto the event loop:
writes no longer wait for the GIL behind the readers, which roughly doubles write throughput and, with 32
writers at full speed, leaves the readers less of the one core — the trade the table below shows.
"""


PIPELINE_INTRO = """The same seeding and write phases, posting as an API client without a browser meets the
filter (`bench/adapter.py:FormAdapter`): it fetches a form token (`GET /api/v1/form`) before every comment
and solves the proof of work when the server answers `challenge_required`; each comment then passes every
signal — token (single use, marked in the same transaction), honeypot, links, near-duplicates, the
owner's lists, the author's history, the text classifier — before it is stored. The harness posts from a
few hundred simulated addresses as fast as it can, so the site's rate limits are set to 100,000 a minute
(the limiter still runs) and `min_submit_seconds` to 0. Rates count comments, not requests: each comment
costs two requests (three when challenged)."""


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    return f"{value}{unit}"


def largest_probe(result: dict[str, Any], size: str) -> dict[str, Any]:
    return (result.get("size-scan") or {}).get(size) or {}


def headline(rj: dict[str, Any], isso: dict[str, Any] | None, rj50: dict[str, Any] | None) -> list[str]:
    def both(get: Any, unit: str = "") -> tuple[str, str]:
        return fmt(get(isso), unit) if isso else "—", fmt(get(rj), unit)

    def hot(r: dict[str, Any] | None, key: str) -> Any:
        return ((r or {}).get("read-hot") or {}).get("c16", {}).get(key)

    rows = [
        (
            "hot 200-comment thread, c16",
            *both(lambda r: hot(r, "rps"), " rps"),
            f"p99 {fmt(hot(rj, 'p99_ms'), ' ms')}",
            "≥ 3,000 rps, p99 ≤ 25 ms",
        ),
        (
            "mixed reads, c64",
            *both(lambda r: r["read-mixed"]["rps"], " rps"),
            f"p99 {fmt(rj['read-mixed']['p99_ms'], ' ms')}",
            "≥ 2,000 rps, p99 ≤ 50 ms",
        ),
        (
            "GET whole 1,000-comment thread, c1 (p50)",
            *both(lambda r: largest_probe(r, "1000").get("p50_ms"), " ms"),
            "",
            "≤ 10 ms",
        ),
    ]
    if rj50:
        first = largest_probe(rj50, "1000").get("p50_ms")
        small = largest_probe(rj50, "10").get("p50_ms")
        ratio = f"{first / small:.2f}×" if first and small else "—"
        rows.append(
            (
                "first page (limit=50): 1,000- vs 10-comment thread (p50)",
                "—",
                f"{fmt(first, ' ms')} vs {fmt(small, ' ms')}",
                ratio,
                "≤ 2× apart",
            )
        )
    w8 = lambda r: r["write"]["w8"]["writes"]["rps"]  # noqa: E731
    rows.append(
        (
            "writes at c8 while reads run at c32",
            *both(w8, "/s"),
            f"c32 writers: {fmt(rj['write']['w32']['writes']['rps'], '/s')}",
            "≥ 200/s",
        )
    )
    lost = lambda r: r["write"]["visibility_check"]["lost"]  # noqa: E731
    acked = lambda r: r["write"]["visibility_check"]["acknowledged"]  # noqa: E731
    rows.append(
        (
            "acknowledged comments not readable after",
            f"{lost(isso)} of {acked(isso)}" if isso else "—",
            f"{lost(rj)} of {acked(rj)}",
            "",
            "0",
        )
    )
    out = ["| phase | Isso 0.14 | Rejoinder | Rejoinder detail | target |", "|---|---|---|---|---|"]
    out += [f"| {' | '.join(row)} |" for row in rows]
    return out


def phases(result: dict[str, Any]) -> list[str]:
    out = [
        "| workload | rps | p50 ms | p95 ms | p99 ms | errors | server CPU | client CPU | other CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def add(name: str, s: dict[str, Any] | None) -> None:
        if s:
            cells = [
                fmt(s.get(k))
                for k in (
                    "rps",
                    "p50_ms",
                    "p95_ms",
                    "p99_ms",
                    "errors",
                    "server_cpu_cores",
                    "client_cpu_cores",
                    "other_cpu_cores",
                )
            ]
            out.append(f"| {name} | {' | '.join(cells)} |")

    add("seed, sequential", result.get("seed-seq"))
    add("seed, c8", result.get("seed-c8"))
    for size, s in (result.get("size-scan") or {}).items():
        add(f"GET thread of {size} (c1)", s)
    for key, s in (result.get("read-hot") or {}).items():
        if isinstance(s, dict):
            add(f"hot thread {key}", s)
    add("mixed reads c64", result.get("read-mixed"))
    add("counts, 20 URLs, c16", result.get("counts"))
    add("likes c8", result.get("like"))
    for key, s in (result.get("write") or {}).items():
        if key.startswith("w"):
            add(f"writes {key[1:]} writers", s["writes"])
            add(f"  reads c32 during {key[1:]} writers", s["reads"])
    for tag in ("after-seed", "end"):
        m = result.get(f"memory-{tag}")
        if m:
            out.append(
                f"\nMemory {tag}: {m['procs']} process(es), RSS {m['rss_mb_sum']} MB, "
                f"PSS {m['pss_mb_sum']} MB."
            )
    if result.get("write"):
        out.append(f"\nWrite visibility check: `{json.dumps(result['write'].get('visibility_check'))}`")
    return out


def live_updates(sse: dict[str, Any]) -> list[str]:
    """The section for bench/sse.py's result: open streams on one process, delivery latency, memory."""
    return [
        "## Live updates (Server-Sent Events)",
        "",
        f"`bench/sse.py` (one command; about a minute): {sse['connections']:,} streams open on one "
        f"`rejoinder serve` process (SQLite), {sse['comments']} comments posted one after another; latency "
        "is from sending the POST to the `comment` event arriving on each stream (raw asyncio sockets, "
        f"client on the same {sse['cpus']}-core machine, load average "
        f"{sse.get('load_average_1min', '?')} at the end of the run).",
        "",
        "| streams | deliveries | p50 | p99 | max | RSS before → with streams | per stream | target |",
        "|---|---|---|---|---|---|---|---|",
        f"| {sse['connections']:,} | {sse['deliveries']:,} of {sse['deliveries_expected']:,} "
        f"| {sse['latency_ms_p50']} ms | {sse['latency_ms_p99']} ms | {sse['latency_ms_max']} ms "
        f"| {sse['rss_mib_before']} → {sse['rss_mib_with_streams']} MiB | {sse['kib_per_connection']} KiB "
        "| p99 ≤ 1 s |",
    ]


def main() -> None:
    rj, isso, rj50 = load("rejoinder"), load("isso"), load("rejoinder-limit50")
    rerun = load("isso-rerun")
    if isso and rerun:  # read and write phases measured again, on the seeded database, on a quiet machine
        isso = {**isso, **{k: rerun[k] for k in ("read-hot", "read-mixed", "counts", "write") if k in rerun}}
    if rj is None:
        sys.exit("no bench/results/rejoinder.json: run bench/run first")
    lines = [INTRO, HISTORY, "## Side by side", ""]
    lines += headline(rj, isso, rj50)
    lines += [
        "",
        f"Rejoinder run started {rj['started']}"
        + (f"; Isso run started {isso['started']}." if isso else "."),
        "",
        "## Rejoinder, every phase",
        "",
    ]
    lines += phases(rj)
    if rj50:
        lines += ["", "## Rejoinder, first page only (`--adapter-opt limit=50`)", ""] + phases(rj50)
    pipeline = load("rejoinder-pipeline")
    if pipeline:
        lines += ["", "## Rejoinder with the whole spam filter", "", PIPELINE_INTRO, ""] + phases(pipeline)
        verdicts = load("rejoinder-pipeline-verdicts")
        if verdicts:
            tally = ", ".join(f"{name} {count:,}" for name, count in sorted(verdicts.items()))
            lines += ["", f"Verdicts and challenges seen by the harness's client: {tally}."]
        unseen = load("rejoinder-pipeline-unseen")
        if unseen and unseen["listed"]:
            found = ", ".join(f"{status} {count}" for status, count in sorted(unseen["statuses"].items()))
            lines += [
                "",
                "The write check's `lost` counts acknowledged comments it did not find in their thread. "
                "With the filter on, a held (`pending`) or spam comment is stored but not shown to "
                f"readers; the {unseen['listed']} of {unseen['lost']} it lists are in the database as: "
                f"{found}.",
            ]
        lines += pipeline_beside_baseline()
    sse = load("sse")
    if sse:
        lines += [""] + live_updates(sse)
    if isso:
        lines += ["", "## Isso 0.14, every phase", ""] + phases(isso)
    for section in sorted(SECTIONS.glob("*.md")):
        lines += ["", section.read_text().strip()]
    lines += scale_sections()
    lines += hand_written(DOC.read_text(encoding="utf-8") if DOC.exists() else "", lines)
    sys.stdout.write("\n".join(lines) + "\n")


def hand_written(previous: str, lines: list[str]) -> list[str]:
    """The sections of the previous docs/benchmarks.md that this report does not write (measurements
    made by hand, dated), in their order, so that a rerun keeps them."""
    written = {line.strip() for text in lines for line in text.splitlines() if line.startswith("## ")}
    kept: list[str] = []
    keeping = False
    for line in previous.splitlines():
        if line.startswith("## "):
            keeping = line.strip() not in written
            # One blank line between sections: the previous one's own blank line ends it already.
            if keeping and (not kept or kept[-1].strip()):
                kept.append("")
        if keeping:
            kept.append(line)
    return kept


if __name__ == "__main__":
    main()
