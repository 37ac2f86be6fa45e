"""The server's C allocator: at most two malloc arenas, however many threads allocate at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rejoinder.allocator import SERVER_ARENAS, limit_arenas

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
def test_threads_of_a_server_share_two_arenas() -> None:
    assert arenas_used("default") > SERVER_ARENAS  # the test can tell: glibc alone makes more
    assert arenas_used("limit") <= SERVER_ARENAS


def test_an_operators_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
