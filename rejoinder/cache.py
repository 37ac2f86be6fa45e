"""The read cache: thread snapshots, finished responses and comment counts in memory, kept current by writes.

The layers share one lock and one set of generations. A *snapshot* (see ``snapshots.py``) holds every
visible comment of a thread; a write updates it in place, so the next read rebuilds its page from memory
rather than from the database. Only the snapshots of the threads written to last are held as comments
(*warm*), up to a share of the budget; the others are held packed, and unpacked for a write or a page.
*Responses* are finished JSON bodies per query, and *counts* the comment count of each thread; any write
to their thread drops them. A reader notes the thread's generation before it reads the database and stores
its result only if no write bumped the generation meanwhile, so a slow read can never put a stale page
back after the write that outdated it. Concurrent misses of one response
at one generation are built once (single flight): after a write to a popular thread, one request rebuilds
it and the rest wait for it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rejoinder.model import Author

log = logging.getLogger(__name__)

ThreadKey = tuple[str, str]  # (site key, normalised thread URL)
GENERATION_STRIPES = 4096
MAX_COUNTS = 200_000  # comment counts of threads, a few dozen bytes each
MAX_AUTHORS = 20_000  # commenters shared by snapshots, about 100 bytes each
# The share of the snapshots' budget held as comments, by the threads written to last: 16 MiB of the default
# 128, about 28,000 comments. A packed snapshot takes a sixth of the memory, but a write to it unpacks it
# (about 2 µs a comment) and packs it again when it leaves the warm ones (4-5 µs), and a packed thread's pages
# keep no layout: a sixteenth saved 7-8 MB more at the harness's end, but beside 32 writers its readers got a
# fifth fewer answers than with an eighth (docs/benchmarks.md, "snapshots held packed: the warm share").
WARM_SHARE = 8
MAX_COOLED = 4096  # threads packed and not yet told to ``cooled``'s caller


class Snapshot(Protocol):
    """What the read cache reads of a thread's snapshot (``snapshots.ThreadSnapshot``, or its packed form)."""

    @property
    def comment_count(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def is_packed(self) -> bool: ...

    def packed(self) -> Snapshot:
        """Its compact form: itself if it is one, or if it cannot be packed."""
        ...

    def unpacked(self) -> Any:
        """The snapshot that pages are cut from and writes applied to: itself if it is not packed."""
        ...


@dataclass(frozen=True)
class CachedResponse:
    thread_key: ThreadKey
    body: bytes
    etag: str


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: CachedResponse | None = None


class ReadCache:
    def __init__(self, max_bytes: int, max_warm_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes  # for each layer
        self._snapshots: OrderedDict[ThreadKey, tuple[Snapshot, int]] = OrderedDict()  # (snapshot, size)
        self._snapshot_size = 0
        # The snapshots held unpacked, by the thread's last write (oldest first), with their sizes: a busy
        # thread's next write and page find its comments as they are. A read keeps what it loads packed.
        self.max_warm_bytes = max_bytes // WARM_SHARE if max_warm_bytes is None else max_warm_bytes
        self._warm: OrderedDict[ThreadKey, int] = OrderedDict()
        self._warm_size = 0
        self._cooled: deque[ThreadKey] = deque(maxlen=MAX_COOLED)
        # Comment counts by site, then by thread URL: a counts request names one site and up to a hundred
        # URLs, looked up by the URL strings alone (no key tuple to build and hash for each).
        self._counts: dict[str, dict[str, int]] = {}
        self._counts_held = 0
        # What a site's counts are at: a number never used before, taken whenever one of them is dropped
        # (and for every site on ``clear``), so an answer made of them is known to be current while it holds.
        self._count_changes = itertools.count(1)
        self._counts_epoch = 0
        self._counts_versions: dict[str, int] = {}
        # One author object per commenter for every snapshot, not one per thread they wrote in: the same
        # people write in many threads. Bounded by emptying it (snapshots keep the objects they hold).
        self._authors: dict[tuple[str, str], Author] = {}
        self._entries: OrderedDict[Hashable, CachedResponse] = OrderedDict()
        self._by_thread: dict[ThreadKey, set[Hashable]] = {}
        # Striped by hash, so the table stays bounded; a collision only costs an extra miss.
        self._generations = [0] * GENERATION_STRIPES
        self._size = 0
        self._lock = threading.Lock()
        self._flights: dict[tuple[Hashable, int], _Flight] = {}
        self.hits = self.misses = 0
        # While set, nothing is served from memory or kept there: this process may be missing other
        # processes' changes (its channel to them is down), so every read goes to the database.
        self.bypass = False
        # True while another process's news has arrived but is not applied yet (see fanout.py): nothing is
        # answered from memory meanwhile, so a read never predates a write another process acknowledged.
        self.pending: Callable[[], bool] | None = None

    def _unusable(self) -> bool:
        return self.bypass or (self.pending is not None and self.pending())

    def generation(self, thread_key: ThreadKey) -> int:
        return self._generations[hash(thread_key) % GENERATION_STRIPES]

    def written_to(self, thread_key: ThreadKey) -> bool:
        """Whether a write to the thread was applied since this process started (or since ``clear``). A
        write to another thread of the same generation stripe counts too: rarely, and only as a maybe."""
        return self.generation(thread_key) != 0

    def get(self, variant: Hashable) -> CachedResponse | None:
        # ``_unusable`` spelled out: this runs for every read the cache answers.
        usable = not self.bypass and (self.pending is None or not self.pending())
        entry = self._entries.get(variant) if usable else None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        try:  # noqa: SIM105 (contextlib.suppress costs three calls, on every read the cache answers)
            self._entries.move_to_end(variant)
        except KeyError:  # evicted by another thread in between: still a valid response to send
            pass
        return entry

    def fetch(
        self, variant: Hashable, thread_key: ThreadKey, build: Callable[[], tuple[bytes, str]]
    ) -> CachedResponse:
        """The cached response, or the one ``build`` makes, a body and its ETag (once, however many ask at
        the same time)."""
        entry = self.get(variant)
        if entry is not None:
            return entry
        generation = self.generation(thread_key)
        flight_key = (variant, generation)
        with self._lock:
            flight = self._flights.get(flight_key)
            leader = flight is None
            if flight is None:
                flight = self._flights[flight_key] = _Flight()
        if not leader:
            flight.done.wait(timeout=30)
            if flight.result is not None:
                return flight.result
            return self.put(variant, thread_key, self.generation(thread_key), *build())  # the leader failed
        try:
            flight.result = self.put(variant, thread_key, generation, *build())
            return flight.result
        finally:
            with self._lock:
                del self._flights[flight_key]
            flight.done.set()

    def put(
        self, variant: Hashable, thread_key: ThreadKey, generation: int, body: bytes, etag: str
    ) -> CachedResponse:
        entry = CachedResponse(thread_key, body, etag)
        if len(body) > self.max_bytes or self.bypass:
            return entry
        with self._lock:
            if generation != self.generation(thread_key):
                return entry  # a write landed while this response was built
            self._remove(variant)
            self._entries[variant] = entry
            self._by_thread.setdefault(thread_key, set()).add(variant)
            self._size += len(body)
            while self._size > self.max_bytes:
                self._remove(next(iter(self._entries)))
        return entry

    def snapshot(self, thread_key: ThreadKey) -> Any | None:
        """The thread's snapshot, unpacked (for this once, if it is held packed: see ``warm``)."""
        entry = None if self._unusable() else self._snapshots.get(thread_key)
        if entry is None:
            return None
        with contextlib.suppress(KeyError):
            self._snapshots.move_to_end(thread_key)
        return entry[0].unpacked()

    def warm(self, thread_key: ThreadKey) -> bool:
        """Whether the thread's snapshot is held unpacked: one of the threads written to last. A page made of
        it may keep what it is made of (``web/page_parts.py``), as that holds the same comments."""
        return thread_key in self._warm

    def cooled(self) -> list[ThreadKey]:
        """The threads whose snapshots were packed since the last call: what was kept of their comments
        elsewhere (a page's layout) holds objects the snapshot no longer does, and should be let go."""
        found = []
        with contextlib.suppress(IndexError):
            while True:
                found.append(self._cooled.popleft())
        return found

    def put_snapshot(self, thread_key: ThreadKey, generation: int, snapshot: Snapshot, size: int) -> None:
        """Keep ``snapshot``, packed, unless a write to its thread landed since ``generation`` was read, and
        its comment count with the others: the same number the database holds, read at the same time."""
        if size > self.max_bytes or self.bypass:
            return
        packed = snapshot.packed()  # before the lock: its work is the caller's alone
        if packed is not snapshot:
            snapshot, size = packed, packed.size
        with self._lock:
            if generation != self.generation(thread_key):
                return
            self._drop_snapshot(thread_key)
            self._snapshots[thread_key] = (snapshot, size)
            self._snapshot_size += size
            self._keep_count(thread_key, snapshot.comment_count)
            while self._snapshot_size > self.max_bytes:
                self._drop_snapshot(next(iter(self._snapshots)))

    def authors(self) -> dict[tuple[str, str], Author]:
        """The table of shared authors, (name, website) to author, for a snapshot being made."""
        if len(self._authors) > MAX_AUTHORS:
            self._authors = {}
        return self._authors

    def counts(self, thread_keys: list[ThreadKey]) -> dict[ThreadKey, int]:
        """The comment counts memory holds for these threads (those it lacks are left out)."""
        if self._unusable():
            return {}
        found = {}
        for key in thread_keys:
            count = self._counts.get(key[0], {}).get(key[1])
            if count is not None:
                found[key] = count
        return found

    def site_counts(self, site_key: str, urls: list[str]) -> list[int] | None:
        """The comment counts of these threads of one site, in order, or None unless memory holds every one:
        a counts request's answer from memory, with one lookup per URL."""
        if self._unusable():
            return None
        of_site = self._counts.get(site_key)
        if of_site is None:
            return None
        found = list(map(of_site.get, urls))
        return None if None in found else found  # type: ignore[return-value]

    def counts_version(self, site_key: str) -> int | None:
        """The version of the site's counts in memory, or None while memory may not answer. Taken before
        counts are read, it tells whether what was made of them is still current (``web/fastreads.py``)."""
        if self._unusable():
            return None
        return self._counts_versions.get(site_key, self._counts_epoch)

    def put_counts(self, generations: dict[ThreadKey, int], counts: dict[ThreadKey, int]) -> None:
        """Keep counts read from the database, except those of threads written to since ``generations``."""
        if self.bypass:
            return
        with self._lock:
            if self._counts_held + len(counts) > MAX_COUNTS:
                self._counts.clear()  # rare, and cheap to refill
                self._counts_held = 0
            for key, count in counts.items():
                if generations[key] == self.generation(key):
                    self._keep_count(key, count)

    def _keep_count(self, thread_key: ThreadKey, count: int) -> None:
        """Hold a thread's comment count (under the lock)."""
        if self._counts_held >= MAX_COUNTS:
            self._counts.clear()  # rare, and cheap to refill
            self._counts_held = 0
        of_site = self._counts.setdefault(thread_key[0], {})
        if thread_key[1] not in of_site:
            self._counts_held += 1
        of_site[thread_key[1]] = count

    def invalidate(
        self, thread_key: ThreadKey, update: Callable[[Any], tuple[Snapshot, int]] | None = None
    ) -> None:
        """A write to the thread committed: ``update`` its snapshot (or drop it), drop its responses and
        its comment count, or take the count the updated snapshot holds.

        Under one lock with ``put_snapshot``, so a snapshot loaded before the write cannot be stored after it.
        """
        with self._lock:
            entry = self._snapshots.get(thread_key)
            self._drop_snapshot(thread_key)
            updated = None
            if entry is not None and update is not None:
                try:
                    updated, size = update(entry[0])
                except Exception:  # an update that cannot be applied only costs a reload
                    log.exception("could not update the snapshot of %r; it will be reloaded", thread_key)
                else:
                    self._snapshots[thread_key] = (updated, size)
                    self._snapshot_size += size
                    if not updated.is_packed:
                        self._warm[thread_key] = size
                        self._warm_size += size
            self._generations[hash(thread_key) % GENERATION_STRIPES] += 1
            if updated is not None:
                # The count readers of its page see: a counts request after a write to a thread someone
                # reads is answered from memory, not by a trip through the framework to the database.
                self._keep_count(thread_key, updated.comment_count)
            else:
                of_site = self._counts.get(thread_key[0])
                if of_site is not None and of_site.pop(thread_key[1], None) is not None:
                    self._counts_held -= 1
            # After the count is gone: whoever read the version before this read the count before it too.
            self._counts_versions[thread_key[0]] = next(self._count_changes)
            for variant in self._by_thread.pop(thread_key, ()):
                self._remove(variant)
            coldest = self._coldest()
        self._pack(coldest)

    def _coldest(self) -> list[tuple[ThreadKey, Snapshot]]:
        """The warm snapshots beyond their budget, the least recently written first, taken off the warm list
        (under the lock)."""
        found = []
        while self._warm_size > self.max_warm_bytes and len(self._warm) > 1:
            thread_key, size = self._warm.popitem(last=False)
            self._warm_size -= size
            found.append((thread_key, self._snapshots[thread_key][0]))
        return found

    def _pack(self, snapshots: list[tuple[ThreadKey, Snapshot]]) -> None:
        """Hold these snapshots packed, each unless a write replaced it meanwhile. Packed outside the lock:
        a write to another thread need not wait for it."""
        for thread_key, snapshot in snapshots:
            packed = snapshot.packed()
            if packed is snapshot:
                continue  # kept as it is, off the warm list: packed after its next write, if it can be then
            with self._lock:
                entry = self._snapshots.get(thread_key)
                if entry is None or entry[0] is not snapshot:
                    continue
                self._snapshots[thread_key] = (packed, packed.size)
                self._snapshot_size += packed.size - entry[1]
            self._cooled.append(thread_key)

    def clear(self) -> None:
        with self._lock:
            for i in range(GENERATION_STRIPES):
                self._generations[i] += 1
            self._entries.clear()
            self._by_thread.clear()
            self._size = 0
            self._snapshots.clear()
            self._snapshot_size = 0
            self._warm.clear()
            self._warm_size = 0
            self._counts.clear()
            self._counts_held = 0
            self._counts_versions.clear()
            self._counts_epoch = next(self._count_changes)

    def _drop_snapshot(self, thread_key: ThreadKey) -> None:
        entry = self._snapshots.pop(thread_key, None)
        if entry is not None:
            self._snapshot_size -= entry[1]
        size = self._warm.pop(thread_key, None)
        if size is not None:
            self._warm_size -= size

    def _remove(self, variant: Hashable) -> None:
        entry = self._entries.pop(variant, None)
        if entry is not None:
            self._size -= len(entry.body)
            variants = self._by_thread.get(entry.thread_key)
            if variants is not None:
                variants.discard(variant)
                if not variants:
                    del self._by_thread[entry.thread_key]
