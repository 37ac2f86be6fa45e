"""How a writer on the event loop hears that a committer thread has committed its write (PostgreSQL).

A committer hands its batch's results to the loop with one ``call_soon_threadsafe``; a plain future set
there wakes its waiting task with ``call_soon``, in the turn after. Beside 32 readers a turn of the loop is
their requests' worth of CPU, and a writer waiting for its answer before its next post paid it on every
write. ``WriterFuture`` keeps its waiters (the writer's task) itself, and the settling callback may run
them right after it sets the result (``settle_now``): the writer goes on, and its answer leaves
(``SETTLED_AT_ONCE``, ``web/wire.py``), in the turn that settles its batch. The store does so only while
few writes of the lane are in flight (``store.db.SETTLE_AT_ONCE_IN_FLIGHT``): beside many, their batches
are large, and writers going on at once took the readers' share of the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Waiter = tuple[Callable[[Any], object], contextvars.Context | None]

# Set in a writer's task whose write was settled at once (``WriterFuture.settle_now``): its answer leaves
# the server as soon as it is complete (``web/wire.py``), in that same turn, rather than at the end of it.
SETTLED_AT_ONCE: contextvars.ContextVar[bool] = contextvars.ContextVar("settled_at_once", default=False)


class WriterFuture(asyncio.Future[T]):
    """The future a writer's task awaits while a committer commits its write.

    ``settle_now``, called on the loop outside any task, sets it and runs its waiters at once. Set or
    cancelled any other way (a timeout, the server stopping), it hands them to the loop as any future does,
    for the next turn."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._waiting: list[_Waiter] = []
        self.at_once = False  # set by ``settle_now``

    def add_done_callback(
        self, fn: Callable[[Any], object], *, context: contextvars.Context | None = None
    ) -> None:
        if self.done():
            super().add_done_callback(fn, context=context)
        else:
            self._waiting.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        kept = [(waiter, context) for waiter, context in self._waiting if waiter != fn]
        removed = len(self._waiting) - len(kept)
        self._waiting = kept
        return removed + super().remove_done_callback(fn)

    def set_result(self, result: T) -> None:
        super().set_result(result)
        self._wake_soon()

    def set_exception(self, exception: type | BaseException) -> None:
        super().set_exception(exception)
        self._wake_soon()

    def cancel(self, msg: Any | None = None) -> bool:
        if not super().cancel(msg):
            return False
        self._wake_soon()
        return True

    def settle_now(self, result: T | None, error: BaseException | None) -> None:
        """On the loop, outside any task: set the result (or the error) and run the waiters now. A task
        woken here runs its next step inside this call, so it must not be made from inside a task."""
        self.at_once = True
        if error is not None:
            super().set_exception(error)
        else:
            super().set_result(result)  # type: ignore[arg-type]
        waiting, self._waiting = self._waiting, []
        for fn, context in waiting:
            try:
                if context is None:
                    fn(self)
                else:
                    context.run(fn, self)
            except Exception as exc:  # as the loop reports a callback's error
                self.get_loop().call_exception_handler(
                    {"message": "a writer's wake-up failed", "exception": exc, "future": self}
                )

    def _wake_soon(self) -> None:
        """Hand the waiters to the loop as a done future's callbacks, for its next turn."""
        for fn, context in self._waiting:
            super().add_done_callback(fn, context=context)
        self._waiting = []
