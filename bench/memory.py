"""Where a server's memory goes: imports, then one server on a seeded copy after a read-heavy workload.

One command:

    .venv/bin/python bench/memory.py --seeded ~/.cache/rejoinder-bench/phases-seeded.db

1. **Imports.** A fresh interpreter imports the libraries the app uses, group by group, then the app; the
   resident memory (RSS) after each group and the import time ``-X importtime`` gives its modules.
2. **A server.** In this process, as ``rejoinder serve`` runs it (uvicorn, the same options, glibc's arenas
   capped), on a copy of a seeded SQLite database (``bench/phases seed sqlite``). A client in another
   process (``bench/cpu.py``'s keep-alive connections, so its memory is not counted) reads every thread
   whole once, then popular threads (Zipf-like, c64), counts (c16), likes (c8), and posts (c8) with readers
   at c32 alongside. RSS, PSS and Python's own allocator (its arenas, and the bytes of objects in them) are
   noted after each step; at the end the report gives:
   - resident memory by kind of mapping (the main heap, glibc's other arenas, thread stacks, Python's own
     arenas and other anonymous memory, shared libraries), and what ``malloc_trim`` would give back and
     how long it took;
   - ``tracemalloc``'s top owners (grouped by package, or by module of Rejoinder) and top lines;
   - the deep size of each structure the server keeps: every field of the ``Context`` (snapshots,
     responses and counts of the read cache, the event bus, rate limits, memos…), the kept comment fragments,
     SQLAlchemy's compiled-statement caches, the widget's assets, the uvicorn connections;
   - SQLite's own memory (page caches and schemas of every connection, ``sqlite3_status64``).

``--no-trace`` measures RSS without tracemalloc (which costs CPU and memory of its own; with it, RSS is
reported with and without tracemalloc's own memory). The server's log goes to a file in the scratch
directory; ``--out FILE`` writes everything as JSON.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import ctypes
import ctypes.util
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

# Library groups in the order they are imported, each only if the app imports it at all.
IMPORT_GROUPS: list[tuple[str, list[str]]] = [
    ("pydantic", ["pydantic", "pydantic_core"]),
    ("SQLAlchemy", ["sqlalchemy"]),
    ("Starlette, FastAPI", ["starlette", "fastapi"]),
    ("uvicorn", ["uvicorn"]),
    ("orjson, markdown-it, nh3", ["orjson", "markdown_it", "linkify_it", "nh3"]),
    ("Jinja", ["jinja2"]),
    ("httpx", ["httpx"]),
    ("Authlib, joserfc, cryptography", ["authlib", "joserfc", "cryptography"]),
    ("argon2, pyotp", ["argon2", "pyotp"]),
    ("email-validator", ["email_validator"]),
    ("limits", ["limits"]),
    ("prometheus_client", ["prometheus_client"]),
    ("feedparser", ["feedparser"]),
    ("itsdangerous, altcha", ["itsdangerous", "altcha"]),
    ("swagger-ui-bundle", ["swagger_ui_bundle"]),
    ("numpy", ["numpy"]),
    ("Alembic", ["alembic"]),
]
APP_MODULE = "rejoinder.web.app"


def rss_kib(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kib() -> int:
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def mib(kib: float) -> float:
    return round(kib / 1024, 1)


# ---------------------------------------------------------------------------------------------- imports


# Run by a bare interpreter with ``-X importtime`` (argv[1]: the groups), so that nothing but the groups is
# imported: the RSS after each, and a marker line in the import-time output before each.
IMPORTS_CHILD = """
import ast, sys
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
steps = [("interpreter", rss(), len(sys.modules))]
for name, modules in ast.literal_eval(sys.argv[1]):
    print("@@group " + name, file=sys.stderr, flush=True)
    before = len(sys.modules)
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            pass
    steps.append((name, rss(), len(sys.modules) - before))
print(repr(steps))
"""


def app_imports() -> list[str]:
    """Every module importing the app brings in, in the order they were first imported."""
    program = f"import sys, {APP_MODULE}; print(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def measure_imports() -> list[dict[str, Any]]:
    present = app_imports()
    groups = []
    for name, packages in IMPORT_GROUPS:
        modules = [module for module in present if module.split(".")[0] in packages]
        if modules:
            groups.append((name, modules))
    groups.append(("Rejoinder (the rest)", [APP_MODULE]))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORTS_CHILD, repr(groups)],
        capture_output=True,
        text=True,
        check=True,
    )
    steps = [
        {"group": name, "rss_kib": rss, "modules": modules}
        for name, rss, modules in ast.literal_eval(done.stdout)
    ]
    # Self time of every module imported while each group was being imported (the lines between markers).
    spent: Counter[str] = Counter()
    group = "interpreter"
    for line in done.stderr.splitlines():
        if line.startswith("@@group "):
            group = line[8:]
        elif line.startswith("import time:") and "|" in line:
            field = line.split(":", 1)[1].split("|")[0].strip()
            if field.isdigit():
                spent[group] += int(field)
    previous = 0
    for step in steps:
        step["added_kib"] = step["rss_kib"] - previous
        step["import_ms"] = round(spent[step["group"]] / 1000, 1)
        previous = step["rss_kib"]
    return steps


# ----------------------------------------------------------------------------------------------- sizes

SKIPPED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
SKIPPED += (types.FrameType, types.MethodType, types.WrapperDescriptorType, types.MethodWrapperType)


def reachable(roots: list[Any], seen: set[int] | None = None, limit: int = 5_000_000) -> tuple[int, int]:
    """Bytes and objects reachable from ``roots`` not already in ``seen`` (which it fills), skipping code,
    types and modules: what these structures hold beyond what is shared with the ones measured before."""
    seen = set() if seen is None else seen
    size = count = 0
    stack = list(roots)
    while stack and count < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, SKIPPED):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        count += 1
        stack.extend(gc.get_referents(obj))
    return size, count


def structure_sizes(app: Any, server: Any) -> list[dict[str, Any]]:
    """Deep sizes of what the server keeps; shared pieces (settings, engines, schema) are counted apart."""
    from dataclasses import fields

    from rejoinder.store import schema

    ctx = app.state.ctx
    shared: set[int] = set()
    rows = []

    def add(name: str, roots: list[Any], note: str = "") -> None:
        size, count = reachable(roots, shared)
        rows.append({"structure": name, "kib": round(size / 1024), "objects": count, "note": note})

    # Settings, the schema, the engines and their dialects are reachable from nearly everything: first,
    # without the engines' compiled caches (measured below).
    compiled = [engine._compiled_cache for engine in ctx.db.engines]
    shared.update(id(cache) for cache in compiled)
    add("settings, schema, engines (shared)", [ctx.settings, schema.metadata, ctx.db])
    shared.difference_update(id(cache) for cache in compiled)
    cache = ctx.cache
    unpacked = [snapshot.unpacked() for snapshot, _ in cache._snapshots.values()]
    comments = sum(
        len(snapshot.top_level) + sum(map(len, snapshot.replies.values())) for snapshot in unpacked
    )
    del unpacked
    warm = sum(not snapshot.is_packed for snapshot, _ in cache._snapshots.values())
    add(
        "read cache: snapshots",
        [cache._snapshots],
        f"{len(cache._snapshots)} threads ({warm} unpacked), {comments} comments",
    )
    bodies = sum(len(entry.body) for entry in cache._entries.values())
    add(
        "read cache: responses",
        [cache._entries, cache._by_thread],
        f"{len(cache._entries)} responses, {bodies // 1024} KiB of JSON",
    )
    add(
        "read cache: counts, generations", [cache._counts, cache._generations], f"{len(cache._counts)} counts"
    )
    fragments = app.state.fragments
    add("comment fragments", [fragments._kept], f"{len(fragments._kept)} comments")
    for engine, cache_of in zip(ctx.db.engines, compiled, strict=True):
        entries = len(cache_of) if cache_of is not None else 0
        add(
            f"SQLAlchemy compiled cache ({engine.pool.size()}-connection pool)",
            [cache_of],
            f"{entries} entries",
        )
    for f in fields(ctx):
        if f.name not in ("settings", "db", "cache"):
            add(f"context: {f.name}", [getattr(ctx, f.name)])
    add("widget assets", [app.state.assets])
    add("templates", [app.state.templates])
    add("routes, middleware, OpenAPI", [app.router, app.middleware_stack, app.openapi_schema])
    state = server.server_state
    add("uvicorn connections", [state.connections], f"{len(state.connections)} open")
    return rows


# --------------------------------------------------------------------------------------------- mappings


def mappings() -> list[dict[str, Any]]:
    """Resident memory by kind of mapping (``/proc/self/smaps``)."""
    kinds: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    name = ""
    size = 0
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = head[5] if len(head) > 5 else ""
                start, end = (int(x, 16) for x in head[0].split("-"))
                size = (end - start) // 1024
            elif head[0] == "Rss:":
                rss = int(head[1])
                if name == "[heap]":
                    kind = "main heap (glibc arena 0, brk)"
                elif name.startswith("/") and ".so" in name:
                    kind = "shared libraries (.so)"
                elif name.startswith("/"):
                    kind = "other files"
                elif name.startswith("["):
                    kind = "main thread stack, vdso"
                elif size == 8192:
                    kind = "thread stacks (8 MiB each)"
                elif start % (64 << 20) == 0 and size <= 65536:
                    kind = "glibc's other arenas (heaps aligned to 64 MiB)"
                else:
                    kind = "other anonymous (Python's arenas, large blocks, mmap)"
                kinds[kind] += rss
                counts[kind] += 1
    return [{"kind": k, "kib": v, "mappings": counts[k]} for k, v in kinds.most_common()]


def glibc() -> Any | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks")
        + ("fordblks", "keepcost")
    ]


def malloc_info() -> dict[str, int] | None:
    libc = glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return {
        "heap_kib": info.arena // 1024,  # bytes taken from the system by brk/sbrk and arenas' heaps
        "mmapped_kib": info.hblkhd // 1024,
        "in_use_kib": info.uordblks // 1024,
        "free_kib": info.fordblks // 1024,
    }


def pymalloc() -> dict[str, int]:
    """Python's own allocator (objects of up to 512 bytes, in 1 MiB arenas): what its arenas hold, and how
    much of that is objects (``sys._debugmallocstats``, which writes to the C stderr)."""
    figures: dict[str, int] = {}
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        for line in out:
            found = re.match(r"# (arenas allocated current|bytes in [a-z ]+?)\s+=\s+([\d,]+)", line)
            if found:
                key = found.group(1).replace(" ", "_")
                figures[key] = int(found.group(2).replace(",", ""))
    return {
        "arenas": figures.get("arenas_allocated_current", 0),
        "in_objects_kib": figures.get("bytes_in_allocated_blocks", 0) // 1024,
        "free_in_pools_kib": figures.get("bytes_in_available_blocks", 0) // 1024,
    }


def sqlite_memory() -> dict[str, int] | None:
    """SQLite's own allocations in this process (every connection's page cache, schema, statements)."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    current, highwater = ctypes.c_int64(), ctypes.c_int64()
    lib.sqlite3_status64.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
    if lib.sqlite3_status64(0, ctypes.byref(current), ctypes.byref(highwater), 0) != 0:  # MEMORY_USED
        return None
    return {"in_use_kib": current.value // 1024, "peak_kib": highwater.value // 1024}


# -------------------------------------------------------------------------------------------- tracemalloc


def owner(filename: str) -> str:
    """A package for libraries, a module for Rejoinder."""
    path = Path(filename)
    parts = path.parts
    if "rejoinder" in parts and "site-packages" not in parts:
        rel = parts[len(parts) - parts[::-1].index("rejoinder") - 1 :]
        return ".".join(rel).removesuffix(".py")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return "stdlib: " + path.stem if filename.startswith("/") else filename


def short(filename: str) -> str:
    return filename.split("site-packages/")[-1].split("/wt-memory/")[-1]


def top_owners(snapshot: Any, n: int = 20) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_owner: Counter[str] = Counter()
    blocks: Counter[str] = Counter()
    for stat in snapshot.statistics("filename"):
        key = owner(stat.traceback[0].filename)
        by_owner[key] += stat.size
        blocks[key] += stat.count
    owners = [{"owner": k, "kib": v // 1024, "blocks": blocks[k]} for k, v in by_owner.most_common(n)]
    lines = [
        {"line": f"{short(s.traceback[0].filename)}:{s.traceback[0].lineno}", "kib": s.size // 1024}
        for s in snapshot.statistics("lineno")[:n]
    ]
    return owners, lines


# ----------------------------------------------------------------------------------------------- client


def client_child(port: int, seeded: str, requests: int) -> None:
    """The workload, in its own process: every thread, popular threads, counts, likes, posts with reads."""
    sys.path.insert(0, str(BENCH))
    import cpu

    work = cpu.Workload.from_database(seeded)
    run = cpu.Run(port, work)

    async def everything() -> None:
        left = iter(work.urls)

        async def cold() -> None:
            client = cpu.Client(port)
            for url in left:
                status, _ = await client.request("GET", cpu.read_path(url))
                run._check(status, 200)
            client.close()

        await asyncio.gather(*(cold() for _ in range(32)))  # as many misses at once as a c64 phase meets
        print("@@step every thread read once", flush=True)
        await run.drive("mixed", requests, 64)
        print("@@step popular threads read", flush=True)
        await run.drive("counts", requests // 4, 16)
        print("@@step counts", flush=True)
        await run.drive("like", requests // 10, 8)
        print("@@step likes", flush=True)
        await asyncio.gather(run.drive("post", requests // 20, 8), run.drive("mixed", requests // 2, 32))
        print("@@step posts with reads alongside", flush=True)

    asyncio.run(everything())
    if run.errors:
        print(f"@@errors {json.dumps(run.errors)}", flush=True)


# ----------------------------------------------------------------------------------------------- server


async def serve_and_measure(args: argparse.Namespace, url: str, log: Path) -> dict[str, Any]:
    import tracemalloc

    import uvicorn

    from rejoinder.allocator import configure_malloc
    from rejoinder.cli.options import migrate
    from rejoinder.logs import configure_logging
    from rejoinder.settings import load_settings
    from rejoinder.web.app import create_app
    from rejoinder.web.sse import StreamClosingServer

    sys.path.insert(0, str(BENCH))
    import cpu

    port = cpu.free_port()
    environ = {**os.environ, "REJOINDER_TRUSTED_PROXIES": "127.0.0.1"}
    settings = load_settings(
        environ=environ, overrides={"database_url": url, "host": "127.0.0.1", "port": port}
    )
    result: dict[str, Any] = {"steps": [{"step": "imported", "rss_kib": rss_kib(), "pss_kib": pss_kib()}]}
    configure_malloc()  # as ``rejoinder serve`` does, before the log's thread allocates
    with log.open("w") as output:
        configure_logging(settings, stream=output, batched=True)
        migrate(settings)
        if args.trace:
            tracemalloc.start()
        app = create_app(settings)
        server = StreamClosingServer(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
                server_header=False,
                proxy_headers=False,
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        result["steps"].append({"step": "started", "rss_kib": rss_kib(), "pss_kib": pss_kib()})
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client-child",
            str(port),
            "--seeded",
            args.seeded,
            "--requests",
            str(args.requests),
            stdout=asyncio.subprocess.PIPE,
        )
        assert client.stdout is not None
        started = time.monotonic()
        while line := (await client.stdout.readline()).decode():
            if line.startswith("@@step "):
                step = {
                    "step": line[7:].strip(),
                    "rss_kib": rss_kib(),
                    "pss_kib": pss_kib(),
                    "pymalloc": pymalloc(),
                    "s": round(time.monotonic() - started),
                }
                result["steps"].append(step)
                print(
                    f"  {step['step']}: RSS {mib(step['rss_kib'])} MiB, PSS {mib(step['pss_kib'])} MiB",
                    file=sys.stderr,
                    flush=True,
                )
            elif line.startswith("@@errors "):
                result["errors"] = json.loads(line[9:])
        await client.wait()
        await asyncio.sleep(1)  # the bus's and the log's threads finish what the last requests started
        result["rss_kib"], result["pss_kib"] = rss_kib(), pss_kib()
        if args.trace:
            result["tracemalloc_own_kib"] = tracemalloc.get_tracemalloc_memory() // 1024
            result["traced_kib"] = tracemalloc.get_traced_memory()[0] // 1024
            result["owners"], result["lines"] = top_owners(tracemalloc.take_snapshot())
            tracemalloc.stop()
        result["mappings"] = mappings()
        result["malloc"] = malloc_info()
        result["pymalloc"] = pymalloc()
        result["sqlite"] = sqlite_memory()
        result["sqlite_connections"] = {
            "reader pool": app.state.ctx.db.reader.pool.checkedin(),
            "writer pool": app.state.ctx.db.writer.pool.checkedin(),
        }
        result["threads"] = len(os.listdir("/proc/self/task"))
        result["structures"] = structure_sizes(app, server)
        libc = glibc()
        if libc is not None:
            gc.collect()
            trimmed = time.perf_counter()
            libc.malloc_trim(0)
            result["malloc_trim_ms"] = round((time.perf_counter() - trimmed) * 1000, 2)
            result["rss_after_malloc_trim_kib"] = rss_kib()
        server.should_exit = True
        await serving
    return result


def report(imports: list[dict[str, Any]], served: dict[str, Any]) -> None:
    print("## Imports (a fresh interpreter, groups in this order)\n")
    print("| group | modules | import time (self) | RSS after | added |")
    print("|---|---|---|---|---|")
    for step in imports:
        if step["modules"] == 0:
            continue  # every module of the group came in with an earlier group
        print(
            f"| {step['group']} | {step['modules']} | {step.get('import_ms', 0)} ms | "
            f"{mib(step['rss_kib'])} MiB | +{mib(step['added_kib'])} MiB |"
        )
    print("\n## The server, step by step\n")
    print("| step | RSS | PSS | Python's arenas (objects in them) |")
    print("|---|---|---|---|")
    for step in [*served["steps"], {**served, "step": "end"}]:
        arenas = step.get("pymalloc")
        held = f"{arenas['arenas']} MiB ({mib(arenas['in_objects_kib'])} MiB)" if arenas else ""
        print(f"| {step['step']} | {mib(step['rss_kib'])} MiB | {mib(step['pss_kib'])} MiB | {held} |")
    if "tracemalloc_own_kib" in served:
        print(
            f"\ntracemalloc: {mib(served['traced_kib'])} MiB traced (allocated since the app was built, "
            f"still held); its own bookkeeping {mib(served['tracemalloc_own_kib'])} MiB, so without it RSS "
            f"would be about {mib(served['rss_kib'] - served['tracemalloc_own_kib'])} MiB."
        )
    if "rss_after_malloc_trim_kib" in served:
        print(
            f"After `malloc_trim(0)` ({served['malloc_trim_ms']} ms): "
            f"RSS {mib(served['rss_after_malloc_trim_kib'])} MiB."
        )
    print("\n## Resident memory by mapping\n")
    print("| kind | RSS | mappings |")
    print("|---|---|---|")
    for row in served["mappings"]:
        print(f"| {row['kind']} | {mib(row['kib'])} MiB | {row['mappings']} |")
    print(f"\nglibc malloc: {served['malloc']}; threads: {served['threads']}")
    print(f"Python's allocator: {served['pymalloc']}")
    print(f"SQLite's own allocations: {served['sqlite']}, connections {served['sqlite_connections']}")
    print("\n## Structures (deep size, each without what an earlier row already counted)\n")
    print("| structure | size | objects | |")
    print("|---|---|---|---|")
    for row in served["structures"]:
        print(f"| {row['structure']} | {mib(row['kib'])} MiB | {row['objects']:,} | {row['note']} |")
    if "owners" in served:
        print("\n## tracemalloc: top owners of what is held at the end\n")
        print("| owner | size | blocks |")
        print("|---|---|---|")
        for row in served["owners"]:
            print(f"| {row['owner']} | {mib(row['kib'])} MiB | {row['blocks']:,} |")
        print("\n| line | size |")
        print("|---|---|")
        for row in served["lines"]:
            print(f"| {row['line']} | {mib(row['kib'])} MiB |")
    if served.get("errors"):
        print(f"\nUnexpected answers: {served['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache/rejoinder-bench")) / "phases-seeded.db"
    parser.add_argument("--seeded", default=str(default), help="a seeded SQLite file (not modified)")
    parser.add_argument("--requests", type=int, default=20000, help="popular-thread reads (the rest scale)")
    parser.add_argument("--no-trace", dest="trace", action="store_false", help="without tracemalloc")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    parser.add_argument("--client-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_child is not None:
        return client_child(args.client_child, args.seeded, args.requests)
    if not Path(args.seeded).exists():
        raise SystemExit(f"{args.seeded} not found: seed one with `bench/phases seed sqlite`")
    imports = measure_imports()
    scratch = Path(tempfile.mkdtemp(prefix="rejoinder-memory-"))
    try:
        shutil.copy(args.seeded, scratch / "bench.db")
        served = asyncio.run(
            serve_and_measure(args, f"sqlite:///{scratch / 'bench.db'}", scratch / "server.log")
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report(imports, served)
    if args.out:
        args.out.write_text(json.dumps({"imports": imports, "server": served}, indent=1))


if __name__ == "__main__":
    main()
