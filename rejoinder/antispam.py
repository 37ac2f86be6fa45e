"""The spam filter at work: gathers, in one place, what the store knows about a comment, hands it to the
pure engine (``rejoinder.spam``) for a verdict, keeps the verdict, and teaches the site's model from
moderators' decisions.

Per-process state (keys, rate-limit windows, memos of the store) lives on the Context
(``rejoinder.filterstate``); what every process must agree on (used tokens, learned weights, domain
marks) lives in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import ChallengeRequired, RateLimited
from rejoinder.model import Site, SiteSettings
from rejoinder.sites import site_settings
from rejoinder.spam import duplicates, formtoken, links, pow
from rejoinder.spam import reading as readings
from rejoinder.spam.abuse import AbuseModel
from rejoinder.spam.features import Features
from rejoinder.spam.judge import ChallengeNeeded, FormCheck, Inputs, judge
from rejoinder.spam.model import Model, lesson_ids
from rejoinder.spam.reading import Reading, ReadingKey, reference_language
from rejoinder.spam.submission import FormProof, Submission
from rejoinder.spam.verdict import Action, Verdict
from rejoinder.store import spam as store
from rejoinder.store.comments import StoredVerdict

__all__ = [
    "FormProof",
    "Judged",
    "Submission",
    "check_rate",
    "check_submission",
    "features_of",
    "gather",
    "judge_comment",
    "read",
    "reading_for",
    "reading_key",
    "teach",
    "teach_in",
]

TOKEN_MEMORY = timedelta(seconds=formtoken.MAX_AGE_SECONDS)


@dataclass(frozen=True)
class Judged:
    """A verdict with what is kept next to it: the text's fingerprint and, for discards, the purge date."""

    verdict: Verdict
    stored: StoredVerdict


def features_of(sub: Submission) -> Features:
    return readings.features_of(sub)


def read(rules: SiteSettings, sub: Submission) -> Reading:
    """``sub`` as the filter reads it without the store, against the site's language: outside the write
    transaction, since it is the costly part of a verdict."""
    return readings.read(sub, reference_language(rules.language))


def reading_key(rules: SiteSettings, sub: Submission) -> ReadingKey:
    return readings.key_of(sub, reference_language(rules.language))


def reading_for(rules: SiteSettings, sub: Submission, ahead: Reading | None) -> Reading:
    """``ahead``, read before the transaction, if it reads ``sub`` against the site's language as the
    transaction finds them; otherwise ``sub`` read now. What was read ahead goes stale when the site's
    settings change in between (its filter turned on, its language changed) or, for an edit, the
    comment's author or thread title: rare, and judged right all the same."""
    if ahead is not None and ahead.key == reading_key(rules, sub):
        return ahead
    return read(rules, sub)


def check_rate(ctx: Context, site: Site, rules: SiteSettings, sub: Submission, thread_url: str) -> None:
    """Refuse a comment past one of the site's rate limits (per client address, author and thread)."""
    identity = sub.author.email.casefold() or sub.author.name.casefold()
    exceeded = ctx.spam.rate_limits.hit(
        site.id,
        [
            ("ip", rules.rate_limit_ip, sub.remote_addr),
            ("identity", rules.rate_limit_identity, identity),
            ("thread", rules.rate_limit_thread, thread_url),
        ],
    )
    if sub.remote_addr:
        ctx.spam.rate_limits.count_recent(site.id, sub.remote_addr)
    if exceeded is not None:
        field = {"ip": "client", "identity": "author", "thread": "url"}[exceeded.scope]
        who = {"ip": "this address", "identity": "this author", "thread": "this thread"}[exceeded.scope]
        fields = {field: f"allows {exceeded.limit}"}
        if exceeded.scope == "ip":
            # The address asking again before its Retry-After is refused at the door (``RefusedAgain``),
            # before its comment is parsed and checked.
            what = f"too many comments from {who}"
            ctx.refusals.remember(sub.remote_addr, "comment", exceeded.retry_after, what, fields, site.key)
        raise RateLimited(
            f"too many comments from {who}; try again in {exceeded.retry_after} s",
            fields,
            retry_after=exceeded.retry_after,
        )


def gather(
    ctx: Context,
    conn: Connection,
    site: Site,
    rules: SiteSettings,
    sub: Submission,
    reading: Reading,
    *,
    proof: FormProof | None,
    now: datetime,
    comment_id: int = 0,
) -> Inputs:
    """Everything a verdict on ``sub`` reads from the store, read once, through the per-process memos.

    Uses the form's single-use tokens in the same transaction (so a used token is marked in the same
    commit as the comment it let through). ``comment_id`` is the comment itself when it is judged again
    after an edit: it must not vouch for itself, nor count as its own duplicate. ``reading``: ``sub`` as
    read (``read``), whose domains the site's marks are read for, and whose fingerprint its
    near-duplicates."""
    memos = ctx.spam_memos
    version = store.model_version(conn, site.id)
    model = memos.site_model(conn, site.id, version)
    form = None
    if proof is not None:
        check = ctx.spam.tokens.check(proof.form_token, site.key, rules.min_submit_seconds, now.timestamp())
        replayed = check.digest is not None and not store.use_token(conn, check.digest, now + TOKEN_MEMORY)
        work = pow.verify_level(proof.altcha, ctx.spam.pow_key) if rules.pow != "off" else None
        solved = work is not None and store.use_token(conn, work[0], now + pow.LIFETIME)
        form = FormCheck(proof.honeypot, check, replayed, work[1] if solved and work is not None else None)
    stood_before = now - timedelta(days=rules.spam_standing_days)
    email = sub.author.email
    approved, spammed = store.author_history(
        conn, site.id, email, stood_before, excluded=comment_id, identity_id=sub.identity_id
    )
    marks = memos.domain_marks(conn, site.id, version, links.with_parents(reading.domains))
    near: list[duplicates.Seen] = []
    fingerprint = reading.fingerprint
    if fingerprint is not None:
        index = memos.duplicate_index(conn, site.id, now)
        near = [m for m in index.near(fingerprint) if m.comment_id != comment_id]
    learned = memos.learned_threshold(conn, site.id, version, rules) if rules.spam_learn_threshold else None
    recent = ctx.spam.rate_limits.recent(site.id, sub.remote_addr) if sub.remote_addr else 0
    scorer = AbuseModel.shipped() if rules.abuse_action != "off" else None
    return Inputs(model, approved, spammed, marks, near, learned, form, recent, abuse=scorer)


def judge_comment(
    ctx: Context,
    conn: Connection,
    site: Site,
    rules: SiteSettings,
    sub: Submission,
    reading: Reading,
    *,
    thread_id: int | None,
    proof: FormProof | None,
    now: datetime,
    comment_id: int = 0,
) -> Judged:
    """The verdict on a comment, inside the write transaction: its inputs gathered, then judged.
    ``reading``: ``sub`` as read (``read``, ``reading_for``) outside the transaction."""
    inputs = gather(ctx, conn, site, rules, sub, reading, proof=proof, now=now, comment_id=comment_id)
    try:
        verdict = judge(inputs, sub, rules, reading=reading, thread_id=thread_id)
    except ChallengeNeeded as needed:
        # The challenge comes with the refusal: its retry, with the same form token (left unused, as the
        # refused attempt's writes are undone), needs no second form, nor a second form's younger token.
        level = needed.level
        challenge = pow.challenge(ctx.spam.pow_key, now, level=level)
        raise ChallengeRequired(
            needed.message, {"altcha": needed.rule}, difficulty=level, challenge=challenge
        ) from None
    purge = now + timedelta(days=rules.spam_retention_days) if verdict.action is Action.DISCARD else None
    reasons = list(verdict.reasons)
    stored = StoredVerdict(verdict.action.value, verdict.score, reasons, reading.fingerprint, purge)
    return Judged(verdict, stored)


def check_submission(ctx: Context, site: Site, sub: Submission) -> Verdict:
    """Judge text sent by another application (no form, so no token, honeypot or proof of work). Nothing
    is stored: without form proof the verdict only reads."""
    rules = site_settings(ctx, site)
    reading = read(rules, sub)  # before the transaction: it holds a connection of the pool meanwhile
    with ctx.db.read() as conn:
        now = datetime.now(UTC)
        judged = judge_comment(ctx, conn, site, rules, sub, reading, thread_id=None, proof=None, now=now)
    return judged.verdict


def teach(
    ctx: Context, site: Site, item_key: str, sub: Submission, is_spam: bool, *, score: float | None = None
) -> bool:
    """Train the site's classifier on one decision; see ``teach_in``."""
    with ctx.db.write() as conn:
        return teach_in(ctx, conn, site, item_key, sub, is_spam, score=score)


def lesson_due(conn: Connection, site_id: int, item_key: str, is_spam: bool) -> bool:
    """True if teaching this decision would change the model (``teach_in`` would return True)."""
    previous = store.training_record(conn, site_id, item_key)
    return previous is None or bool(previous.is_spam) != is_spam or bool(previous.weak)


def teach_in(
    ctx: Context,
    conn: Connection,
    site: Site,
    item_key: str,
    sub: Submission,
    is_spam: bool,
    *,
    score: float | None = None,
    weak: bool = False,
) -> bool:
    """Train on a decision inside the caller's transaction. Idempotent per ``item_key``: the same label
    again changes nothing, the other label first undoes the earlier lesson exactly. True if it changed.

    ``score`` is the spam probability the item had been given before the (first) decision, kept with it
    for the site's learned spam threshold (``threshold.learn``). A ``weak`` lesson (a comment that stood
    unreported, an imported one) counts a fraction of a decision (``Model.learn``); it never replaces a
    lesson already taught, and a moderator's decision on the same item replaces it."""
    previous = store.training_record(conn, site.id, item_key)
    if previous is not None and (weak or (bool(previous.is_spam) == is_spam and not previous.weak)):
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
    delta = model.learn(features, is_spam, weak=weak)
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
        weak=weak,
    )
    return True


def forget_in(ctx: Context, conn: Connection, site: Site, item_key: str) -> bool:
    """Undo the lesson taught for ``item_key`` exactly (an undone decision); True if there was one."""
    previous = store.training_record(conn, site.id, item_key)
    if previous is None:
        return False
    earlier = {int(k): float(v) for k, v in previous.delta.items()}
    store.add_weights(conn, site.id, {k: -v for k, v in earlier.items()}, examples=-1)
    store.add_domain_marks(conn, site.id, previous.domains, "spam" if previous.is_spam else "ham", -1)
    store.drop_training_record(conn, site.id, item_key)
    return True
