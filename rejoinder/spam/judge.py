"""The verdict on one comment: every signal's evidence from what was gathered about it, combined under the
site's thresholds. Pure: everything it needs arrives in ``Inputs``; it reads no store, file or clock."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rejoinder.spam import abuse, blogspam, duplicates, honeypot, links, lists, pow, trust
from rejoinder.spam.abuse import AbuseModel
from rejoinder.spam.duplicates import Seen
from rejoinder.spam.features import Features
from rejoinder.spam.formtoken import TokenCheck, replayed
from rejoinder.spam.model import Model
from rejoinder.spam.reading import Reading, reference_language
from rejoinder.spam.submission import Submission
from rejoinder.spam.threshold import Learned
from rejoinder.spam.verdict import Action, Evidence, Thresholds, Verdict, combine

CLASSIFIER_REASON_AT = 1.0  # log-odds from which the text itself is named as a reason


class Rules(lists.BannedLists, Protocol):
    """What the judge reads of a site's settings (``rejoinder.model.SiteSettings`` has all of it)."""

    @property
    def spam_hold(self) -> float: ...
    @property
    def spam_spam(self) -> float: ...
    @property
    def spam_discard(self) -> float: ...
    @property
    def pow(self) -> str: ...  # "always", "doubtful" or "off"
    @property
    def moderation(self) -> bool: ...
    @property
    def abuse_action(self) -> str: ...  # "hold", "note" or "off"
    @property
    def abuse_threshold(self) -> float: ...
    @property
    def language(self) -> str: ...  # the site's language ("en", "de", "uk")


class ChallengeNeeded(Exception):
    """The site takes this comment only with a solved proof-of-work challenge of at least ``level``.
    ``rule`` says what the ``altcha`` field must hold."""

    def __init__(self, message: str, rule: str, level: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.level = level


@dataclass(frozen=True)
class FormCheck:
    """What a browser form's proof came to: the honeypot's value, the form token's check, whether that
    token had been used before, and the difficulty level of the fresh proof-of-work solution that came
    with it (None: none did)."""

    honeypot: str = ""
    token: TokenCheck = field(default_factory=lambda: TokenCheck([]))
    token_replayed: bool = False
    pow_level: int | None = None


@dataclass(frozen=True)
class Inputs:
    """Everything a verdict reads besides the submission's reading (``reading.Reading``): gathered from the
    store (and the per-process memos) before judging."""

    model: Model  # the shipped prior plus the site's lessons
    approved: int = 0  # the author's published comments on the site
    spammed: int = 0  # the author's comments a moderator marked as spam
    domain_marks: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # (spam, ham) per domain
    near_duplicates: Sequence[Seen] = ()  # other recent comments of the site with nearly the same text
    learned: Learned | None = None  # the site's learned spam threshold, when it learns one
    form: FormCheck | None = None  # None: the text came from no form (API, Akismet, an edit)
    recent: int = 0  # comments from the same client address in the last hour, this one included
    abuse: AbuseModel | None = None  # None: the site does not score abuse


def _check_work(rules: Rules, verdict: Verdict, form: FormCheck, recent: int, spam_at: float) -> None:
    """Proof of work is a cost, never a vote: where the site asks for it (every comment with ``always``,
    a comment it would hold with ``doubtful``), the solution must be of the level the comment's doubt and
    its address's volume call for; it changes nothing in the verdict."""
    asked = rules.pow == "always" or (rules.pow == "doubtful" and verdict.action is Action.HOLD)
    if not asked:
        return
    doubt = pow.doubt(verdict.score, rules.spam_hold, spam_at)
    if form.pow_level is not None and form.pow_level >= pow.required_level(doubt, recent):
        return
    # The refused attempt counts toward its address's volume too, so the retry is judged one comment
    # later: name the level that retry needs, or a client that solves what it is told can be refused
    # again where the count crosses a step (the form's own challenge only anticipates the volume).
    level = pow.required_level(doubt, recent + 1)
    where = f"GET /api/v1/form?difficulty={level}"
    if form.pow_level is None and rules.pow == "always":
        raise ChallengeNeeded(
            "this site asks every comment to solve a proof-of-work challenge",
            f"must be a solved, unused challenge from {where}",
            level,
        )
    if form.pow_level is None:
        raise ChallengeNeeded(
            "solve the proof-of-work challenge and send the comment again",
            f"is required for this comment: solve the challenge from {where}",
            level,
        )
    raise ChallengeNeeded(
        f"this comment needs a harder proof-of-work challenge (difficulty {level}); solve it and send again",
        f"must be a solved challenge of difficulty {level} or more, from {where}",
        level,
    )


def _discounted(
    model: Model,
    features: Features,
    base: float,
    blog: list[Evidence],
    evidence: list[Evidence],
    spam_at: float,
    *,
    foreign: bool = False,
    also: Sequence[Evidence] = (),
) -> float:
    """The base with the shipped prior's ham vote discounted beside blog-spam evidence
    (``blogspam.discounted``). The prior never saw blog spam, the site's own lessons did: what they add
    counts in full, so every lesson moves the score as much as before. On a fresh site the discount may
    bring a comment to a moderator but never on its own to the spam folder (it stops under the spam
    threshold); a taught site's threshold is learned from the discounted scores themselves.

    Beside blog-spam evidence (with ``also``: the relevance signals') of ``blogspam.BOUNDED_FROM`` or more,
    the prior's words argue innocence no further than its base rate: their ham vote comes from songs, text
    messages and friendly tweets, whose words a business profile or a fake support line shares, so "−4,
    surely a reader" says no more there than "a comment like any other". Without such a sign the prior is
    heard in full."""
    weight = sum(e.weight for e in (*blog, *also))
    if weight < blogspam.BOUNDED_FROM and not foreign:
        return base  # the common case: no second pass over the features
    prior = model.prior_log_odds(features)
    vote = prior
    if foreign and prior < 0.0:
        # The prior learned English (and a little of a few languages): in another language most words are
        # unknown to it, and what it does not know is no evidence of innocence. Its words' ham vote counts
        # by the share of the text it has weights for; its base rate (the bias) stays whole.
        bias = model.prior_bias()
        words = prior - bias
        if words < 0.0:
            vote = bias + words * model.prior_coverage(features)
    if weight >= blogspam.BOUNDED_FROM:
        vote = max(vote, min(model.prior_bias(), 0.0))
    lowered = base - prior + blogspam.discounted(vote, blog)
    if lowered <= base or model.taught:
        return lowered
    spam_at = min(spam_at, 1.0 - 1e-9)
    ceiling = math.log(spam_at / (1.0 - spam_at)) - sum(e.weight for e in evidence) - 1e-6
    return max(base, min(lowered, ceiling))


def judge(
    inputs: Inputs, sub: Submission, rules: Rules, *, reading: Reading, thread_id: int | None
) -> Verdict:
    """Every signal's evidence, combined into a verdict; the site's own rules (moderation, proof of
    work) have the last word. Raises ``ChallengeNeeded`` when the site wants proof of work first.
    ``reading``: ``sub`` as read (``reading.read``) against the site's language; one read against another
    is the caller's mistake (ValueError): a reading made ahead is checked, and read again if the site's
    language changed since, where it is made."""
    site_language = reference_language(rules.language)
    if reading.site_language != site_language:
        raise ValueError(f"a reading against {reading.site_language!r}, not the site's {site_language!r}")
    features = reading.features
    model = inputs.model
    base = model.log_odds(features)
    evidence: list[Evidence] = []
    if base >= CLASSIFIER_REASON_AT:
        words = ", ".join(f"'{w}'" for w in model.explain(features))
        reason = f"text reads like spam ({words})" if words else "text reads like spam"
        evidence.append(Evidence("classifier", 0.0, reason))
    elif base >= 0.0:
        evidence.append(Evidence("classifier", 0.0, "text does not read clearly like ordinary conversation"))
    form = inputs.form
    if form is not None:
        evidence += honeypot.judge(form.honeypot)
        evidence += form.token.evidence
        if form.token_replayed:
            evidence.append(replayed())
    evidence += reading.links
    evidence += links.judge_marks(reading.linked_domains, inputs.domain_marks)
    blog = reading.blog
    evidence += blog
    relevant = reading.relevant
    evidence += relevant
    evidence += trust.judge(inputs.approved, inputs.spammed)
    evidence += lists.judge(rules, sub, reading.domains)
    if reading.fingerprint is not None:
        evidence += duplicates.judge(list(inputs.near_duplicates), thread_id)
    learned = inputs.learned
    spam_at = learned.threshold if learned is not None else rules.spam_spam
    # The classifier's reason carries no weight of its own: its log-odds are the base.
    thresholds = Thresholds(rules.spam_hold, spam_at, rules.spam_discard)
    # Another language alone is a reader's right on a site that takes several; beside a link or a sale
    # it is how spam is posted wherever it can be.
    foreign = reading.foreign
    lowered = _discounted(model, features, base, blog, evidence, spam_at, foreign=foreign, also=relevant)
    verdict = combine(lowered, evidence, thresholds)
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
    if form is not None:
        _check_work(rules, verdict, form, inputs.recent, spam_at)
    if inputs.abuse is not None and rules.abuse_action != "off":
        # After the proof-of-work question: rudeness is for a moderator to judge, not a sign of a bot.
        finding = inputs.abuse.judge(features, rules.abuse_threshold, sub.text)
        verdict = abuse.apply(verdict, finding, rules.abuse_action)
    if verdict.action is Action.PUBLISH and rules.moderation:
        verdict = Verdict(Action.HOLD, verdict.score, ("this site holds every comment for moderation",))
    return verdict
