"""The event bus: events recorded in the outbox inside a write transaction, delivered after it commits.

Two kinds of subscriber:

- ``subscribe``: runs in **every** process, for what each process keeps in memory (the read cache, memos
  of sites, the near-duplicate index, live-update streams). The writing process runs it right after the
  commit; the others get the event through the fan-out (Redis pub/sub) and, as a safety net that also
  covers a process that died before publishing, by tailing the outbox.
- ``subscribe_once``: runs in **one** process (learning from a decision, mail, webhooks). The writing
  process runs it on the bus's own thread after the commit, then marks the event delivered; an event left
  undelivered (its writer crashed, or a subscriber failed) is claimed and delivered again by some process.
  ``subscribe_once_batch`` is the same for a handler that takes the events gathered meanwhile as a list:
  one transaction for many comments instead of one per comment, which is what keeps the bus's thread up
  with a busy writer. A subscriber that has nothing to do unless someone hears of the event
  (``only_if_heard``) is spared an event recorded as heard by no one (``record(..., heard=False)``): if
  every one-process subscriber of its type is such, the event is written delivered and only the
  subscribers of every process run.

Delivery is at least once: subscribers are idempotent. Each process remembers the ids it has applied, so
the same event arriving by pub/sub and by the tail runs its subscribers there once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection

from rejoinder.events import Event, decode, encode
from rejoinder.fanout import Fanout, Message
from rejoinder.store import outbox as store
from rejoinder.store.db import Database, Part, after_commit, at_commit, committed_on_its_own
from rejoinder.store.watch import Version

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]
BatchHandler = Callable[[list[Any]], None]

SEEN_LIMIT = 100_000  # event ids remembered per process at most, to apply each once
GAP_LIMIT = 1_000  # ids skipped by the tail that may still commit (PostgreSQL hands out ids before commit)
GAP_PATIENCE = timedelta(seconds=30)  # after this, a skipped id is taken for a rolled-back one
REDELIVER_AFTER = timedelta(seconds=10)  # an undelivered event this old has lost its writer
# The one-process work gives way to the loop's batches of writes (Database.write) until the event it runs
# has waited this long; then it goes first, so that a flood of posts cannot push it into redelivery.
# Three write transactions a post (subscriptions, moderators, webhooks) fell 2.7 s behind 2,000 posts
# from 8 writers at full speed (docs/benchmarks.md).
GIVE_WAY_SECONDS = REDELIVER_AFTER.total_seconds() / 2
CLAIM_FOR = timedelta(seconds=60)
KEEP_DELIVERED = timedelta(minutes=10)  # long enough for every process's tail to see it
TAIL_BATCH = 1_000
# How long the bus's thread lets one-process work gather after being woken for it: subscribers that take
# batches then spend one transaction on many comments. Mail and webhooks are not that urgent.
GATHER_SECONDS = 0.05


class EventBus:
    def __init__(self, db: Database, fanout: Fanout, *, tail_seconds: float) -> None:
        self.db = db
        self.fanout = fanout
        self.tail_seconds = tail_seconds
        self._everywhere: list[tuple[type[Any], Handler]] = []
        # One-process subscribers, each as a handler of a list of events (``subscribe_once`` wraps its own),
        # whether it takes them in batches, and whether only events someone hears of (``only_if_heard``).
        self._once: list[tuple[type[Any] | tuple[type[Any], ...], BatchHandler, bool, bool]] = []
        self._local: list[tuple[type[Any], Handler]] = []
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._last_id = 0
        self._gaps: dict[int, datetime] = {}
        # The once-work of each commit (event ids and events) with the time it was handed over
        # (time.monotonic).
        self._once_work: queue.SimpleQueue[tuple[list[tuple[int, Event]], float] | None] = queue.SimpleQueue()
        self._delivered: list[int] = []
        self._delivered_lock = threading.Lock()
        self._idle = threading.Condition()
        self._busy = 0
        self._handed: set[int] = set()  # ids handed to this process's thread and not yet run (under _idle)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._state_listeners: list[Callable[[bool], None]] = []
        self._purged = datetime.now(UTC)
        # Idle, the tail finds nothing twice a second: skip it while nothing was committed since the last
        # one and no event waited for its one-process subscribers then (one could come of age unseen).
        self._commits = db.watch_commits()
        self._polled_version: Version | None = None
        self._undelivered_left = True
        db.on_commit = self._committed

    # -- subscribing

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Run ``handler`` in every process for each committed event of this type."""
        self._everywhere.append((event_type, handler))

    def subscribe_once(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Run ``handler`` in one process for each committed event of this type (retried until it
        succeeds: it must be idempotent)."""
        self._once.append((event_type, lambda events: handler(events[0]), False, False))

    def subscribe_once_batch(
        self,
        event_types: tuple[type[E], ...],
        handler: Callable[[list[E]], None],
        *,
        only_if_heard: bool = False,
    ) -> None:
        """``subscribe_once`` for a handler of several events at once, of any of ``event_types``: those
        committed together, always in one call, with those committed while the bus's thread was busy or
        gathering. If it raises, each event is given to it again alone, so one event's failure leaves only
        that event to be delivered again. ``only_if_heard``: the handler has nothing to do with an event
        recorded as heard by no one (``record``), whose recorder asked, in its transaction, the same
        questions the handler asks before it writes."""
        self._once.append((event_types, handler, True, only_if_heard))

    def subscribe_local(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Run ``handler`` only in the process that committed the event, right after the commit, and never
        again (for this process's own counters: each event counted once across a deployment)."""
        self._local.append((event_type, handler))

    # -- recording

    def record(self, conn: Connection, event: Event, *, heard: bool = True) -> None:
        """Write ``event`` to the outbox in the caller's transaction; it is delivered once that commits.

        The row is written just before the commit, with every other event of the transaction (a group
        commit's comments: one statement, not one round trip each): nothing reads it before then.
        ``heard=False``: the caller found in this transaction that no one hears of the event, so the
        one-process subscribers that run ``only_if_heard`` are spared it."""
        once = self._is_once(event, heard)
        kept = at_commit(conn, self._write_events, self._events_as_part)
        if kept is not None:
            kept.append((event, once))
        else:
            self._record_now(conn, event, once)

    def _record_now(self, conn: Connection, event: Event, once: bool) -> None:
        data = encode(event)  # once: the outbox row and the message to other processes carry the same
        event_id = store.add(conn, event.topic(), data, datetime.now(UTC), delivered=not once)
        after_commit(conn, (event_id, event, once, data))

    def _write_events(self, conn: Connection, events: list[tuple[Event, bool]]) -> None:
        """The outbox rows of a transaction's events (``record``, each with whether it is once-work), in
        one statement."""
        if len(events) == 1:
            self._record_now(conn, *events[0])
        else:
            self._record_planned(conn, [(event, once, encode(event)) for event, once in events])

    def _events_as_part(self, conn: Connection, events: list[tuple[Event, bool]]) -> Part:
        """``_write_events`` as a part of the commit's one statement (PostgreSQL)."""
        planned = [(event, once, encode(event)) for event, once in events]

        def returned(ids: list[int]) -> None:
            for event_id, (event, once, data) in zip(ids, planned, strict=True):
                after_commit(conn, (event_id, event, once, data))

        entries = [(event.topic(), data, not once) for event, once, data in planned]
        return store.add_many_as_part(entries, datetime.now(UTC), returned)

    def written(self, conn: Connection, events: Sequence[tuple[int, Event]]) -> None:
        """Events whose outbox rows (by id) a statement of the caller's wrote itself, as ``record`` writes
        them: delivered once the caller's transaction commits, or at once if that statement committed on its
        own (``committed_on_its_own``), whatever becomes of the transaction after it."""
        noted = [(event_id, event, self._is_once(event), encode(event)) for event_id, event in events]
        if committed_on_its_own(conn):
            self._committed(noted)
            return
        for item in noted:
            after_commit(conn, item)

    def delivered_when_written(self, event_type: type[Event]) -> bool:
        """Whether an event of this type is written to the outbox as delivered: no subscriber in one process
        waits for it (as ``record`` writes it)."""
        return not any(issubclass(event_type, t) for t, _, _, _ in self._once)

    def _is_once(self, event: Event, heard: bool = True) -> bool:
        """Whether a one-process subscriber waits for the event (one that runs ``only_if_heard`` only if
        someone hears of it)."""
        return any(isinstance(event, t) and (heard or not if_heard) for t, _, _, if_heard in self._once)

    def record_many(self, conn: Connection, events: Sequence[Event]) -> None:
        """``record`` for many events in one statement (a bulk import touches many threads per batch)."""
        self._record_planned(conn, [(event, self._is_once(event), encode(event)) for event in events])

    def _record_planned(self, conn: Connection, planned: list[tuple[Event, bool, dict[str, Any]]]) -> None:
        now = datetime.now(UTC)
        ids = store.add_many(conn, [(event.topic(), data, not once) for event, once, data in planned], now)
        for event_id, (event, once, data) in zip(ids, planned, strict=True):
            after_commit(conn, (event_id, event, once, data))

    # -- running

    def start(self) -> None:
        """Start delivering: the fan-out's listener and this bus's thread (tail, redelivery, purge)."""
        if self._threads:
            return
        with self.db.read() as conn:
            self._last_id = store.newest_id(conn)
        self.fanout.start(self._received, self._fanout_state)
        thread = threading.Thread(target=self._run, name="rejoinder-events", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Finish the one-process work already handed over, then stop."""
        if not self._threads:
            self._commits.close()  # polled by hand, if at all (a command, a test)
            self.fanout.close()
            return
        self.drain(timeout=10)
        self._stop.set()
        self._wake.set()
        self._once_work.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._commits.close()
        self.fanout.close()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until the one-process subscribers have run for every event handed over so far."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def poll(self) -> None:
        """One round of the bus's housekeeping, now: tail the outbox, redeliver, mark delivered."""
        self._tail()
        self._redeliver()
        self._flush_delivered()

    # -- inside

    def _committed(self, noted: list[tuple[int, Event, bool, dict[str, Any]]]) -> None:
        """After a commit, on the writer's thread: apply here, send to the others, hand over once-work. In a
        committer thread the publication is sent first, and its answer left for the writers' loop to read
        (``held_answers``): Redis works on it while the events are applied here, and the committer goes on
        to its next batch without waiting for it.

        This process's tail may have read the rows since the commit, and applied them here, while the
        writer was held up: what only the writer does (the local subscribers, the publishing, the
        once-work) it does all the same, or an event it stole would wait for redelivery."""
        outgoing: list[Message] = [
            {"id": event_id, "topic": event.topic(), "data": data} for event_id, event, _, data in noted
        ]
        held = self.db.held_answers()
        if held is not None and (heard := self.fanout.send(outgoing)) is not None:
            held.append(heard)
        once_work: list[tuple[int, Event]] = []
        for event_id, event, once, _ in noted:
            if self._first_time(event_id):
                self._apply_everywhere(event)
            self._apply(self._local, event)
            if once:
                once_work.append((event_id, event))
        if once_work:
            self._hand_over(once_work)
        if held is None:
            self.fanout.publish(outgoing)

    def _hand_over(self, items: list[tuple[int, Event]]) -> None:
        """Give the bus's thread the once-work of one commit, as one piece: the thread takes a commit's
        events together whatever it is woken by (the gathering only adds other commits' events to them)."""
        if not self._threads:
            # Not started (a one-shot command, a test without a server): run it here and now.
            self._run_once(items)
            self._flush_delivered()
            return
        with self._idle:
            self._busy += len(items)
            self._handed.update(event_id for event_id, _ in items)
        self._once_work.put((items, time.monotonic()))
        self._wake.set()

    def _received(self, messages: list[Message]) -> None:
        """Events another process committed, from the fan-out."""
        for message in messages:
            event_id = int(message["id"])  # type: ignore[call-overload]
            if not self._first_time(event_id):
                continue
            try:
                event = decode(str(message["topic"]), message["data"])  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring an event this version cannot read: %r", message.get("topic"))
                continue
            self._apply_everywhere(event)

    def _fanout_state(self, up: bool) -> None:
        for handler in self._state_listeners:
            handler(up)

    def on_fanout_state(self, handler: Callable[[bool], None]) -> None:
        """Call ``handler(up)`` when the channel to other processes breaks or comes back."""
        self._state_listeners = [*self._state_listeners, handler]

    def _first_time(self, event_id: int) -> bool:
        with self._seen_lock:
            if event_id in self._seen:
                return False
            self._seen[event_id] = None
            if len(self._seen) > SEEN_LIMIT:
                self._seen.popitem(last=False)
            return True

    def _apply_everywhere(self, event: Event) -> None:
        self._apply(self._everywhere, event)

    def _apply(self, subscribers: list[tuple[type[Any], Handler]], event: Event) -> None:
        for event_type, handler in subscribers:
            if isinstance(event, event_type):
                try:
                    handler(event)
                except Exception:
                    # Never undoes the write; a cache that missed an update is dropped by the next one.
                    log.exception("subscriber %r failed on %r", handler, event)

    def _run_once(self, items: list[tuple[int, Event]]) -> None:
        """Run the one-process subscribers of these events; mark delivered those that every one took."""
        failed: set[int] = set()
        for event_type, handler, batched, _ in self._once:
            mine = [(event_id, event) for event_id, event in items if isinstance(event, event_type)]
            if not mine:
                continue
            if batched and len(mine) > 1:
                try:
                    handler([event for _, event in mine])
                    continue
                except Exception:
                    log.exception(
                        "subscriber %r failed on %d events; giving it each alone", handler, len(mine)
                    )
            for event_id, event in mine:
                try:
                    handler([event])
                except Exception:
                    failed.add(event_id)
                    log.exception("subscriber %r failed on %r; it will run again", handler, event)
        with self._delivered_lock:
            self._delivered.extend(event_id for event_id, _ in items if event_id not in failed)

    def _run(self) -> None:
        next_poll = time.monotonic()
        while not self._stop.is_set():
            if self._wake.wait(max(0.0, next_poll - time.monotonic())) and not self._stop.is_set():
                self._stop.wait(GATHER_SECONDS)  # let the writers' next events join this batch
            self._wake.clear()
            try:
                self._work_off()
                # The outbox is read on the clock, not on every wake: waking is for this process's own
                # events, which need no tail.
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.tail_seconds
                    self.poll_unless_quiet()
                else:
                    self._flush_delivered()
            except Exception:
                log.exception("the event bus's housekeeping failed; trying again")
        self._work_off()

    def poll_unless_quiet(self) -> None:
        """``poll``, unless nothing was committed since the last one and it left no event undelivered: what
        the bus's thread does every ``tail_seconds``."""
        version = self._commits.version()  # before reading: a commit from now on moves it
        if version is not None and version == self._polled_version and not self._undelivered_left:
            self._flush_delivered()
            return
        self.poll()
        self._polled_version = version

    def _work_off(self) -> None:
        batch: list[tuple[int, Event]] = []
        oldest: float | None = None
        while True:
            try:
                item = self._once_work.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                batch.extend(item[0])
                oldest = item[1] if oldest is None else min(oldest, item[1])
        if oldest is None:
            return
        try:
            # Behind by half the redelivery delay: no longer give way to the loop's batches of writes.
            if time.monotonic() - oldest < GIVE_WAY_SECONDS:
                self._run_once(batch)
            else:
                with self.db.ahead_of_batches():
                    self._run_once(batch)
        finally:
            with self._idle:
                self._busy -= len(batch)
                self._handed.difference_update(event_id for event_id, _ in batch)
                self._idle.notify_all()

    def _flush_delivered(self) -> None:
        with self._delivered_lock:
            ids, self._delivered = self._delivered, []
        if not ids:
            return
        try:
            with self.db.write() as conn:
                store.mark_delivered(conn, ids, datetime.now(UTC))
        except Exception:
            log.exception("could not mark %d events delivered; they may be delivered again", len(ids))

    def _tail(self) -> None:
        """Apply events other processes committed that pub/sub did not bring (or that no one published)."""
        now = datetime.now(UTC)
        self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_PATIENCE}
        with self.db.read() as conn:
            rows = store.after(conn, self._last_id, sorted(self._gaps)[:GAP_LIMIT], TAIL_BATCH)
            with self._seen_lock:
                unseen = [event_id for event_id, _ in rows if event_id not in self._seen]
            found = store.payloads(conn, unseen)
            # Asked here for ``_redeliver``: idle, one transaction a poll rather than two.
            self._undelivered_left = store.has_undelivered(conn)
        for event_id, topic in rows:
            self._gaps.pop(event_id, None)
            if event_id > self._last_id:
                if self.db.backend == "postgresql" and event_id > self._last_id + 1:
                    for missing in range(self._last_id + 1, min(event_id, self._last_id + GAP_LIMIT)):
                        self._gaps.setdefault(missing, now)
                self._last_id = event_id
            if event_id not in found or not self._first_time(event_id):
                continue
            try:
                event = decode(topic, found[event_id])
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring an event this version cannot read: %r", topic)
                continue
            self._apply_everywhere(event)
        self._forget_passed()

    def _forget_passed(self) -> None:
        """Forget the ids of applied events the tail has passed by more than ``GAP_LIMIT``: it never reads
        them again but for an id it skipped (PostgreSQL), which it reads within a poll of its commit, and
        pub/sub brings an event moments after its commit. What stays remembered is what may still arrive
        twice, not every event since the process started (170 bytes each: 5 MB after the benchmark's
        30,000 comments). An event that did arrive twice after all is applied twice, which subscribers
        tolerate (see the module's docstring)."""
        floor = self._last_id - GAP_LIMIT
        with self._seen_lock:
            while self._seen and next(iter(self._seen)) < floor:
                self._seen.popitem(last=False)

    def _redeliver(self) -> None:
        """Run the one-process subscribers of events whose writer never did; forget old events."""
        now = datetime.now(UTC)
        if now - self._purged > timedelta(minutes=1):
            self._purged = now
            with self.db.write() as conn:
                store.purge(conn, now - KEEP_DELIVERED)
        if not self._undelivered_left:  # as the tail found it just now
            return
        with self.db.read() as conn:
            if not store.has_undelivered(conn, now - REDELIVER_AFTER):
                return
        with self.db.write() as conn:
            rows = store.claim_undelivered(conn, now - REDELIVER_AFTER, now, now + CLAIM_FOR)
        with self._idle:  # handed to this thread already, and only late: it runs them, and not twice
            rows = [row for row in rows if row.id not in self._handed]
        claimed: list[tuple[int, Event]] = []
        for row in rows:
            try:
                event = decode(row.topic, row.payload)
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring an event this version cannot read: %r", row.topic)
                continue
            if self._first_time(row.id):
                self._apply_everywhere(event)
            claimed.append((row.id, event))
        if claimed:
            self._run_once(claimed)
