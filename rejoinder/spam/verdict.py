"""What the filter concludes about a comment: an action, a score and the reasons, in plain words."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    PUBLISH = "publish"
    HOLD = "hold"  # for a moderator to decide
    SPAM = "spam"  # straight to the spam folder
    DISCARD = "discard"  # blatant: spam folder, purged after the retention period


@dataclass(frozen=True, slots=True)
class Evidence:
    """One signal's finding: ``weight`` is spam log-odds (positive = more spam-like), ``reason`` says why."""

    signal: str
    weight: float
    reason: str


@dataclass(frozen=True)
class Thresholds:
    """Spam probabilities at which a comment is held, sent to spam, or discarded."""

    hold: float = 0.5
    spam: float = 0.9
    discard: float = 0.995

    def action_for(self, score: float) -> Action:
        if score >= self.discard:
            return Action.DISCARD
        if score >= self.spam:
            return Action.SPAM
        if score >= self.hold:
            return Action.HOLD
        return Action.PUBLISH


@dataclass(frozen=True)
class Verdict:
    action: Action
    score: float  # spam probability, 0..1
    reasons: tuple[str, ...]

    @property
    def is_spam(self) -> bool:
        return self.action in (Action.SPAM, Action.DISCARD)


def combine(base_log_odds: float, evidence: Iterable[Evidence], thresholds: Thresholds) -> Verdict:
    """Add the evidence's log-odds to the base and map the sum through the site's thresholds.

    The sum is monotone: more spam evidence never lowers the score. Reasons list the signals that moved
    the score most, strongest first.
    """
    found = list(evidence)
    total = base_log_odds + sum(e.weight for e in found)
    score = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, total))))
    # Strongest first; weightless evidence (the classifier's own reason: its log-odds are the base) is
    # ranked by the base it explains.
    ordered = sorted(found, key=lambda e: -abs(e.weight or base_log_odds))
    return Verdict(thresholds.action_for(score), score, tuple(e.reason for e in ordered if e.reason))
