"""Rate limits counted in Redis: every limit of a request tested and counted in one script (one round
trip), with the answers ``limits``' own test and hit per limit give."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from rejoinder.ratelimits import Exceeded, RateLimits, count_each
from rejoinder.settings import Settings
from tests.test_bus import redis_settings  # noqa: F401 (the fixture: a real Redis, keys of its own)

A = ("like-ip", "4/minute;6/hour", "203.0.113.7")
B = ("like-ip", "4/minute;6/hour", "198.51.100.1")
LIKER = ("like-liker", "3/minute", "a reader")
# What is counted, request by request: A fills its 4 a minute; B's first like is refused by the liker's
# limit, so nothing is counted for B, which then has all 4 of its own.
REQUESTS = [[A], [A, LIKER], [A, LIKER], [A, LIKER], [A, LIKER], [B, LIKER], [B], [B], [B], [B], [B]]
REFUSED_BY = [None, None, None, None, "like-ip", "like-liker", None, None, None, None, "like-ip"]


def test_one_round_trip_answers_as_a_test_and_a_hit_per_limit(
    redis_settings: Settings,  # noqa: F811
    steady_rate_windows: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours = RateLimits(redis_settings.redis_url, redis_settings.redis_prefix)
    storage = RedisStorage(redis_settings.redis_url, key_prefix=f"{redis_settings.redis_prefix}-theirs")
    theirs = SlidingWindowCounterRateLimiter(storage)
    client = ours._hit_all.registered_client
    sent: list[str] = []
    send = client.execute_command

    def counted(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return send(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    for checks, refused_by in zip(REQUESTS, REFUSED_BY, strict=True):
        parsed = [(scope, item, who) for scope, rule, who in checks for item in ours._parsed(rule)]
        sent.clear()
        mine = ours.hit(1, checks)
        assert sent in (["EVALSHA"], ["EVALSHA", "SCRIPT LOAD", "EVALSHA"])  # loaded the first time only
        reference = count_each(theirs, 1, parsed)
        assert (mine and mine.scope) == (reference and reference.scope) == refused_by
        if mine is not None and reference is not None:
            assert mine.limit == reference.limit
            assert abs(mine.retry_after - reference.retry_after) <= 1
            assert 1 <= mine.retry_after <= 61


def test_with_redis_unreachable_the_limits_count_in_memory() -> None:
    errors: list[int] = []
    limits = RateLimits("redis://127.0.0.1:9/0", "unreachable", on_error=lambda: errors.append(1))
    assert [limits.hit(1, [A]) for _ in range(4)] == [None] * 4
    refused = limits.hit(1, [A])
    assert refused is not None and refused.scope == "like-ip"
    assert errors == [1] and not limits.shared  # counted in memory until Redis is tried again


async def test_hits_gathered_on_the_loop_count_in_one_round_trip_as_one_after_the_other(
    redis_settings: Settings,  # noqa: F811
    steady_rate_windows: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = RateLimits(redis_settings.redis_url, redis_settings.redis_prefix)
    # A script of its own, which Redis has not seen: the first batch finds it missing and loads it.
    client = limits._hit_all.registered_client
    limits._hit_all = client.register_script(f"{limits._hit_all.script.decode()}\n-- {uuid.uuid4()}\n")
    batches: list[int] = []
    hit_each = limits.hit_each

    def counted(requests: list[tuple[int, list[tuple[str, str, str]]]]) -> list[Exceeded | None]:
        batches.append(len(requests))
        return hit_each(requests)

    sent: list[str] = []
    execute, immediate = redis.client.Pipeline.execute, redis.client.Pipeline.immediate_execute_command
    monkeypatch.setattr(limits, "hit_each", counted)
    monkeypatch.setattr(
        redis.client.Pipeline,
        "execute",
        lambda self, *a, **k: sent.append("pipeline") or execute(self, *a, **k),
    )
    monkeypatch.setattr(
        redis.client.Pipeline,
        "immediate_execute_command",
        lambda self, *a, **k: sent.append(str(a[0])) or immediate(self, *a, **k),
    )
    answers = await asyncio.gather(*(limits.hit_gathered(1, checks) for checks in REQUESTS))
    assert [exceeded and exceeded.scope for exceeded in answers] == REFUSED_BY
    assert batches == [len(REQUESTS)]  # asked in one turn of the loop: one thread hand-off, one batch
    assert sent == ["pipeline", "pipeline"]  # the script was missing: loaded, then the batch sent again
    sent.clear()
    again = await asyncio.gather(limits.hit_gathered(1, [A]), limits.hit_gathered(1, [B]))
    assert [exceeded and exceeded.scope for exceeded in again] == ["like-ip", "like-ip"]
    assert sent == ["pipeline"]  # one round trip, no asking whether the script is there


async def test_hits_gathered_with_redis_unreachable_count_in_memory() -> None:
    limits = RateLimits("redis://127.0.0.1:9/0", "unreachable")
    answers = await asyncio.gather(*(limits.hit_gathered(1, checks) for checks in REQUESTS))
    assert [exceeded and exceeded.scope for exceeded in answers] == REFUSED_BY
    assert not limits.shared
