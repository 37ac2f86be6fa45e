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
the comments that went through unnoticed. So the share of decided ham above a threshold overstates the
share of all ham above it, and the bound errs on the safe side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_DECISIONS = 50  # of each kind, before a site's own threshold replaces its owner's setting
MAX_FPR = 0.015  # default share of decided ham the learned threshold may send to spam
RECENT_DECISIONS = 5000  # the threshold follows the site's latest decisions, not its whole history


@dataclass(frozen=True)
class Learned:
    """A threshold learned from ``decisions`` decided comments (``spam`` of them spam)."""

    threshold: float
    decisions: int
    spam: int


def best_threshold(
    scores: Sequence[float], labels: Sequence[bool], max_fpr: float = 0.02
) -> tuple[float, float, float]:
    """``(f1, fpr, threshold)`` of the score threshold (flag at score ≥ threshold) with the best F1 among
    those whose false-positive rate is at most ``max_fpr``; ``(0, 0, 1)`` when none flags anything."""
    positives = sum(labels)
    negatives = len(labels) - positives
    best = (0.0, 0.0, 1.0)
    tp = fp = 0
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: -pair[0])
    for i, (score, spam) in enumerate(ranked):
        tp += spam
        fp += not spam
        if i + 1 < len(ranked) and ranked[i + 1][0] == score:
            continue  # a threshold cannot split equal scores
        fpr = fp / negatives if negatives else 0.0
        if fpr > max_fpr:
            break
        f1 = 2 * tp / (tp + fp + positives) if positives else 0.0
        if f1 > best[0]:
            best = (f1, fpr, score)
    return best


def learn(
    decisions: Sequence[tuple[float, bool]],
    *,
    floor: float,
    ceiling: float,
    max_fpr: float = MAX_FPR,
    min_decisions: int = MIN_DECISIONS,
) -> Learned | None:
    """The spam threshold that ``(score, is_spam)`` decisions call for, between ``floor`` and ``ceiling``;
    None while either kind has fewer than ``min_decisions``.

    The cut is placed halfway between the lowest score it flags and the next score below, so that a
    comment scored like the last flagged spam is flagged too, but one scored like the first spared ham is
    not. When no cut flags spam without exceeding ``max_fpr`` (the highest scores are ham), the threshold
    sits halfway between the highest ham score and 1.
    """
    spam = sum(1 for _, is_spam in decisions if is_spam)
    if spam < min_decisions or len(decisions) - spam < min_decisions:
        return None
    scores = [score for score, _ in decisions]
    f1, _, cut = best_threshold(scores, [is_spam for _, is_spam in decisions], max_fpr)
    if f1 > 0:
        below = max((s for s in scores if s < cut), default=floor)
        threshold = (cut + below) / 2
    else:
        highest_ham = max(score for score, is_spam in decisions if not is_spam)
        threshold = (highest_ham + 1.0) / 2
    return Learned(min(ceiling, max(floor, threshold)), len(decisions), spam)
