"""The spam threshold a site learns from its moderators' decisions.

A fresh site sends a comment to spam at the probability its owner set (``spam_spam``, 0.9 by default):
the shipped prior judges comments unlike those it was trained on, so only a confident score may hide a
reader's comment. Once moderators have decided enough comments of each kind, the scores those comments
had been given before anyone decided (scores the model had not learned from) show where this site's ham
ends and its spam begins. The threshold becomes the one that would have sorted those decisions best (by
F1) while sending at most ``max_fpr`` of the approved comments to spam. It may land below the owner's
setting (a site whose spam scores 0.6 to 0.9 gets it out of the moderation queue) or above it (a site
whose readers' comments score high keeps them in the queue instead of the spam folder), but never below
the hold threshold or above the discard threshold.

Moderators decide a biased sample: the held comments and the ones readers reported, more borderline than
the comments that went through unnoticed. A site whose moderators only clear their queue decides a few
dozen comments, nearly all spam, and would never reach enough approved ones. So the comments that stood
published for days without a report or a moderator's action (*weak ham*) count on the ham side too:
toward the minimum, and in the false-positive bound at ``WEAK_SHARE`` of a decided comment each, since
they were never looked at and a few may be spam nobody reported. The bound still errs on the safe side.

Weak ham cannot vouch for a threshold *below* the owner's, though: every one of them was published, so
scored under the hold threshold, and none says how much ham lies in the band a lower threshold would send
to spam. Only comments a moderator approved from the queue or the spam folder can. A site whose moderators
only ever mark spam would otherwise see its bound met by construction and its threshold fall to the hold
threshold, sending everything it doubts to spam; so until ``MIN_APPROVED`` comments have been approved,
the learned threshold may rise above the owner's but not fall below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_DECISIONS = 50  # ham decisions (weak ham included) before a site's own threshold replaces its owner's
MIN_SPAM_DECISIONS = 20  # spam decisions, likewise: spam is what moderators decide most, but slowly
MIN_APPROVED = 20  # ham decided by a moderator (not weak) before the threshold may fall below the owner's
WEAK_SHARE = 0.2  # what one weak ham weighs in the false-positive bound, against a decided comment
MAX_FPR = 0.015  # default share of decided ham the learned threshold may send to spam
RECENT_DECISIONS = 5000  # the threshold follows the site's latest decisions, not its whole history


@dataclass(frozen=True)
class Learned:
    """A threshold learned from ``decisions`` decided comments (``spam`` of them spam)."""

    threshold: float
    decisions: int
    spam: int


Decision = tuple[float, bool, bool]  # the score it had been given, spam?, weak ham?


def best_threshold(
    scores: Sequence[float],
    labels: Sequence[bool],
    max_fpr: float = 0.02,
    ham_weights: Sequence[float] | None = None,
) -> tuple[float, float, float]:
    """``(f1, fpr, threshold)`` of the score threshold (flag at score ≥ threshold) with the best F1 among
    those whose false-positive rate is at most ``max_fpr``; ``(0, 0, 1)`` when none flags anything.
    ``ham_weights`` weighs each ham in the false-positive rate (1 each by default)."""
    positives = sum(labels)
    weights = ham_weights if ham_weights is not None else [1.0] * len(labels)
    negatives = sum(w for w, spam in zip(weights, labels, strict=True) if not spam)
    best = (0.0, 0.0, 1.0)
    tp = 0
    fp = fp_weight = 0.0
    ranked = sorted(zip(scores, labels, weights, strict=True), key=lambda triple: -triple[0])
    for i, (score, spam, weight) in enumerate(ranked):
        tp += spam
        if not spam:
            fp += 1
            fp_weight += weight
        if i + 1 < len(ranked) and ranked[i + 1][0] == score:
            continue  # a threshold cannot split equal scores
        fpr = fp_weight / negatives if negatives else 0.0
        if fpr > max_fpr:
            break
        f1 = 2 * tp / (tp + fp + positives) if positives else 0.0
        if f1 > best[0]:
            best = (f1, fpr, score)
    return best


def learn(
    decisions: Sequence[tuple[float, bool] | Decision],
    *,
    floor: float,
    ceiling: float,
    max_fpr: float = MAX_FPR,
    min_decisions: int = MIN_DECISIONS,
    min_spam: int = MIN_SPAM_DECISIONS,
    owner: float | None = None,
) -> Learned | None:
    """The spam threshold that ``(score, is_spam[, weak])`` decisions call for, between ``floor`` and
    ``ceiling``; None while there are fewer than ``min_spam`` spam or ``min_decisions`` ham decisions.

    The cut is placed halfway between the lowest score it flags and the next score below, so that a
    comment scored like the last flagged spam is flagged too, but one scored like the first spared ham is
    not. When no cut flags spam without exceeding ``max_fpr`` (the highest scores are ham), the threshold
    sits halfway between the highest ham score and 1. With ``owner`` (the site's own spam threshold) and
    fewer than ``MIN_APPROVED`` ham decided by a moderator, the threshold stays at or above ``owner``.
    """
    spam = sum(1 for d in decisions if d[1])
    if spam < min_spam or len(decisions) - spam < min_decisions:
        return None
    scores = [d[0] for d in decisions]
    weights = [WEAK_SHARE if len(d) > 2 and d[2] else 1.0 for d in decisions]
    f1, _, cut = best_threshold(scores, [d[1] for d in decisions], max_fpr, weights)
    if f1 > 0:
        below = max((s for s in scores if s < cut), default=floor)
        threshold = (cut + below) / 2
    else:
        highest_ham = max(d[0] for d in decisions if not d[1])
        threshold = (highest_ham + 1.0) / 2
    approved = sum(1 for d in decisions if not d[1] and not (len(d) > 2 and d[2]))
    if owner is not None and approved < MIN_APPROVED:
        floor = max(floor, owner)
    return Learned(min(ceiling, max(floor, threshold)), len(decisions), spam)
