"""Who runs jobs: a ``Runner`` loop that polls the queue, driven by ``rejoinder worker`` in the foreground
or by ``rejoinder serve`` in a background thread (the embedded default needs no second process)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from rejoinder.jobs import JobQueue, worker_name
from rejoinder.store.watch import Version

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
MIN_PAUSE_SECONDS = 0.05


class Runner:
    """Runs due jobs until stopped, sleeping between them until the next is due, the poll interval has
    passed, or a job is enqueued in this process."""

    def __init__(self, queue: JobQueue, *, poll_seconds: float) -> None:
        self.queue = queue
        self.poll_seconds = poll_seconds
        self.name = worker_name()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Queue the periodic jobs that are missing, run every job that is due; how many ran."""
        self.queue.schedule_periodic()
        return self.queue.run_due(self.name, self.stopping)

    def run_forever(self) -> None:
        scheduled = False
        # Idle, looking for due jobs finds the same answer every poll: look again only once something was
        # committed since the last look (another process may have queued a job) or the job it found is due.
        commits = self.queue.db.watch_commits()
        looked: Version | None = None
        due_at: datetime | None = None
        try:
            while not self.stopping.is_set():
                try:
                    if not scheduled:
                        self.queue.schedule_periodic()
                        scheduled = True
                    version = commits.version()  # before looking: a commit from now on moves it
                    if version is None or version != looked or _is_due(due_at):
                        due_at = self.queue.next_due_at()
                        if _is_due(due_at):
                            self.queue.run_due(self.name, self.stopping)
                            due_at = self.queue.next_due_at()
                        looked = version
                    pause = self._pause(due_at)
                except Exception:
                    # The database went away, most likely: the jobs wait in it, so try again after a poll.
                    log.exception("job runner %s could not reach the queue", self.name)
                    pause = self.poll_seconds
                if not self.stopping.is_set():
                    self.queue.wait(pause)
        finally:
            commits.close()

    def _pause(self, due_at: datetime | None) -> float:
        if due_at is None:
            return self.poll_seconds
        # Never quite zero: a due job another runner is claiming right now is not worth spinning for.
        return max(MIN_PAUSE_SECONDS, min(self.poll_seconds, (due_at - datetime.now(UTC)).total_seconds()))

    def stop(self) -> None:
        """Ask the loop to end once the job it is running, if any, has finished."""
        self.stopping.set()
        self.queue.wake()

    # -- in a background thread, beside the server ---------------------------------------------------

    def start(self) -> Runner:
        self._thread = threading.Thread(target=self.run_forever, name="rejoinder-jobs", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float) -> bool:
        """Stop and wait for the thread; False if a job was still running after ``timeout`` seconds (its
        lease will run out and another runner will take it)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # -- in the foreground, as ``rejoinder worker`` ----------------------------------------------------

    def stop_on_signals(self) -> None:
        """SIGTERM or SIGINT ends the loop after the current job; a second one ends the process at once."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("job runner %s stopping after its current job (signal %d)", self.name, signum)
            for stop_signal in STOP_SIGNALS:
                signal.signal(stop_signal, signal.SIG_DFL)
            self.stop()

        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, handle)


def _is_due(due_at: datetime | None) -> bool:
    return due_at is not None and due_at <= datetime.now(UTC)
