"""A process's memo of rarely changing rows (sites, their origins), emptied by the events that change them;
and of what a pure function made of the inputs it saw last (``Results``), which nothing changes.

No expiry: every process hears of every change through the event bus. A value read from the database is
kept only if no change arrived while it was being read, so a slow read cannot put back what an event
just dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._values: dict[K, V] = {}
        self._generation = 0
        self._lock = threading.Lock()
        # True while another process's news is unread or being applied (fanout.py): answer from the
        # database meanwhile.
        self.pending: Callable[[], bool] | None = None

    def get(self, key: K) -> V | None:
        if self.pending is not None and self.pending():
            return None
        return self._values.get(key)

    @property
    def generation(self) -> int:
        """Note this before reading the database; pass it to ``put``."""
        return self._generation

    def put(self, key: K, value: V, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._values) >= self.limit:
                self._values.clear()
            self._values[key] = value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._values.clear()


class IdSet:
    """A process's memo of a set of ids, read as one tuple (a statement's parameter); emptied as ``Memo``."""

    def __init__(self, limit: int = 1_000) -> None:
        self.limit = limit
        self._ids: tuple[int, ...] = ()
        self._generation = 0
        self._lock = threading.Lock()
        self.pending: Callable[[], bool] | None = None  # as ``Memo.pending``: nothing is known meanwhile

    def ids(self) -> tuple[int, ...]:
        return self.known() or ()

    def known(self) -> tuple[int, ...] | None:
        """The ids, or None while they are not to be trusted (``pending``)."""
        if self.pending is not None and self.pending():
            return None
        return self._ids

    @property
    def generation(self) -> int:
        """Note this before reading what decides membership; pass it to ``add``."""
        return self._generation

    def add(self, item: int, generation: int) -> None:
        with self._lock:
            if generation != self._generation or item in self._ids:
                return
            # Added to rarely (once per site and change): the tuple is built anew, read as it is.
            self._ids = (*self._ids, item) if len(self._ids) < self.limit else (item,)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._ids = ()


class Results(Generic[K, V]):
    """What a pure function gave for its most recent inputs: no event changes them, so a size limit is all
    (emptied when full, as ``Memo``). Readers post with the same address time after time. Posts run on
    worker threads, and no lock is needed: each step is one operation on a dict, and two threads that race
    to fill it put the same value or leave it one entry over its limit."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = value
