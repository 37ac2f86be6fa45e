"""Refusals remembered per address and kind until their Retry-After, within a bounded memory."""

from __future__ import annotations

import time

from rejoinder.refusals import Refusals


def test_a_refusal_holds_until_its_retry_after_and_only_for_its_address_and_kind() -> None:
    refusals = Refusals()
    refusals.remember("198.51.100.7", "like", 1, "too many likes", {"client": "allows 1 per 1 minute"})
    refusal = refusals.active("198.51.100.7", "like")
    assert refusal is not None and refusal.fields == {"client": "allows 1 per 1 minute"}
    assert refusal.retry_after(time.monotonic()) == 1
    assert refusals.active("198.51.100.7", "preview") is None
    assert refusals.active("198.51.100.8", "like") is None
    time.sleep(1.05)
    assert refusals.active("198.51.100.7", "like") is None


def test_no_address_is_never_remembered() -> None:
    refusals = Refusals()
    refusals.remember("", "like", 60, "too many likes", {})
    assert len(refusals) == 0


def test_memory_stays_bounded_forgetting_the_oldest_first() -> None:
    refusals = Refusals(max_remembered=100)
    for n in range(1000):
        refusals.remember(f"10.0.{n // 256}.{n % 256}", "like", 60, "too many likes", {})
    assert len(refusals) == 100
    assert refusals.active("10.0.0.0", "like") is None
    assert refusals.active("10.0.3.231", "like") is not None  # the 1,000th
