"""Memory of a server process: one malloc arena, large blocks in mappings of their own, what lives for the
whole process kept out of the cyclic garbage collector's reach, and its young generation collected less often.

glibc gives each thread that meets a busy arena an arena of its own, up to eight per core; a server's
worker threads (reads that miss the cache, PostgreSQL commits) then leave freed memory scattered over a
dozen arenas that are never returned to the system. One arena holds the same work: the threads spend most
of their time waiting for the GIL or the database, not in malloc. Measured with the shared harness
(docs/benchmarks.md): resident memory at the end of a run 190 MB with glibc's default, 175 MB with two
arenas; one arena, with large blocks mapped apart, took another 4.6-11.3 MB off (a second arena had held
10-19 MiB, a third of it free).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
SERVER_ARENAS = 1
# Blocks from this size on get pages of their own, returned to the system when freed. glibc starts there
# too, but raises the threshold to the size of every larger block freed (up to 32 MiB): after the first
# response of a big thread was freed, the next ones were carved out of the heap, and the holes they left
# between long-lived objects stayed resident (a fifth of the heap at the end of a harness run).
LARGE_BLOCK_BYTES = 128 * 1024
# Tracked objects allocated (net) between two collections of the youngest generation; CPython's default is
# 700. A page of a big thread allocates thousands of short-lived objects (tree nodes, lists, dicts) while it
# is built, a post hundreds: at 700, young collections came several times per page, and what was alive at
# each was promoted, until the old generation's growth set off a full collection, which walks every
# snapshot's comments (70,000 objects on the harness's data) and held the event loop 33-73 ms, three times
# in 1,600 posts beside readers. At 20,000 a page is built and freed between two young collections, and no
# full collection came in those posts (docs/benchmarks.md, "Readers' tail latency").
YOUNG_COLLECTION_THRESHOLD = 20_000


def configure_malloc() -> None:
    """glibc's allocator as a server wants it: one arena, large blocks mapped apart. First thing in the
    process: an arena, once a thread has made it (the log's flusher, say), stays until the process ends."""
    limit_arenas()
    map_large_blocks()


def limit_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas``, before the server starts its threads. Leaves an operator's
    own ``MALLOC_ARENA_MAX`` alone, and does nothing on another C library; True if the cap was set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    return _mallopt(M_ARENA_MAX, arenas)


def map_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Have glibc give every block of ``threshold`` bytes or more its own mapping, always: freed, it goes
    back to the system instead of leaving a hole in the heap. Leaves an operator's own
    ``MALLOC_MMAP_THRESHOLD_`` alone; True if the threshold was set."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    return _mallopt(M_MMAP_THRESHOLD, threshold)


def _mallopt(option: int, value: int) -> bool:
    """glibc's ``mallopt``; False on another C library (musl and others have no such arenas)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        if not hasattr(libc, "gnu_get_libc_version"):
            return False
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = mallopt(option, value) == 1
    if not done:
        log.debug("mallopt(%d, %d) was refused", option, value)
    return done


def collect_less_often(threshold: int = YOUNG_COLLECTION_THRESHOLD) -> None:
    """Collect the youngest generation every ``threshold`` net allocations of tracked objects; the older
    generations keep CPython's ratios. A server's process only: what it churns is short-lived."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)


def freeze_startup_objects() -> int:
    """Exempt every object alive now (modules, classes, functions, the app: ~140,000 of a warm server's
    ~190,000 tracked objects) from the cyclic garbage collector's full collections, which walk every tracked
    object and hold the event loop meanwhile: 120 ms of CPU before, 30 ms after, measured on a server that
    had read every thread. What the server creates later is collected as before. Returns how many objects
    were frozen."""
    gc.collect()  # the start's own garbage first: frozen cycles would never be freed
    gc.freeze()
    return gc.get_freeze_count()
