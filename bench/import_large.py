"""How long a large WordPress import takes, and how a running server answers meanwhile.

Usage: python bench/import_large.py [--comments 100000] [--database URL] [--serve] [--batch-size N] [--json]

It writes a WXR file of ``--comments`` comments built from the real exports in ../shared/data/wxr (their
posts with comments, copied under new addresses with new ids until the count is reached: real text, real
nesting, pingbacks and statuses), then times ``import_file`` on it into a fresh database (a new SQLite file
unless ``--database`` names one; a PostgreSQL database is emptied first).

With ``--serve`` the import runs as ``rejoinder import wordpress`` in its own process while
``rejoinder serve`` runs on the same database, and two client loops, one reading a thread and one posting
comments over HTTP, run all along: it reports the latencies (p50, p99, max) before and during the import.
``--batch-size`` is passed on to the import. Traffic goes to 127.0.0.1 only, and every loop is bounded in
count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from rejoinder.importers.service import BATCH, ImportOptions, import_file
from rejoinder.settings import load_settings
from rejoinder.sites import create_site
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.store.schema import metadata
from rejoinder.wiring import open_context

ROOT = Path(__file__).resolve().parents[1]
SHARED_WXR = ROOT.parent / "shared" / "data" / "wxr"
SOURCES = ("themeunittestdata.wordpress.xml", "everet-org-zh.wordpress.xml", "cc-labs.wordpress.xml")
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
<title>Benchmark blog</title>
<link>https://bench.example</link>
<wp:wxr_version>1.2</wp:wxr_version>
<wp:base_site_url>https://bench.example</wp:base_site_url>
<wp:base_blog_url>https://bench.example</wp:base_blog_url>
"""
ITEM = re.compile(r"<item>.*?</item>", re.DOTALL)
NUMBER_TAGS = re.compile(r"<wp:(comment_id|comment_parent|post_id)>(?:<!\[CDATA\[)?(\d+)(?:\]\]>)?</wp:\1>")
LINK = re.compile(r"<link>(.*?)</link>")


def items_with_comments() -> list[tuple[str, int]]:
    """The real items that have comments, as text (namespaces made the plain http kind), with their count."""
    found = []
    for name in SOURCES:
        text = (SHARED_WXR / name).read_text(encoding="utf-8")
        text = text.replace("https://wordpress.org/export/1.2/", "http://wordpress.org/export/1.2/")
        for match in ITEM.finditer(text):
            item = match.group(0)
            count = item.count("<wp:comment>")
            if count:
                found.append((item, count))
    return found


def generate(path: Path, comments: int) -> int:
    """Write a WXR file of at least ``comments`` comments; returns how many it has."""
    items = items_with_comments()
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        copy = 0
        while written < comments:
            copy += 1
            for item, count in items:
                text = NUMBER_TAGS.sub(partial(_renumber, copy * 1_000_000), item)
                text = LINK.sub(partial(_relink, copy), text, count=1)
                out.write(text + "\n")
                written += count
                if written >= comments:
                    break
        out.write("</channel>\n</rss>\n")
    return written


def _renumber(offset: int, match: re.Match[str]) -> str:
    value = int(match.group(2))
    return f"<wp:{match.group(1)}>{value + offset if value else 0}</wp:{match.group(1)}>"


def _relink(copy: int, match: re.Match[str]) -> str:
    return f"<link>{match.group(1).rstrip('/')}/copy-{copy}/</link>"


def fresh_database(url: str | None, scratch: Path) -> str:
    url = url or f"sqlite:///{scratch / 'bench.db'}"
    db = Database(url)
    upgrade(db)
    with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    db.dispose()
    return url


def time_import(url: str, wxr: Path, batch_size: int) -> dict[str, Any]:
    settings = load_settings(environ={}, overrides={"database_url": url, "secret_key": "bench"})
    ctx = open_context(settings)
    try:
        create_site(ctx, "bench", "Benchmark blog", [], spam_filter=False)
        rss_before = _reset_peak_rss()
        started, cpu_started = time.perf_counter(), _cpu()
        report = import_file(ctx, "wordpress", wxr, ImportOptions(site="bench", batch_size=batch_size))
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
        import_peak = _peak_rss()
        again_started = time.perf_counter()
        again = import_file(ctx, "wordpress", wxr, ImportOptions(site="bench", batch_size=batch_size))
        again_seconds = time.perf_counter() - again_started
    finally:
        ctx.close()
    return {
        "comments": report.created,
        "threads": report.thread_count,
        "seconds": round(seconds, 2),
        "per_second": round(report.created / seconds),
        # This process's CPU time: on a shared machine, steadier than the wall clock.
        "cpu_seconds": round(cpu, 2),
        "second_import_created": again.created,
        "second_import_seconds": round(again_seconds, 2),
        # The process's resident memory when the import started (the generator's work done), and its peak
        # during the first import: what the import itself needs is the difference.
        "rss_before_import_mb": round(rss_before / 2**20),
        "import_peak_rss_mb": round(import_peak / 2**20) if import_peak else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> int:
    """This process's resident memory now; its peak (VmHWM) is reset to it, where Linux allows."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_bytes("VmRSS")


def _peak_rss() -> int | None:
    """The peak resident memory since ``_reset_peak_rss`` (Linux), or None where it cannot be read."""
    return _status_bytes("VmHWM") or None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --serve --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rejoinder(*args: str, env: dict[str, str], log: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rejoinder", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )


class Client:
    """Reads a thread in one thread and posts comments in another, until told to stop (or ``limit``
    requests each): a post waiting on the import's write lock does not hold the reads back. A request that
    fails or times out counts as an error, its time as a sample."""

    def __init__(self, base: str, limit: int = 20_000) -> None:
        self.base = base
        self.limit = limit
        self.phase = "before"
        self.samples: dict[tuple[str, str], list[float]] = {}
        self.errors = 0
        self.timeouts = 0
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        loops = [threading.Thread(target=self._loop, args=(kind,)) for kind in ("read", "write")]
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()

    def _loop(self, kind: str) -> None:
        url = "https://bench.example/live-thread/"
        with httpx.Client(base_url=self.base, timeout=30) as http:
            for n in range(self.limit):
                if self.stopped.is_set():
                    break
                phase = self.phase
                started = time.perf_counter()
                failed = timed_out = False
                try:
                    if kind == "read":
                        answer = http.get("/api/v1/comments", params={"site": "bench", "url": url})
                    else:
                        answer = http.post(
                            "/api/v1/comments",
                            json={"site": "bench", "url": url, "body": f"comment {n} while importing"},
                        )
                    failed = answer.status_code >= 400
                except httpx.TimeoutException:
                    failed = timed_out = True
                except httpx.HTTPError:
                    failed = True
                elapsed = time.perf_counter() - started
                with self.lock:
                    self.errors += failed
                    self.timeouts += timed_out
                    self.samples.setdefault((phase, kind), []).append(elapsed * 1000)
                time.sleep(0.01)  # a steady trickle, not a flood: the server is shared with the import


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def serve_during_import(url: str, wxr: Path, batch_size: int) -> dict[str, Any]:
    env = {**os.environ, "REJOINDER_DATABASE_URL": url, "REJOINDER_SECRET_KEY": "bench"}
    setup = subprocess.run(
        [sys.executable, "-m", "rejoinder", "admin", "site", "create", "bench", "--set", "spam_filter=false"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if setup.returncode:
        raise SystemExit(setup.stderr)
    port = free_port()
    env["REJOINDER_PORT"] = str(port)
    # The server's log goes to a file: a pipe nobody reads fills after a few hundred request lines, and
    # then the server waits on it.
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 (closed once the server has stopped)
    server = rejoinder("serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=server_log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        client = Client(base)
        loop = threading.Thread(target=client.run)
        loop.start()
        time.sleep(5)  # the baseline
        client.phase = "during"
        started = time.perf_counter()
        importer = rejoinder(
            "import",
            "wordpress",
            str(wxr),
            "--site",
            "bench",
            "--no-progress",
            "--batch-size",
            str(batch_size),
            env=env,
        )
        output, _ = importer.communicate(timeout=600)
        seconds = time.perf_counter() - started
        client.stopped.set()
        loop.join(timeout=60)
        if importer.returncode:
            raise SystemExit(output.decode())
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: the figures matter more than a clean stop
            server.kill()
            server.wait(timeout=30)
        server_log.close()
    return {
        "import_seconds": round(seconds, 2),
        "errors": client.errors,
        "timeouts": client.timeouts,
        **{
            f"{phase}_{kind}": percentiles(values) for (phase, kind), values in sorted(client.samples.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--database", help="database URL (default: a new SQLite file)")
    parser.add_argument("--serve", action="store_true", help="import beside a running server")
    parser.add_argument("--batch-size", type=int, default=BATCH, help="comments per transaction")
    parser.add_argument("--keep", metavar="FILE", help="keep the generated WXR file here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not SHARED_WXR.is_dir():
        raise SystemExit(f"{SHARED_WXR} is not there: the benchmark builds its file from the real exports")
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        wxr = Path(args.keep) if args.keep else scratch / "large.wordpress.xml"
        started = time.perf_counter()
        count = generate(wxr, args.comments)
        result: dict[str, Any] = {
            "file_comments": count,
            "file_mb": round(wxr.stat().st_size / 1e6, 1),
            "generated_in_s": round(time.perf_counter() - started, 1),
        }
        url = fresh_database(args.database, scratch)
        if args.serve:
            result["serve"] = serve_during_import(url, wxr, args.batch_size)
        else:
            result["import"] = time_import(url, wxr, args.batch_size)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
