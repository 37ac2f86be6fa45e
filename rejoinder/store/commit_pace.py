"""Where the event loop's batches COMMIT on SQLite: on the loop while the disk's fsyncs are quick, in a
thread while they are slow, judged by most of the recent COMMITs rather than by the last one.

A COMMIT in a thread costs the batch's writers two hand-offs of the GIL (each up to the interpreter's
switch interval, 5 ms, while the loop answers readers); one on the loop holds every reader for its fsync.
A shared disk answers most fsyncs in well under a millisecond and one in a hundred in 20-40 ms: sending
every COMMIT to a thread for ten seconds after any one slow fsync kept the loop's COMMITs in their thread
nearly all the time, and the writers paid the hand-offs for every batch.
"""

from __future__ import annotations

from collections import deque

# The loop's last COMMITs remembered, and how many of them slow send the COMMITs to a thread.
REMEMBERED = 10
SLOW_ENOUGH = 6


class CommitPace:
    """Whether the loop's next COMMIT runs on the loop (``on_loop``), from how long the last ones took
    there (``note``). ``quick``: the longest COMMIT that counts as quick, in seconds (0: every COMMIT in a
    thread). ``now``: a monotonic clock's reading, given by the caller."""

    def __init__(self, in_thread_for: float) -> None:
        self.in_thread_for = in_thread_for
        self._slow: deque[bool] = deque(maxlen=REMEMBERED)  # of the loop's last COMMITs, oldest first
        self._in_thread_until = 0.0

    def on_loop(self, quick: float, now: float) -> bool:
        return quick > 0 and now >= self._in_thread_until

    def note(self, seconds: float, quick: float, now: float) -> None:
        """A COMMIT on the loop took ``seconds``. Most of the last ones slow: the next ones go to a thread
        for ``in_thread_for``, then one tries the loop again; if that one is quick, the disk is taken to be
        quick again and the slow ones before it are forgotten."""
        slow = seconds > quick
        if self._in_thread_until and not slow:
            self._slow.clear()
            self._in_thread_until = 0.0
        self._slow.append(slow)
        if sum(self._slow) >= SLOW_ENOUGH:
            self._in_thread_until = now + self.in_thread_for
