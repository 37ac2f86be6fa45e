"""The abuse signal: how likely a comment's text is insulting, threatening or hateful, scored offline by a
linear model shipped with Rejoinder (``data/abuse.bin.gz``, trained by ``rejoinder abuse train`` on the
Davidson corpus; see docs/spam.md, "Abuse").

It is not spam evidence: rude is not spam. It never moves the spam score; per site it holds the comment
for a moderator (the default), only notes the reason beside the verdict, or is off. It scores the same
hashed features as the spam classifier, so it costs one more sum over features already extracted.

The one read here is ``AbuseModel.shipped()``, which loads the shipped model once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from rejoinder.spam.features import Features
from rejoinder.spam.model import Model
from rejoinder.spam.verdict import Action, Verdict

ABUSE_FILE = "abuse.bin.gz"
ACTIONS = ("hold", "note", "off")
REASON = "insulting language"
# Below this share of the log-odds, a token is not named in the reason.
_NAMED_FROM = 0.5  # log-odds: only words that weigh, never the function words around them


@dataclass(frozen=True)
class Finding:
    """The abuse score of one comment (probability, 0–1) and the words that weighed most."""

    score: float
    words: tuple[str, ...]

    @property
    def reason(self) -> str:
        words = ", ".join(f"'{w}'" for w in self.words)
        return f"{REASON} ({words})" if words else REASON


class AbuseModel:
    """Calibrated abuse log-odds over the spam classifier's hashed features (a ``Model`` of its own)."""

    def __init__(self, model: Model) -> None:
        self.model = model

    @classmethod
    def shipped(cls) -> AbuseModel:
        """The model that ships with Rejoinder (loaded once per process)."""
        return _shipped()

    @classmethod
    def from_bytes(cls, data: bytes) -> AbuseModel:
        return cls(Model.from_bytes(data))

    def to_bytes(self) -> bytes:
        return self.model.to_bytes()

    def probability(self, f: Features) -> float:
        return self.model.probability(f)

    def judge(self, f: Features, threshold: float) -> Finding | None:
        """A finding when the comment's abuse probability reaches ``threshold``, else None."""
        score = self.model.probability(f)
        if score < threshold:
            return None
        ranked = sorted(self.model.contributions(f).items(), key=lambda item: (-item[1], item[0]))
        words: list[str] = []
        for label, share in ranked:
            if share <= _NAMED_FROM or len(words) >= 2:
                break
            if not any(label in other or other in label for other in words):
                words.append(label)
        return Finding(score, tuple(words))


def apply(verdict: Verdict, finding: Finding | None, action: str) -> Verdict:
    """The verdict with the site's abuse action taken: ``hold`` holds a comment that would be published,
    ``note`` (and any verdict already held or in spam) only adds the reason. Never spam, never a lower
    spam score: abuse is for a moderator to judge."""
    if finding is None or action == "off":
        return verdict
    reasons = (*verdict.reasons, finding.reason)
    if action == "hold" and verdict.action is Action.PUBLISH:
        return Verdict(Action.HOLD, verdict.score, reasons)
    return Verdict(verdict.action, verdict.score, reasons)


@cache
def _shipped() -> AbuseModel:
    data = resources.files("rejoinder.spam").joinpath("data", ABUSE_FILE).read_bytes()
    return AbuseModel.from_bytes(data)
