"""The spam filter's per-process state, owned by the Context: the keys its form proofs are signed with, its
rate-limit windows, what refused attempts read of their submissions (``Readings``), and ``SpamMemos``,
what it remembers of the store between verdicts.

What every process must agree on (used tokens, learned weights, domain marks, decisions) lives in the
database; a memo here only saves reading it again, and knows when what it holds is out of date.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta

from sqlalchemy import Connection

from rejoinder.model import SiteSettings
from rejoinder.ratelimits import RateLimits
from rejoinder.spam import threshold
from rejoinder.spam.duplicates import DuplicateIndex, Seen
from rejoinder.spam.formtoken import FormTokens
from rejoinder.spam.model import Model
from rejoinder.spam.reading import Reading, ReadingKey
from rejoinder.store import spam as store

DUPLICATE_WINDOW = timedelta(days=30)  # how far back a new comment is compared with the site's others
_DOMAIN_MEMO_LIMIT = 1 << 16  # domains remembered per site before the memo starts over
_ThresholdRules = tuple[float, float, float]  # the site's hold and discard thresholds, and its max FPR


class SpamFilter:
    """The filter's keys and rate-limit windows, and what refused attempts read (``Readings``): one per
    server process."""

    def __init__(self, secret: str, rate_limits: RateLimits | None = None) -> None:
        self.tokens = FormTokens(secret)
        self.pow_key = hmac.new(secret.encode(), b"rejoinder.altcha", hashlib.sha256).hexdigest()
        self.rate_limits = rate_limits or RateLimits()
        self.readings = Readings()


class SpamMemos:
    """What verdicts read of the store, remembered per site: its model by version, the marks of the
    domains asked about and the learned threshold (both until the model's version moves), and the
    near-duplicate index of its recent comments (kept current by ``remember`` and ``mark_duplicate``).

    Thread-safe: verdicts run on worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[int, tuple[int, Model]] = {}
        self._duplicates: dict[int, DuplicateIndex] = {}
        # per site: the model version, and the marks of each domain asked about (None: never marked)
        self._domain_marks: dict[int, tuple[int, dict[str, tuple[int, int] | None]]] = {}
        # per site: the model version, and the threshold learned under each (floor, ceiling, max FPR)
        self._thresholds: dict[int, tuple[int, dict[_ThresholdRules, threshold.Learned | None]]] = {}

    def site_model(self, conn: Connection, site_id: int, version: int | None = None) -> Model:
        """The shipped prior plus what the site's moderators taught; reloaded when a write taught more.
        ``version`` is the site's model version if the caller has just read it."""
        if version is None:
            version = store.model_version(conn, site_id)
        with self._lock:
            cached = self._models.get(site_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        if not version:
            model = Model.shipped()
        elif cached is not None and 0 < cached[0] < version:
            # Only the rows later lessons changed, over a copy of what this process already has.
            deltas = cached[1].deltas
            deltas.update(store.weights_changed_since(conn, site_id, cached[0]))
            model = Model.shipped().with_site(deltas)
        else:
            model = Model.shipped().with_site(store.site_weights(conn, site_id))
        with self._lock:
            newest = self._models.get(site_id)
            if newest is None or newest[0] <= version:  # another thread may have loaded a newer one
                self._models[site_id] = (version, model)
        return model

    def domain_marks(
        self, conn: Connection, site_id: int, version: int, domains: list[str]
    ) -> dict[str, tuple[int, int]]:
        """How often moderators marked each domain as spam and as ham, for those marked at all.

        Marks change only when the site's model learns, which bumps its version, so what was read is
        remembered until the version moves; only domains not seen since are asked for."""
        with self._lock:
            cached = self._domain_marks.get(site_id)
            if cached is None or cached[0] != version or len(cached[1]) > _DOMAIN_MEMO_LIMIT:
                cached = self._domain_marks[site_id] = (version, {})
            known = cached[1]
            missing = [domain for domain in domains if domain not in known]
        if missing:
            found = store.domain_marks(conn, site_id, missing)
            with self._lock:
                for domain in missing:
                    known[domain] = found.get(domain)
        return {domain: marks for domain in domains if (marks := known.get(domain)) is not None}

    def learned_threshold(
        self, conn: Connection, site_id: int, version: int, rules: SiteSettings
    ) -> threshold.Learned | None:
        """The spam threshold the site's latest decisions call for (None while they are too few).

        Decisions change only when the site's model learns, which bumps its version, so the threshold is
        remembered until the version moves."""
        key = (rules.spam_hold, rules.spam_discard, rules.spam_max_fpr)
        with self._lock:
            cached = self._thresholds.get(site_id)
            if cached is None or cached[0] != version:
                cached = self._thresholds[site_id] = (version, {})
            if key in cached[1]:
                return cached[1][key]
        decisions = store.decision_scores(conn, site_id, threshold.RECENT_DECISIONS)
        learned = threshold.learn(
            decisions,
            floor=rules.spam_hold,
            ceiling=rules.spam_discard,
            max_fpr=rules.spam_max_fpr,
            owner=rules.spam_spam,
        )
        with self._lock:
            cached[1][key] = learned
        return learned

    def duplicate_index(self, conn: Connection, site_id: int, now: datetime) -> DuplicateIndex:
        """The site's near-duplicate index, read from its comments of the last ``DUPLICATE_WINDOW`` the
        first time it is asked for."""
        with self._lock:
            index = self._duplicates.get(site_id)
        if index is not None:
            return index
        index = DuplicateIndex()
        for fp, comment_id, thread_id, status in store.recent_fingerprints(
            conn, site_id, now - DUPLICATE_WINDOW, 50_000
        ):
            index.add(Seen(fp, comment_id, thread_id, status == "spam"))
        with self._lock:
            return self._duplicates.setdefault(site_id, index)

    def remember(self, site_id: int, comment_id: int, thread_id: int, fingerprint: int | None) -> None:
        """After commit: index a new comment's fingerprint for later duplicate checks."""
        if fingerprint is None:
            return
        with self._lock:
            index = self._duplicates.get(site_id)
        if index is not None:
            index.add(Seen(fingerprint, comment_id, thread_id, False))

    def mark_duplicate(self, site_id: int, comment_id: int, fingerprint: int | None, spam: bool) -> None:
        """After commit: a moderator's decision on a comment, for later duplicate checks."""
        with self._lock:
            index = self._duplicates.get(site_id)
        if index is not None and fingerprint is not None:
            index.mark(comment_id, fingerprint, spam)


class Readings:
    """What refused attempts read of their submissions (``spam.reading``) and rendered of their bodies,
    kept for their retry: a comment refused for want of a proof of work comes back with the same content
    once solved, and reading it again would cost as much as the first time.

    Keyed by the submission's content, so a retry that changed anything reads afresh. Each is taken once;
    none is kept longer than ``seconds`` (a client solves in seconds, the widget resends at once; a retry
    later than that is simply read again), and at most ``limit`` are, holding at most ``max_features``
    features between them (a reading of an ordinary comment holds a few hundred, about 40 KB; a flood of
    long refused comments must not grow the process by more than a few MB).
    Thread-safe: posts run on worker threads."""

    def __init__(self, limit: int = 512, seconds: float = 120.0, max_features: int = 100_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self.max_features = max_features
        self._lock = threading.Lock()
        self._kept: OrderedDict[ReadingKey, tuple[float, Reading, str]] = OrderedDict()
        self._features = 0  # held by the readings kept

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, reading: Reading, html: str) -> None:
        """Keep ``reading`` and ``html`` for the retry of what it was read from (``reading.key``)."""
        now = time.monotonic()
        key = reading.key
        with self._lock:
            self._drop(key)
            self._kept[key] = (now, reading, html)
            self._features += len(reading.features)
            # Oldest first: drop those past their time, and any beyond the limits.
            while self._kept:
                oldest, first = next(iter(self._kept.items()))
                over = len(self._kept) > self.limit or self._features > self.max_features
                if not over and first[0] >= now - self.seconds:
                    break
                self._drop(oldest)

    def take(self, key: ReadingKey) -> tuple[Reading, str] | None:
        """The reading and HTML kept for ``key``, once; None if none is (or it is too old)."""
        with self._lock:
            kept = self._drop(key)
        if kept is None or kept[0] < time.monotonic() - self.seconds:
            return None
        return kept[1], kept[2]

    def _drop(self, key: ReadingKey) -> tuple[float, Reading, str] | None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._features -= len(kept[1].features)
        return kept
