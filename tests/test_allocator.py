"""The server's C allocator: one malloc arena, however many threads allocate at once, and large blocks in
mappings of their own, however large the blocks freed before them; and the cyclic garbage collector's
young generation large enough that a big thread's page is built between two of its collections."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from rejoinder.allocator import SERVER_ARENAS, collect_less_often, limit_arenas, map_large_blocks
from rejoinder.model import Author, Comment, CommentStatus, SortOrder, Thread
from rejoinder.snapshots import ThreadSnapshot
from rejoinder.threads import cut_page
from rejoinder.web.serialize import Fragments, thread_page

# Threads that allocate at the same time, then glibc's own report of its arenas (on stderr).
PROGRAM = """
import ctypes, sys, threading
from rejoinder.allocator import limit_arenas
if sys.argv[1] == "limit":
    limit_arenas()
start = threading.Barrier(8)
def churn():
    start.wait()
    for _ in range(2000):
        [bytearray(512) for _ in range(50)]
threads = [threading.Thread(target=churn) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas_used(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def glibc() -> bool:
    import ctypes

    return hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not glibc(), reason="malloc arenas are glibc's")
def test_threads_of_a_server_share_one_arena() -> None:
    assert arenas_used("default") > SERVER_ARENAS  # the test can tell: glibc alone makes more
    assert arenas_used("limit") <= SERVER_ARENAS


def test_an_operators_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False


# A large block freed, then a smaller one that is still large: does the second get a mapping of its own?
LARGE_BLOCKS = """
import ctypes, sys
from rejoinder.allocator import map_large_blocks
if sys.argv[1] == "map":
    map_large_blocks()
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                 "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
first = bytearray(4 << 20)
del first
before = libc.mallinfo2().hblks
second = bytearray(256 << 10)
print(libc.mallinfo2().hblks - before)
"""


def mapped_blocks(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", LARGE_BLOCKS, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout)


@pytest.mark.skipif(not glibc(), reason="mallinfo2 is glibc's")
def test_a_large_block_gets_its_own_mapping_after_a_larger_one_was_freed() -> None:
    assert mapped_blocks("default") == 0  # the test can tell: glibc alone carves it out of the heap
    assert mapped_blocks("map") == 1


def test_an_operators_own_threshold_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert map_large_blocks() is False


@pytest.fixture
def young_collections() -> Iterator[list[int]]:
    """The collections the cyclic collector makes while the test runs, by generation; its thresholds are
    put back after."""
    thresholds = gc.get_threshold()
    made: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            made.append(info["generation"])

    gc.callbacks.append(count)
    try:
        yield made
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)


def big_thread(size: int) -> ThreadSnapshot:
    """A thread of ``size`` comments, a third of them replies, as a snapshot holds it."""
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    thread = Thread(7, 1, "https://blog.example/big", "Big", start, False, size)
    comments = []
    for i in range(1, size + 1):
        root = None if i % 3 else (i // 3) * 3 - 2
        author = Author(f"Reader {i % 40}")
        created = start + timedelta(seconds=i)
        html = f"<p>Comment {i} with a few words in it.</p>"
        comments.append(
            Comment(i, 7, root, root, author, "", html, CommentStatus.PUBLISHED, created, None, i % 5)
        )
    return ThreadSnapshot.of(thread, 3, comments)


def test_a_big_threads_page_is_built_between_two_young_collections(young_collections: list[int]) -> None:
    """Each young collection promotes what is alive at that moment: the page's own tree, lists and dicts,
    freed a moment later, then pile up in the old generation until a full collection walks every snapshot."""
    snapshot = big_thread(1000)

    def build() -> bytes:
        gc.collect()  # the young generation empty, as after any collection
        young_collections.clear()
        page = cut_page(snapshot, SortOrder.OLDEST, 1000, None)
        return thread_page(page, Fragments(), keep=True).body

    gc.set_threshold(700, 10, 10)  # CPython's own: the test can tell
    build()
    assert young_collections
    collect_less_often()
    body = build()
    assert young_collections == []
    assert body.count(b'"id":') == 1000
