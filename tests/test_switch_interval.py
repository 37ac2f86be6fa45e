"""A server's process on PostgreSQL hands the GIL over sooner: its committer threads wait for it after every
answer from PostgreSQL or Redis, beside an event loop that holds it most of the time."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from rejoinder.store.db import POSTGRES_SWITCH_INTERVAL, Database


@pytest.fixture
def interval() -> Iterator[float]:
    """The process's switch interval before the test, put back after it."""
    before = sys.getswitchinterval()
    yield before
    sys.setswitchinterval(before)


def test_a_postgresql_server_hands_the_gil_over_sooner(
    backend: str, database_url: str, interval: float
) -> None:
    db = Database(database_url)
    try:
        db.hand_over_the_gil_sooner()
    finally:
        db.dispose()
    expected = POSTGRES_SWITCH_INTERVAL if backend == "postgres" else interval
    assert sys.getswitchinterval() == pytest.approx(expected)
