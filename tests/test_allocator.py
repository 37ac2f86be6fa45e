"""The server's C allocator: one malloc arena, however many threads allocate at once, and large blocks in
mappings of their own, however large the blocks freed before them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rejoinder.allocator import SERVER_ARENAS, limit_arenas, map_large_blocks

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
