"""The event loop's turns, shared out between readers and writers: requests that write start on at most
a slice of each turn, so that a burst of posts never holds every reader behind it.

A post's work before it joins the group commit (the router, the body's validation, the rules, the Markdown)
is about a millisecond of the loop's time. When a batch commits, its writers are answered together and send
their next posts together, and all of them used to start in the same turn of the loop: 31 posts, 35-60 ms
during which no reader was answered. Here a request that writes starts at once if the writes started in
this turn have taken less than ``WRITES_SLICE_SECONDS`` of the loop's CPU so far, and otherwise waits for
a later turn, behind the readers that arrived meanwhile. Reads are never held; a write waits turns, not a
clock. CPU time, not wall time: on a machine busy with other work, a turn descheduled in the middle would
otherwise let one write start per turn, and the readers would take the writers' share of the loop.

The writes that wait are woken in the order they came, at the start of a turn: as many as started within
the slice the last time some did not, one more each turn they all did. Each waiting write looking again
at every turn of the loop cost a task's step per write per turn, a tenth of the loop's CPU with 32 writers
beside readers.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

# How much of the loop's CPU the writes that start in one turn may take before the rest wait for the next.
# The same length as a slice of a batch's statements (store/db.py, LOOP_SLICE_SECONDS): a reader waits
# about one slice of either.
WRITES_SLICE_SECONDS = 0.004
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# The most waiting writes woken at the start of one turn.
MOST_WOKEN_PER_TURN = 64


class WriteTurns:
    """Let requests that write (any method but GET, HEAD and OPTIONS) start on a slice of each turn."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The loop thread's CPU clock when the first write of this turn started; None: none yet.
        self._turn_began: float | None = None
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._to_wake = 1  # how many waiting writes the next turn wakes
        self._woken = 0  # woken at this turn's start
        self._sent_back = 0  # of those, found the slice taken and waiting again, first in line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READS:
            await self._turn()
        await self.app(scope, receive, send)

    async def _turn(self) -> None:
        if not self._waiting and self._room():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        while True:
            try:
                await waiter
            except asyncio.CancelledError:
                self._give_up(waiter)
                raise
            if self._room():
                return
            # Woken, but the writes woken before it took the slice: first in line for the next turn.
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.insert(self._sent_back, waiter)
            self._sent_back += 1

    def _room(self) -> bool:
        """Whether a write may start in this turn; the first one starts the turn's count."""
        now = time.thread_time()
        if self._turn_began is None:
            self._turn_began = now
            # Runs at the start of the next turn, ahead of the writes it wakes (queued later).
            asyncio.get_running_loop().call_soon(self._next_turn)
            return True
        return now - self._turn_began < WRITES_SLICE_SECONDS

    def _next_turn(self) -> None:
        self._turn_began = None
        if self._sent_back:  # as many as fitted the last time
            self._to_wake = max(1, self._woken - self._sent_back)
        elif self._woken:  # all fitted: one more, and never fewer because the line ran short
            self._to_wake = min(MOST_WOKEN_PER_TURN, max(self._to_wake, self._woken + 1))
        self._woken = self._sent_back = 0
        self._wake(self._to_wake)

    def _wake(self, count: int) -> None:
        while count > 0 and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled one's request is gone
                waiter.set_result(None)
                self._woken += 1
                count -= 1

    def _give_up(self, waiter: asyncio.Future[None]) -> None:
        """A waiting write's request was cancelled: out of the line, and its wake-up, if it had one, to
        the next in line, or the line could stall with no write left to start a turn."""
        if waiter.cancelled() and waiter in self._waiting:
            self._waiting.remove(waiter)
        elif waiter.done():
            self._woken -= 1
            self._wake(1)
