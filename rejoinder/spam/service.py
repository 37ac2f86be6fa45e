"""The filter at work: gathers what the store knows about a comment, asks every signal, keeps the verdict,
and learns from moderators' decisions.

Per-process state (rate-limit windows, the duplicate index, each site's model) lives in ``SpamFilter``;
what every process must agree on (used tokens, learned weights, domain marks) lives in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from rejoinder.errors import ChallengeRequired, RateLimited
from rejoinder.model import Site, SiteSettings
from rejoinder.spam import duplicates, formtoken, honeypot, links, lists, pow, threshold, trust
from rejoinder.spam.classifier import Features, Model, extract, lesson_ids
from rejoinder.spam.duplicates import DuplicateIndex, Seen
from rejoinder.spam.ratelimit import RateLimits
from rejoinder.spam.submission import FormProof, Submission
from rejoinder.spam.verdict import Action, Evidence, Thresholds, Verdict, combine
from rejoinder.store import spam as store
from rejoinder.store.comments import StoredVerdict

_DOMAIN_MEMO_LIMIT = 1 << 16  # domains remembered per site before the memo starts over
_ThresholdRules = tuple[float, float, float]  # the site's hold and discard thresholds, and its max FPR

__all__ = ["Submission", "FormProof", "SpamFilter", "Judged", "check_submission", "teach"]

DUPLICATE_WINDOW = timedelta(days=30)
TOKEN_MEMORY = timedelta(seconds=formtoken.MAX_AGE_SECONDS)
CLASSIFIER_REASON_AT = 1.0  # log-odds from which the text itself is named as a reason


@dataclass(frozen=True)
class Judged:
    """A verdict with what is kept next to it: the text's fingerprint and, for discards, the purge date."""

    verdict: Verdict
    stored: StoredVerdict


class SpamFilter:
    """One per server process (held by the context)."""

    def __init__(self, secret: str) -> None:
        self.tokens = formtoken.FormTokens(secret)
        self.pow_key = hmac.new(secret.encode(), b"rejoinder.altcha", hashlib.sha256).hexdigest()
        self.rate_limits = RateLimits()
        self._lock = threading.Lock()
        self._models: dict[int, tuple[int, Model]] = {}
        self._duplicates: dict[int, DuplicateIndex] = {}
        # per site: the model version, and the marks of each domain asked about (None: never marked)
        self._domain_marks: dict[int, tuple[int, dict[str, tuple[int, int] | None]]] = {}
        # per site: the model version, and the threshold learned under each (floor, ceiling, max FPR)
        self._thresholds: dict[int, tuple[int, dict[_ThresholdRules, threshold.Learned | None]]] = {}

    # -- what the form needs

    def form(self, site: Site, rules: SiteSettings) -> dict[str, Any]:
        return {
            "form_token": self.tokens.issue(site.key),
            "honeypot": honeypot.FIELD,
            "challenge": pow.challenge(self.pow_key) if rules.pow != "off" else None,
        }

    # -- judging

    def check_rate(self, site: Site, rules: SiteSettings, sub: Submission, thread_url: str) -> None:
        identity = sub.author.email.casefold() or sub.author.name.casefold()
        exceeded = self.rate_limits.hit(
            site.id,
            [
                ("ip", rules.rate_limit_ip, sub.remote_addr),
                ("identity", rules.rate_limit_identity, identity),
                ("thread", rules.rate_limit_thread, thread_url),
            ],
        )
        if exceeded is not None:
            field = {"ip": "client", "identity": "author", "thread": "url"}[exceeded.scope]
            who = {"ip": "this address", "identity": "this author", "thread": "this thread"}[exceeded.scope]
            raise RateLimited(
                f"too many comments from {who}; try again in {exceeded.retry_after} s",
                {field: f"allows {exceeded.limit}"},
                retry_after=exceeded.retry_after,
            )

    def judge(
        self,
        conn: Connection,
        site: Site,
        rules: SiteSettings,
        sub: Submission,
        *,
        features: Features,
        thread_id: int | None,
        proof: FormProof | None,
        now: datetime,
        comment_id: int = 0,
    ) -> Judged:
        """Every signal's evidence, combined into a verdict. Runs inside the write transaction, so a
        used token is marked in the same commit as the comment it let through."""
        version = store.model_version(conn, site.id)
        model = self.site_model(conn, site.id, version)
        base = model.log_odds(features)
        evidence: list[Evidence] = []
        if base >= CLASSIFIER_REASON_AT:
            words = ", ".join(f"'{w}'" for w in model.explain(features))
            evidence.append(
                Evidence(
                    "classifier", 0.0, f"text reads like spam ({words})" if words else "text reads like spam"
                )
            )
        elif base >= 0.0:
            evidence.append(
                Evidence("classifier", 0.0, "text does not read clearly like ordinary conversation")
            )
        solved = False
        if proof is not None:
            evidence += honeypot.judge(proof.honeypot)
            check = self.tokens.check(proof.form_token, site.key, rules.min_submit_seconds, now.timestamp())
            evidence += check.evidence
            if check.digest and not store.use_token(conn, check.digest, now + TOKEN_MEMORY):
                evidence.append(formtoken.replayed())
            digest = pow.verify(proof.altcha, self.pow_key) if rules.pow != "off" else None
            if digest and store.use_token(conn, digest, now + pow.LIFETIME):
                solved = True
                evidence.append(pow.solved())
            elif rules.pow == "always":
                raise ChallengeRequired(
                    "this site asks every comment to solve a proof-of-work challenge",
                    {"altcha": "must be a solved, unused challenge from GET /api/v1/form"},
                )
        domains = links.domains_in(sub.text, sub.author.website, sub.author.email)
        # An edited comment is judged without its own earlier version: it must not vouch for itself.
        approved, spammed = store.author_history(conn, site.id, sub.author.email, excluded=comment_id)
        evidence += links.judge(
            sub.text,
            sub.author.website,
            first_time=approved == spammed == 0,
            marked=self.domain_marks(conn, site.id, version, domains),
        )
        evidence += trust.judge(approved, spammed)
        evidence += lists.judge(rules, sub, domains)
        fingerprint = duplicates.fingerprint(sub.text)
        if fingerprint is not None:
            index = self.duplicate_index(conn, site.id, now)
            matches = [m for m in index.near(fingerprint) if m.comment_id != comment_id]
            evidence += duplicates.judge(matches, thread_id)
        learned = None
        if rules.spam_learn_threshold:
            learned = self.learned_threshold(conn, site.id, version, rules)
        spam_at = learned.threshold if learned is not None else rules.spam_spam
        thresholds = Thresholds(rules.spam_hold, spam_at, rules.spam_discard)
        # The classifier's reason carries no weight of its own: its log-odds are the base.
        verdict = combine(base, evidence, thresholds)
        if learned is not None and verdict.action is Action.SPAM:
            verdict = Verdict(
                verdict.action,
                verdict.score,
                (
                    *verdict.reasons,
                    f"spam from p ≥ {learned.threshold:.2f} on this site, learned from "
                    f"{learned.decisions} moderator decisions",
                ),
            )
        if verdict.action is Action.HOLD and rules.pow == "doubtful" and proof is not None and not solved:
            raise ChallengeRequired(
                "solve the proof-of-work challenge and send the comment again",
                {"altcha": "is required for this comment: solve the challenge from GET /api/v1/form"},
            )
        if verdict.action is Action.PUBLISH and rules.moderation:
            verdict = Verdict(Action.HOLD, verdict.score, ("this site holds every comment for moderation",))
        purge = now + timedelta(days=rules.spam_retention_days) if verdict.action is Action.DISCARD else None
        stored = StoredVerdict(verdict.action.value, verdict.score, list(verdict.reasons), fingerprint, purge)
        return Judged(verdict, stored)

    # -- per-site state

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
            decisions, floor=rules.spam_hold, ceiling=rules.spam_discard, max_fpr=rules.spam_max_fpr
        )
        with self._lock:
            cached[1][key] = learned
        return learned

    def duplicate_index(self, conn: Connection, site_id: int, now: datetime) -> DuplicateIndex:
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
        with self._lock:
            index = self._duplicates.get(site_id)
        if index is not None and fingerprint is not None:
            index.mark(comment_id, fingerprint, spam)


def features_of(sub: Submission) -> Features:
    return extract(sub.text, author=sub.author.name, website=sub.author.website)


def check_submission(ctx: Any, site: Site, sub: Submission) -> Verdict:
    """Judge text sent by another application (no form, so no token, honeypot or proof of work). Nothing
    is stored: without form proof the verdict only reads."""
    from rejoinder.sites import site_settings

    rules = site_settings(ctx, site)
    features = features_of(sub)
    with ctx.db.read() as conn:
        judged = ctx.spam.judge(
            conn, site, rules, sub, features=features, thread_id=None, proof=None, now=datetime.now(UTC)
        )
    return judged.verdict


def teach(
    ctx: Any, site: Site, item_key: str, sub: Submission, is_spam: bool, *, score: float | None = None
) -> bool:
    """Train the site's classifier on one decision; see ``teach_in``."""
    with ctx.db.write() as conn:
        return teach_in(ctx, conn, site, item_key, sub, is_spam, score=score)


def lesson_due(conn: Connection, site_id: int, item_key: str, is_spam: bool) -> bool:
    """True if teaching this decision would change the model (``teach_in`` would return True)."""
    previous = store.training_record(conn, site_id, item_key)
    return previous is None or bool(previous.is_spam) != is_spam


def teach_in(
    ctx: Any,
    conn: Connection,
    site: Site,
    item_key: str,
    sub: Submission,
    is_spam: bool,
    *,
    score: float | None = None,
) -> bool:
    """Train on a decision inside the caller's transaction. Idempotent per ``item_key``: the same label
    again changes nothing, the other label first undoes the earlier lesson exactly. True if it changed.

    ``score`` is the spam probability the item had been given before the (first) decision, kept with it
    for the site's learned spam threshold (``threshold.learn``)."""
    previous = store.training_record(conn, site.id, item_key)
    if previous is not None and bool(previous.is_spam) == is_spam:
        return False
    if previous is not None and previous.score is not None:
        # A changed mind keeps the score from before the first decision: judged again now, the item would
        # be scored by a model that has learned it.
        score = previous.score
    features = features_of(sub)
    earlier = {int(k): float(v) for k, v in previous.delta.items()} if previous is not None else {}
    # A step reads only the weights and counts of the comment's own features and the site's totals, so
    # only those are loaded, into a private model: the shared one changes when its new version is
    # loaded after commit.
    model = Model.shipped().with_site(store.site_weights(conn, site.id, lesson_ids(features) | set(earlier)))
    combined: dict[int, float] = {}
    if previous is not None:
        model.unlearn(earlier)
        combined = {k: -v for k, v in earlier.items()}
        store.add_domain_marks(conn, site.id, previous.domains, "spam" if previous.is_spam else "ham", -1)
    delta = model.learn(features, is_spam)
    for feature, amount in delta.items():
        combined[feature] = combined.get(feature, 0.0) + amount
    store.add_weights(conn, site.id, combined, examples=0 if previous is not None else 1)
    domains = links.domains_in(sub.text, sub.author.website, sub.author.email)
    store.add_domain_marks(conn, site.id, domains, "spam" if is_spam else "ham", 1)
    store.put_training_record(
        conn,
        site.id,
        item_key,
        is_spam=is_spam,
        delta=delta,
        domains=domains,
        now=datetime.now(UTC),
        score=score,
    )
    return True
