"""Whether this server can do its work now: named checks that ``/readyz`` runs on every probe.

The context registers the database and the free disk; anything else a deployment depends on (Redis)
adds a check with ``ctx.readiness.add(name, check)``. A check returns what it found, or raises
``NotReady`` (or anything else) to fail.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Check = Callable[[], dict[str, Any] | None]


class NotReady(Exception):
    """A check's finding that the server cannot serve: the message says what is wrong."""


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: dict[str, Any]


@dataclass
class Readiness:
    """The checks, in the order they were added; each failure names its check."""

    _checks: dict[str, Check] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, check: Check) -> None:
        with self._lock:
            self._checks[name] = check

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    def run(self) -> dict[str, CheckResult]:
        with self._lock:
            checks = list(self._checks.items())
        return {name: _run(name, check) for name, check in checks}


def _run(name: str, check: Check) -> CheckResult:
    try:
        found = check() or {}
    except NotReady as exc:
        return CheckResult(False, {"error": str(exc)})
    except Exception as exc:  # whatever went wrong, the probe answers and names it
        log.warning("readiness check %s failed", name, exc_info=True)
        return CheckResult(False, {"error": type(exc).__name__})
    return CheckResult(True, found)


def free_disk_check(directory: Path, min_free_mb: int) -> Check:
    """Fails when the filesystem holding ``directory`` has less than ``min_free_mb`` MiB free."""

    def check() -> dict[str, Any]:
        free_mb = shutil.disk_usage(directory).free // (1024 * 1024)
        if free_mb < min_free_mb:
            raise NotReady(f"{free_mb} MiB free in {directory}, below min_free_disk_mb ({min_free_mb} MiB)")
        return {"free_mb": free_mb}

    return check
