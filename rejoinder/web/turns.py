"""The event loop's turns, shared out between readers and writers: requests that write start on at most
a slice of each turn, so that a burst of posts never holds every reader behind it.

A post's work before it joins the group commit (the router, the body's validation, the rules, the Markdown)
is about a millisecond of the loop's time. When a batch commits, its writers are answered together and send
their next posts together, and all of them used to start in the same turn of the loop: 31 posts, 35-60 ms
during which no reader was answered. Here a request that writes starts at once if the writes started in
this turn have taken less than a slice (``writes_slice``) of the loop's CPU so far, and otherwise waits for
the next turn, behind the readers that arrived meanwhile. Reads are never held; a write waits turns, not a
clock. CPU time, not wall time: on a machine busy with other work, a turn descheduled in the middle would
otherwise let one write start per turn, and the readers would take the writers' share of the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from rejoinder.store.db import LOOP_SLICE_SECONDS

# How much of the loop's CPU the writes that start in one turn may take before the rest wait for the next,
# on SQLite: the same length as a slice of a batch's statements (store/db.py, LOOP_SLICE_SECONDS), so that
# a reader waits about one slice of either. With 32 writers beside readers it is what a reader waits for
# each turn: 1 ms rather than 4 traded a fifth of their writes for almost half the readers' p99, and cost
# 8 writers little.
WRITES_SLICE_SECONDS = LOOP_SLICE_SECONDS
# PostgreSQL: its batches commit in threads, so a turn holds the posts' starts but none of their
# statements; measured beside readers with slices of 4 ms, not with shorter ones.
WRITES_SLICE_SECONDS_POSTGRESQL = 0.004
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes_slice(backend: str) -> float:
    """The writes' slice of a turn for a server on this database backend (``Database.backend``)."""
    return WRITES_SLICE_SECONDS if backend == "sqlite" else WRITES_SLICE_SECONDS_POSTGRESQL


class WriteSlices:
    """Whether a write may start in this turn of the loop: ``await start()`` returns once it may. One per
    app, shared by ``WriteTurns`` and the posts answered before the framework (``web/fastposts.py``).

    A write that must wait is woken when its turn may come, oldest first, rather than asking again on every
    turn: 32 writers asking on every turn of a loop busy with readers had cost a tenth of its CPU. Each
    turn wakes one more write than fitted in the slice the turn before, so at most one is woken in vain."""

    def __init__(self, slice_seconds: float = WRITES_SLICE_SECONDS) -> None:
        self.slice_seconds = slice_seconds
        # The loop thread's CPU clock when the first write of this turn started; None: none yet.
        self._turn_began: float | None = None
        self._next_turn_due = False
        # Writes waiting for a turn, oldest first; woken ones that found the slice used go back in front.
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._put_back = 0  # woken writes put back in front this turn, in their order
        self._fitted = 0  # woken writes that started this turn

    async def start(self) -> None:
        if not self._waiting and self._may_start():
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiting.append(waiter)
        while True:
            await waiter
            if self._may_start():
                self._fitted += 1
                return
            waiter = loop.create_future()
            self._waiting.insert(self._put_back, waiter)
            self._put_back += 1

    def _may_start(self) -> bool:
        now = time.thread_time()
        if self._turn_began is None:
            self._turn_began = now
            self._ask_for_next_turn()
            return True
        return now - self._turn_began < self.slice_seconds

    def _ask_for_next_turn(self) -> None:
        if not self._next_turn_due:
            self._next_turn_due = True
            # Runs at the start of the next turn, ahead of the requests that arrive meanwhile.
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._next_turn_due = False
        self._turn_began = None
        woken, share = 0, self._fitted + 1
        self._put_back = self._fitted = 0
        while self._waiting and woken < share:
            waiter = self._waiting.popleft()
            if not waiter.done():  # done: its request was cancelled while it waited
                waiter.set_result(None)
                woken += 1
        if self._waiting:  # even if every write woken now is cancelled before it runs
            self._ask_for_next_turn()


class WriteTurns:
    """Let requests that write (any method but GET, HEAD and OPTIONS) start on a slice of each turn."""

    def __init__(self, app: ASGIApp, slices: WriteSlices | None = None) -> None:
        self.app = app
        self.slices = slices or WriteSlices()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READS:
            await self.slices.start()
        await self.app(scope, receive, send)
