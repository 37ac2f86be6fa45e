"""Rate limits per client address, per identity and per thread (comments), per address and per liker
(likes), and "once per window" counts (one like per address and comment).

Counted in Redis when the deployment has one (every process sees the same counts), else in this process's
memory. While Redis cannot be reached, counting goes on in memory (each process then limits on its own),
and Redis is tried again a few seconds later.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from math import inf
from typing import Any, Protocol, TypeVar, cast

from rejoinder.errors import RateLimited
from rejoinder.ratecounts import WindowCounts
from rejoinder.rates import Rate, WindowStats, parse_rate, parse_rates
from rejoinder.refusals import Refusals

log = logging.getLogger(__name__)

RETRY_REDIS_SECONDS = 5.0
# Not a limit: a counter of an address's comments in the last hour, high enough never to be reached.
_VOLUME = parse_rate("1000000/hour")
T = TypeVar("T")


class Limiter(Protocol):
    """Counted in Redis (``limits``' ``SlidingWindowCounterRateLimiter``) or in this process's memory
    (``WindowCounts``): the same sliding window counters either way."""

    def hit(self, item: Rate, *identifiers: str, cost: int = 1) -> bool: ...
    def test(self, item: Rate, *identifiers: str, cost: int = 1) -> bool: ...
    def get_window_stats(self, item: Rate, *identifiers: str) -> WindowStats: ...
    def clear(self, item: Rate, *identifiers: str) -> None: ...

# ``hit`` in Redis, every limit of one request in one round trip (``limits`` takes two per limit: a test
# and a hit, each a script). KEYS are each limit's previous and current window, ARGV each limit's amount
# and window in seconds, in the layout and with the arithmetic of ``limits``' sliding window counter, so
# that its ``first``, ``forget`` and window stats read the same counts. Either every limit is counted or,
# when one is full, none: it answers 0, or the full limit's place (from 1) with its windows' counts and
# milliseconds left, from which the Retry-After is worked out as ``limits`` works it out.
_HIT_ALL = """
local n = #KEYS / 2
for i = 1, n do
    local previous, current = KEYS[2 * i - 1], KEYS[2 * i]
    local amount, expiry = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]) * 1000
    local current_ttl = tonumber(redis.call('pttl', current))
    if current_ttl > 0 and current_ttl < expiry then
        -- the current window has ended: it becomes the previous one
        redis.call('rename', current, previous)
        redis.call('set', current, 0, 'PX', current_ttl + expiry)
    end
    local previous_count = tonumber(redis.call('get', previous)) or 0
    local previous_ttl = math.max(0, tonumber(redis.call('pttl', previous)) or 0)
    local current_count = tonumber(redis.call('get', current)) or 0
    current_ttl = math.max(0, tonumber(redis.call('pttl', current)) or 0)
    if previous_count * previous_ttl / expiry + current_count >= amount then
        return {i, previous_count, previous_ttl, current_count, current_ttl}
    end
end
for i = 1, n do
    local current, expiry = KEYS[2 * i], tonumber(ARGV[2 * i]) * 1000
    if redis.call('exists', current) == 1 then
        redis.call('incrby', current, 1)
    else
        redis.call('set', current, 1, 'PX', expiry * 2)
    end
end
return {0}
"""


@dataclass(frozen=True)
class Exceeded:
    scope: str  # "ip", "identity", "thread", "like-ip", "like-liker", or a request kind ("preview")
    limit: str  # e.g. "6 per 1 minute"
    retry_after: int  # seconds


@dataclass
class _Gathering:
    """``hit_gathered``'s hits waiting on one event loop, and whether a task is counting them."""

    loop: asyncio.AbstractEventLoop
    queued: list[tuple[tuple[int, list[tuple[str, str, str]]], asyncio.Future[Exceeded | None]]] = field(
        default_factory=list
    )
    counting: asyncio.Task[None] | None = None


class RateLimits:
    def __init__(
        self, redis_url: str = "", prefix: str = "rejoinder", on_error: Callable[[], None] | None = None
    ) -> None:
        # Two counters per key and window, however high the limit: a moving window would keep (and
        # rescan) one timestamp per comment.
        self._memory = WindowCounts()
        # A check is a test, then a hit: two threads checking the same key at once would both pass the
        # test. Writers on PostgreSQL check in several committer threads at once.
        self._memory_lock = threading.Lock()
        self._shared: Limiter | None = None
        self._hit_all: Any = None  # redis.commands.core.Script: ``_HIT_ALL`` on the storage's client
        self._key_prefix = f"{prefix}:limits"
        # What a failing Redis raises (``limits``' StorageError); nothing without Redis.
        self._shared_failed: tuple[type[Exception], ...] = ()
        if redis_url:
            from limits.errors import StorageError
            from limits.storage import RedisStorage
            from limits.strategies import SlidingWindowCounterRateLimiter

            storage = RedisStorage(
                redis_url,
                key_prefix=self._key_prefix,
                wrap_exceptions=True,
                socket_timeout=1,
                socket_connect_timeout=1,
            )
            # It reads a rate's amount, key and window only, which ``Rate`` gives as ``limits``' own items do.
            self._shared = cast(Limiter, SlidingWindowCounterRateLimiter(storage))
            self._shared_failed = (StorageError,)
            self._hit_all = storage.get_connection().register_script(_HIT_ALL.encode())
            self._storage_errors = storage.base_exceptions
            self._no_script = storage.dependency.exceptions.NoScriptError
        self._on_error = on_error or (lambda: None)
        self._shared_again_at = 0.0
        self._rules: dict[str, list[Rate]] = {}  # a rule as written -> its parsed limits
        self._gathering: _Gathering | None = None

    def _parsed(self, rule: str) -> list[Rate]:
        """``rule`` parsed once: every like and comment names a few, and parsing is a regular expression
        per limit."""
        found = self._rules.get(rule)
        if found is None:
            found = self._rules[rule] = parse_rates(rule)
        return found

    @property
    def shared(self) -> bool:
        """True while counts are kept in Redis, for every process."""
        return self._shared is not None and time.monotonic() >= self._shared_again_at

    def hit(self, site_id: int, checks: list[tuple[str, str, str]]) -> Exceeded | None:
        """Count one comment against each (scope, rule, who); the first limit it would break, if any.

        Nothing is counted when a limit is broken, so a refused flood does not lock out its sender longer.
        """
        return self._counted(lambda limiter: self._hit(limiter, site_id, checks))

    def hit_each(self, requests: list[tuple[int, list[tuple[str, str, str]]]]) -> list[Exceeded | None]:
        """``hit`` for each of several requests (site id, checks), one after the other; in Redis in one
        round trip."""
        return self._counted(lambda limiter: self._hit_each(limiter, requests))

    async def hit_gathered(self, site_id: int, checks: list[tuple[str, str, str]]) -> Exceeded | None:
        """``hit`` for code on the event loop, in a thread (Redis is a round trip). The hits asked while
        one batch is counted are the next batch: one thread hand-off and one round trip between them."""
        loop = asyncio.get_running_loop()
        gathering = self._gathering
        if gathering is None or gathering.loop is not loop:
            gathering = self._gathering = _Gathering(loop)
        future: asyncio.Future[Exceeded | None] = loop.create_future()
        gathering.queued.append(((site_id, checks), future))
        if gathering.counting is None:
            gathering.counting = loop.create_task(self._count_gathered(gathering))
        return await future

    async def _count_gathered(self, gathering: _Gathering) -> None:
        try:
            while gathering.queued:
                batch, gathering.queued = gathering.queued, []
                try:
                    found = await asyncio.to_thread(self.hit_each, [request for request, _ in batch])
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, future), exceeded in zip(batch, found, strict=True):
                    if not future.done():
                        future.set_result(exceeded)
        finally:
            # In the same step as the last look at the queue: a hit queued after it starts a new task.
            gathering.counting = None

    def _hit_each(
        self, limiter: Limiter, requests: list[tuple[int, list[tuple[str, str, str]]]]
    ) -> list[Exceeded | None]:
        if limiter is not self._shared or len(requests) == 1:
            return [self._hit(limiter, site_id, checks) for site_id, checks in requests]
        parsed = [(site_id, self._parsed_checks(checks)) for site_id, checks in requests]

        def send() -> list[Any]:
            # The script by its hash, not through the pipeline's own script handling, which asks Redis
            # whether it has the script first: a second round trip per batch.
            pipeline = self._hit_all.registered_client.pipeline(transaction=False)
            for site_id, checks in parsed:
                if checks:
                    keys, arguments = self._script_arguments(site_id, checks)
                    pipeline.evalsha(self._hit_all.sha, len(keys), *keys, *arguments)
            return list(pipeline.execute())

        try:
            try:
                answers = iter(send())
            except self._no_script:  # not loaded yet, or Redis restarted: no script ran, so run them again
                self._hit_all.registered_client.script_load(self._hit_all.script)
                answers = iter(send())
        except self._storage_errors as exc:
            raise self._shared_failed[0](exc) from exc
        return [self._exceeded(checks, next(answers)) if checks else None for _, checks in parsed]

    def _hit_in_redis(self, site_id: int, checks: list[tuple[str, Rate, str]]) -> Exceeded | None:
        """``_hit`` in one round trip to Redis (``_HIT_ALL``)."""
        try:
            found = self._hit_all(*self._script_arguments(site_id, checks))
        except self._storage_errors as exc:
            raise self._shared_failed[0](exc) from exc
        return self._exceeded(checks, found)

    def _script_arguments(
        self, site_id: int, checks: list[tuple[str, Rate, str]]
    ) -> tuple[list[str], list[int]]:
        """``_HIT_ALL``'s keys and arguments for these checks."""
        keys: list[str] = []
        windows: list[int] = []
        for scope, item, who in checks:
            key = item.key_for(str(site_id), scope, who)
            keys += [f"{self._key_prefix}:{{{key}}}/-1", f"{self._key_prefix}:{{{key}}}"]
            windows += [item.amount, item.get_expiry()]
        return keys, windows

    @staticmethod
    def _exceeded(checks: list[tuple[str, Rate, str]], found: list[Any]) -> Exceeded | None:
        """What ``_HIT_ALL`` answered, as ``hit`` answers."""
        if not found[0]:
            return None
        place, previous_count, previous_ms, current_count, current_ms = (int(value) for value in found)
        scope, item, _ = checks[place - 1]
        expiry = item.get_expiry()
        # When the count next drops, as ``limits``' window stats have it.
        previous_in = (previous_ms / 1000) % (expiry / previous_count) if previous_count else inf
        current_in = (current_ms / 1000) % expiry if current_count else inf
        reset_in = min(previous_in, current_in)
        return Exceeded(scope, str(item), int(reset_in if reset_in < inf else 0) + 1)

    def first(self, site_id: int, scope: str, rule: str, who: str) -> bool:
        """True if ``who`` has not been counted under ``rule`` (e.g. ``1/24 hours``) within its window, and
        count it now; False while it has. (One like per address and comment, for instance.)"""
        item = self._parsed(rule)[0]
        return self._counted(lambda limiter: limiter.hit(item, str(site_id), scope, who))

    def forget(self, site_id: int, scope: str, rule: str, who: str) -> None:
        """Clear what ``first`` counted for ``who``: what it stood for was taken back."""
        item = self._parsed(rule)[0]
        self._counted(lambda limiter: limiter.clear(item, str(site_id), scope, who))

    def _counted(self, count: Callable[[Limiter], T]) -> T:
        """``count`` with the shared limiter while Redis answers, else with this process's own."""
        if self._shared is not None and self.shared:
            try:
                return count(self._shared)
            except self._shared_failed as exc:
                self._redis_failed(exc)
        with self._memory_lock:
            return count(self._memory)

    def _redis_failed(self, exc: Exception) -> None:
        self._shared_again_at = time.monotonic() + RETRY_REDIS_SECONDS
        self._on_error()
        cause = getattr(exc, "storage_error", exc)  # what ``limits``' StorageError wraps
        log.warning("rate limits counted in memory: Redis is unreachable (%s)", cause)

    def count_recent(self, site_id: int, address: str) -> None:
        """Count one comment from ``address`` toward its recent volume (``recent``), limit or not."""
        self._guarded(lambda limiter: limiter.hit(_VOLUME, str(site_id), "volume", address))

    def recent(self, site_id: int, address: str) -> int:
        """Comments ``address`` sent to the site in about the last hour (sliding window): how hard its
        next proof-of-work challenge is."""

        def count(limiter: Limiter) -> int:
            stats = limiter.get_window_stats(_VOLUME, str(site_id), "volume", address)
            return _VOLUME.amount - stats.remaining

        return int(self._guarded(count))

    def _guarded(self, use: Callable[[Limiter], Any]) -> Any:
        if self._shared is not None and self.shared:
            try:
                return use(self._shared)
            except self._shared_failed as exc:
                self._redis_failed(exc)
        with self._memory_lock:
            return use(self._memory)

    def _parsed_checks(self, checks: list[tuple[str, str, str]]) -> list[tuple[str, Rate, str]]:
        """(scope, limit, who) for each limit of each check that applies."""
        return [
            (scope, item, who)
            for scope, rule, who in checks
            if rule != "off" and who
            for item in self._parsed(rule)
        ]

    def _hit(self, limiter: Limiter, site_id: int, checks: list[tuple[str, str, str]]) -> Exceeded | None:
        parsed = self._parsed_checks(checks)
        if not parsed:
            return None
        if limiter is self._shared:
            return self._hit_in_redis(site_id, parsed)
        return count_each(limiter, site_id, parsed)


def count_each(
    limiter: Limiter, site_id: int, parsed: list[tuple[str, Rate, str]]
) -> Exceeded | None:
    """``RateLimits.hit`` with a limiter's own test and hit per limit (in memory, under the caller's lock;
    what ``_HIT_ALL`` does in one script)."""
    for scope, item, who in parsed:
        if not limiter.test(item, str(site_id), scope, who):
            reset = limiter.get_window_stats(item, str(site_id), scope, who).reset_time
            return Exceeded(scope, str(item), max(1, int(reset - time.time()) + 1))
    for scope, item, who in parsed:
        limiter.hit(item, str(site_id), scope, who)
    return None


def refuse_over(
    limits: RateLimits, scope: str, rule: str, address: str, what: str, refusals: Refusals | None = None
) -> None:
    """Count one ``what`` (previews, likes, reports) from a client address under ``rule``; ``RateLimited``,
    naming ``client``, past it. Given ``refusals``, the refusal is remembered under ``scope`` until its
    Retry-After, so the address asking again sooner is refused at the door (``RefusedAgain``)."""
    _refuse(limits.hit(0, [(scope, rule, address)]), scope, address, what, refusals)


async def refuse_over_gathered(
    limits: RateLimits, scope: str, rule: str, address: str, what: str, refusals: Refusals | None = None
) -> None:
    """``refuse_over`` from the event loop, counted in a thread with the other hits asked meanwhile
    (``RateLimits.hit_gathered``)."""
    _refuse(await limits.hit_gathered(0, [(scope, rule, address)]), scope, address, what, refusals)


def refusal(
    exceeded: Exceeded | None, scope: str, address: str, what: str, refusals: Refusals | None = None
) -> RateLimited | None:
    """What ``refuse_over`` raises for a hit that ``exceeded`` a limit (remembered in ``refusals`` as
    there), or None for a hit within it: for hits counted elsewhere (``RateLimits.hit_each``)."""
    try:
        _refuse(exceeded, scope, address, what, refusals)
    except RateLimited as refused:
        return refused
    return None


def _refuse(
    exceeded: Exceeded | None, scope: str, address: str, what: str, refusals: Refusals | None
) -> None:
    if exceeded is None:
        return
    message, fields = f"too many {what} from this address", {"client": f"allows {exceeded.limit}"}
    if refusals is not None:
        refusals.remember(address, scope, exceeded.retry_after, message, fields)
    raise RateLimited(
        f"{message}; try again in {exceeded.retry_after} s", fields, retry_after=exceeded.retry_after
    )
