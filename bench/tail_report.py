"""Where the shared harness's readers wait, from what ``bench/tail/sitecustomize.py`` noted in DIR.

    .venv/bin/python bench/tail_report.py DIR

Each stretch of reads (the write phase's readers beside 8, then beside 32 writers: reads split where none
was sent for a second, or at the longest pause of a stretch over 30 s) is cut into the time from the
harness sending a read to the server parsing its head, the server's handling, the wait for the end of the
event loop's step, and the time from the answer's send to the harness having its body; then the loops' gaps
of more than 10 ms (the loop's CPU in them, its time in the run queue, and the rest: the GIL, the disk), the
server's threads' CPU, and, if the server ran with ``REJOINDER_TAIL_PIECES=1``, what ran on its loop by kind.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import cpu  # bench/cpu.py: the percentile its tables use

LONG_NS = 10_000_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def line(name: str, values_ns: list[int]) -> str:
    ms = [value / 1e6 for value in values_ns]
    figures = " ".join(f"p{int(q * 100)} {cpu.percentile(ms, q):6.1f}" for q in (0.5, 0.9, 0.99))
    return f"  {name:34} {figures}  max {max(ms, default=0):6.1f} ms"


def load(folder: Path, role: str) -> dict[str, list[list[Any]]]:
    kinds: dict[str, list[list[Any]]] = {}
    for path in folder.glob(f"{role}-*.jsonl"):
        for text in path.read_text().splitlines():
            kind, *fields = json.loads(text)
            kinds.setdefault(kind, []).append(fields)
    return kinds


def stretches(bodies: list[list[Any]]) -> list[list[list[Any]]]:
    bodies = sorted(bodies)
    found: list[list[list[Any]]] = []
    for body in bodies:
        if found and body[0] - found[-1][-1][0] < 1e9:
            found[-1].append(body)
        else:
            found.append([body])
    split: list[list[list[Any]]] = []
    for stretch in found:
        if stretch[-1][0] - stretch[0][0] > 30e9:  # two phases with too short a pause between them
            middle = range(len(stretch) // 4, 3 * len(stretch) // 4)
            cut = max(middle, key=lambda i: stretch[i][0] - stretch[i - 1][0])
            split += [stretch[:cut], stretch[cut:]]
        else:
            split.append(stretch)
    return [stretch for stretch in split if len(stretch) >= 500]  # the check after the phase: left out


def gaps(found: list[list[Any]], start: int, end: int, name: str) -> str:
    long = [gap for gap in found if start <= gap[0] <= end and gap[1] > LONG_NS]
    total, ran, queued = (sum(gap[i] for gap in long) / 1e6 for i in (1, 2, 3))
    return (
        f"  {name} loop, gaps over 10 ms: {len(long)}, {total:,.0f} ms of {(end - start) / 1e6:,.0f}: "
        f"running {ran:,.0f}, run queue {queued:,.0f}, neither {total - ran - queued:,.0f} ms"
    )


def pieces(found: list[list[Any]], start: int, end: int) -> list[str]:
    """What ran on the server's loop (``REJOINDER_TAIL_PIECES=1``), by kind: count, wall time in all, and
    each one's CPU time."""
    by_kind: dict[str, list[list[Any]]] = {}
    for piece in found:
        if start <= piece[1] <= end:
            by_kind.setdefault(piece[0], []).append(piece)
    lines = []
    for kind, rows in sorted(by_kind.items()):
        cpu_ms = [row[3] / 1e6 for row in rows]
        figures = " ".join(f"p{int(q * 100)} {cpu.percentile(cpu_ms, q):6.2f}" for q in (0.5, 0.99))
        lines.append(
            f"    {kind:20} {len(rows):7,}, wall {sum(row[2] for row in rows) / 1e6:7,.0f} ms;"
            f" CPU each {figures} max {max(cpu_ms):6.1f} ms, over 6 ms {sum(c > 6 for c in cpu_ms)}"
        )
    return lines


def report(folder: Path) -> None:
    server, harness = load(folder, "server"), load(folder, "client")
    answered = {read[0]: read[1:] for read in server.get("read", [])}
    for stretch in stretches(harness.get("body", [])):
        start, end = stretch[0][0], stretch[-1][1]
        print(f"{len(stretch):,} reads in {(end - start) / 1e9:.1f} s")
        parts: list[tuple[int, int, int, int]] = []
        for sent, got, _size in stretch:
            if sent in answered:
                parsed, complete, left = answered[sent]
                parts.append((parsed - sent, complete - parsed, left - complete, got - left))
        totals = [sum(part) for part in parts]
        print(line("harness: sent to body read", totals))
        print(line("server: sent to head parsed", [part[0] for part in parts]))
        print(line("server: head parsed to answered", [part[1] for part in parts]))
        print(line("server: answered to sent (step end)", [part[2] for part in parts]))
        print(line("server: sent to answer sent", [sum(part[:3]) for part in parts]))
        print(line("harness: answer sent to body read", [part[3] for part in parts]))
        slowest = sorted(zip(totals, parts, strict=True), reverse=True)[: max(1, len(parts) // 100)]
        means = [sum(part[i] for _, part in slowest) / len(slowest) / 1e6 for i in range(4)]
        print(
            f"  slowest 1 % ({len(slowest)}), mean ms: {sum(means):.1f} = to head parsed {means[0]:.1f}"
            f" + handled {means[1]:.1f} + step end {means[2]:.1f} + answer sent to body read {means[3]:.1f}"
        )
        print(gaps(server.get("gap", []), start, end, "server"))
        print(gaps(harness.get("gap", []), start, end, "harness"))
        seconds = [row for row in server.get("threads", []) if start <= row[0] <= end]
        if len(seconds) > 1:
            (first, before), (last, after) = seconds[0], seconds[-1]
            seconds_between = (last - first) / 1e9
            cores = {name: (after[name] - before[name]) / CLOCK_TICKS / seconds_between for name in after}
            print(f"  server threads, cores: loop {cores['loop']:.2f}, all others {cores['others']:.2f}")
        found = pieces(server.get("piece", []), start, end)
        if found:
            print("  on the server's loop (REJOINDER_TAIL_PIECES=1):", *found, sep="\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    report(parser.parse_args().folder)


if __name__ == "__main__":
    main()
