"""Where a slow read's time goes, for ``bench/tail_report.py``: loaded by every Python process that has this
folder on its ``PYTHONPATH`` and ``REJOINDER_TAIL_PROBE=DIR`` in its environment, which the shared harness
passes on to the server it starts:

    REJOINDER_TAIL_PROBE=/tmp/tail PYTHONPATH=$PWD/bench/tail bench/phases run sqlite LABEL write
    .venv/bin/python bench/tail_report.py /tmp/tail

In the harness (aiohttp) every thread read carries the time it was sent (``X-Tail-Sent``, ``CLOCK_MONOTONIC``,
which every process of the machine shares) and the time its body was read is noted. In the server
(``rejoinder.web.wire``) the same read's head parsed, its answer complete and its answer sent are noted.
In both, a 1 ms timer on the event loop notes every gap of more than 3 ms between its firings with the
loop thread's CPU time and its time in the kernel's run queue over the gap (``/proc/.../schedstat``), and
the server notes its threads' CPU once a second. Everything goes to ``DIR`` once a second, as JSON lines.
With ``REJOINDER_TAIL_PIECES=1`` too, the server also notes the wall and CPU time of what runs on its loop
(requests received, pages made whole or patched, posts' plans, a batch's pieces, kept writes, COMMIT,
fan-out to the read cache and its update, snapshots packed and unpacked), each step of the task that commits
the loop's batches, each WAL checkpoint and each collection of the cyclic garbage collector;
``bench/tail_report.py`` sums them per phase. A throwaway for measuring, never for a deployment.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib.abc
import importlib.machinery
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

OUT = os.environ.get("REJOINDER_TAIL_PROBE", "")
PIECES = os.environ.get("REJOINDER_TAIL_PIECES") == "1"
HEADER = "X-Tail-Sent"
GAP_NS = 3_000_000
records: list[list[Any]] = []  # lines to write: ["read", ...], ["gap", ...], ["threads", ...]


def _schedstat(tid: int) -> tuple[int, int]:
    """The thread's CPU time and its time waiting in the run queue, in ns."""
    with open(f"/proc/self/task/{tid}/schedstat") as stat:
        ran, waited, _ = stat.read().split()
    return int(ran), int(waited)


def _threads_cpu(loop_tid: int) -> dict[str, int]:
    """Clock ticks of CPU so far: the loop's thread and all others of the process."""
    ticks = {"loop": 0, "others": 0}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        ticks["loop" if int(tid) == loop_tid else "others"] += int(fields[11]) + int(fields[12])
    return ticks


async def watch_loop(role: str) -> None:
    """The loop's gaps, and once a second everything noted so far to ``OUT``."""
    tid = threading.get_native_id()
    os.makedirs(OUT, exist_ok=True)
    path = f"{OUT}/{role}-{os.getpid()}.jsonl"
    last = dumped = time.monotonic_ns()
    ran_before, waited_before = _schedstat(tid)
    while True:
        await asyncio.sleep(0.001)
        now = time.monotonic_ns()
        ran, waited = _schedstat(tid)
        if now - last > GAP_NS:
            records.append(["gap", last, now - last, ran - ran_before, waited - waited_before])
        last, ran_before, waited_before = now, ran, waited
        if now - dumped > 1_000_000_000:
            dumped = now
            if role == "server":
                records.append(["threads", now, _threads_cpu(tid)])
            lines, records[:] = records[:], []
            with open(path, "a") as out:
                out.writelines(json.dumps(line) + "\n" for line in lines)


def probe_server_protocol(wire: ModuleType) -> None:
    """Note each marked read's head parsed, answer complete and answer sent."""
    protocol, step_writes = wire.HttpProtocol, wire.StepWrites
    headers_complete, response_complete, send = (
        protocol.on_headers_complete,
        protocol.on_response_complete,
        step_writes._send,
    )
    marker = HEADER.lower().encode()

    def on_headers_complete(self: Any) -> None:
        sent = next((int(value) for name, value in self.headers if name == marker), None)
        self._tail = (sent, time.monotonic_ns()) if sent else None
        headers_complete(self)

    def on_response_complete(self: Any) -> None:
        noted, self._tail = getattr(self, "_tail", None), None
        if noted:
            now = time.monotonic_ns()
            if getattr(self.transport, "_pending", None):  # leaves at the end of the step
                self.transport.__dict__.setdefault("_tail", []).append([*noted, now])
            else:  # left already
                records.append(["read", *noted, now, now])
        response_complete(self)

    def _send(self: Any) -> None:
        waiting = self.__dict__.pop("_tail", None)
        if waiting:
            now = time.monotonic_ns()
            records.extend(["read", *noted, now] for noted in waiting)
        send(self)

    protocol.on_headers_complete, protocol.on_response_complete = on_headers_complete, on_response_complete
    step_writes._send = _send
    if PIECES:
        protocol.data_received = timed("received", protocol.data_received)


def probe_server(server: ModuleType) -> None:
    serve = server.Server.serve

    async def watched_serve(self: Any, *args: Any, **kwargs: Any) -> None:
        asyncio.get_running_loop().create_task(watch_loop("server"))
        await serve(self, *args, **kwargs)

    server.Server.serve = watched_serve
    if PIECES:
        gc.callbacks.append(_collected)


def timed(kind: str, function: Any) -> Any:
    """``function``, noting ["piece", kind, start, wall ns, CPU ns] for every call."""

    @functools.wraps(function)
    def noting(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.monotonic_ns(), time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            records.append(["piece", kind, start, time.monotonic_ns() - start, time.thread_time_ns() - cpu])

    return noting


def threaded(kind: str, function: Any) -> Any:
    """``timed``, its kind marked "(thread)" when called off the main thread (a read's load in the pool)."""
    on_loop, off_loop = timed(kind, function), timed(f"{kind} (thread)", function)

    @functools.wraps(function)
    def noting(*args: Any, **kwargs: Any) -> Any:
        called = on_loop if threading.current_thread() is threading.main_thread() else off_loop
        return called(*args, **kwargs)

    return noting


def timed_page(page: Any) -> Any:
    """``PageParts.page`` timed as "page patched" when a layout of its query is kept, else as "page made
    whole"."""
    patched, whole = timed("page patched", page), timed("page made whole", page)

    @functools.wraps(page)
    def noting(self: Any, variant: Any, *args: Any, **kwargs: Any) -> Any:
        called = patched if variant in self._layouts else whole
        return called(self, variant, *args, **kwargs)

    return noting


class TimedSteps:
    """Awaits a coroutine, noting each of its steps (its run between two suspensions) as a piece."""

    def __init__(self, coroutine: Any, kind: str) -> None:
        self.coroutine, self.kind = coroutine, kind

    def __await__(self) -> Any:
        steps = self.coroutine.__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            start, cpu = time.monotonic_ns(), time.thread_time_ns()
            try:
                yielded = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value
            finally:
                records.append(
                    ["piece", self.kind, start, time.monotonic_ns() - start, time.thread_time_ns() - cpu]
                )
            value, error = None, None
            try:
                value = yield yielded
            except BaseException as exc:  # thrown into the coroutine at its next step, as await does
                error = exc


_collecting = [0, 0]  # the running collection's start: monotonic and CPU ns


def _collected(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _collecting[:] = [time.monotonic_ns(), time.thread_time_ns()]
        return
    start, cpu = _collecting
    kind = f"gc{info['generation']}"
    records.append(["piece", kind, start, time.monotonic_ns() - start, time.thread_time_ns() - cpu])


def probe_store(db: ModuleType) -> None:
    named = (
        ("_refusable", "batch piece"),
        ("_look_ahead", "lookups"),
        ("_flush", "kept writes"),
        ("_settle", "settle"),
    )
    for name, kind in named:
        setattr(db, name, timed(kind, getattr(db, name)))
    db.Database.checkpoint = timed("checkpoint (thread)", db.Database.checkpoint)
    commit_on_loop, drain = db.Database._commit_loop_batch, db.Database._drain_on_loop

    async def _commit_loop_batch(self: Any, transaction: Any) -> None:
        await TimedSteps(commit_on_loop(self, transaction), "commit")

    async def _drain_on_loop(self: Any) -> None:
        await TimedSteps(drain(self), "batch step")

    db.Database._commit_loop_batch, db.Database._drain_on_loop = _commit_loop_batch, _drain_on_loop


def probe_pieces(module: ModuleType) -> None:
    """The loop's other pieces, by module."""
    if module.__name__ == "rejoinder.bus":
        module.EventBus._committed = timed("fan-out", module.EventBus._committed)
    elif module.__name__ == "rejoinder.comments":
        module._plan_post = timed("post's plan", module._plan_post)
    elif module.__name__ == "rejoinder.web.page_parts":
        module.PageParts.page = timed_page(module.PageParts.page)
    elif module.__name__ == "rejoinder.snapshots":
        packed = module.PackedSnapshot
        packed.of = classmethod(threaded("pack", packed.of.__func__))
        packed.unpacked = threaded("unpack", packed.unpacked)
    elif module.__name__ == "rejoinder.cache":
        module.ReadCache.invalidate = timed("cache update", module.ReadCache.invalidate)


def probe_harness(client: ModuleType) -> None:
    """Mark each thread read the harness sends, and note when its body has been read."""
    request = client.ClientSession._request
    watching: list[asyncio.Task[None]] = []

    async def _request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if not watching:
            watching.append(asyncio.get_running_loop().create_task(watch_loop("client")))
        if method != "GET" or "/api/v1/comments" not in str(url):
            return await request(self, method, url, *args, **kwargs)
        sent = time.monotonic_ns()
        kwargs["headers"] = {**(kwargs.get("headers") or {}), HEADER: str(sent)}
        response = await request(self, method, url, *args, **kwargs)
        read = response.read

        async def read_and_note() -> bytes:
            body: bytes = await read()
            records.append(["body", sent, time.monotonic_ns(), len(body)])
            return body

        response.read = read_and_note
        return response

    client.ClientSession._request = _request


PROBES: dict[str, Callable[[ModuleType], None]] = {
    "rejoinder.web.wire": probe_server_protocol,
    "uvicorn.server": probe_server,
    "aiohttp.client": probe_harness,
}
if PIECES:
    PROBES.update(
        {
            "rejoinder.store.db": probe_store,
            "rejoinder.bus": probe_pieces,
            "rejoinder.comments": probe_pieces,
            "rejoinder.web.page_parts": probe_pieces,
            "rejoinder.snapshots": probe_pieces,
            "rejoinder.cache": probe_pieces,
        }
    )


class ProbingFinder(importlib.abc.MetaPathFinder):
    """Loads the modules above as usual, then puts the probes in."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in PROBES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader, execute = spec.loader, spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            PROBES[name](module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if OUT:
    sys.meta_path.insert(0, ProbingFinder())
