"""The event loop's turns, shared out between readers and writers: requests that write start on at most
a slice of each turn, so that a burst of posts never holds every reader behind it.

A post's work before it joins the group commit (the router, the body's validation, the rules, the Markdown)
is about a millisecond of the loop's time. When a batch commits, its writers are answered together and send
their next posts together, and all of them used to start in the same turn of the loop: 31 posts, 35-60 ms
during which no reader was answered. Here a request that writes starts at once if the writes started in
this turn have taken less than ``WRITES_SLICE_SECONDS`` of the loop's CPU so far, and otherwise waits for
the next turn, behind the readers that arrived meanwhile. Reads are never held; a write waits turns, not a
clock. CPU time, not wall time: on a machine busy with other work, a turn descheduled in the middle would
otherwise let one write start per turn, and the readers would take the writers' share of the loop.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Receive, Scope, Send

# How much of the loop's CPU the writes that start in one turn may take before the rest wait for the next.
# The same length as a slice of a batch's statements (store/db.py, LOOP_SLICE_SECONDS): a reader waits
# about one slice of either.
WRITES_SLICE_SECONDS = 0.004
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteSlices:
    """Whether a write may start in this turn of the loop: ``await start()`` returns once it may. One per
    app, shared by ``WriteTurns`` and the posts answered before the framework (``web/fastposts.py``)."""

    def __init__(self) -> None:
        # The loop thread's CPU clock when the first write of this turn started; None: none yet.
        self._turn_began: float | None = None

    async def start(self) -> None:
        while True:
            now = time.thread_time()
            if self._turn_began is None:
                self._turn_began = now
                # Runs at the start of the next turn, ahead of the writes that wait for it (queued later).
                asyncio.get_running_loop().call_soon(self._next_turn)
                return
            if now - self._turn_began < WRITES_SLICE_SECONDS:
                return
            await asyncio.sleep(0)

    def _next_turn(self) -> None:
        self._turn_began = None


class WriteTurns:
    """Let requests that write (any method but GET, HEAD and OPTIONS) start on a slice of each turn."""

    def __init__(self, app: ASGIApp, slices: WriteSlices | None = None) -> None:
        self.app = app
        self.slices = slices or WriteSlices()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READS:
            await self.slices.start()
        await self.app(scope, receive, send)
