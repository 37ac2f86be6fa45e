"""The abuse signal: how likely a comment's text is insulting, threatening or hateful, scored offline by a
linear model shipped with Rejoinder (``data/abuse.bin.gz``, trained by ``rejoinder abuse train`` on the
Davidson corpus; see docs/spam.md, "Abuse").

The model learned what its corpus was collected for, slurs and profanity; threats and insults in
ordinary words ("I will find you and kill you", "you are an idiot") are recognised by the phrases below.

It is not spam evidence: rude is not spam. It never moves the spam score; per site it holds the comment
for a moderator (the default), only notes the reason beside the verdict, or is off. It scores the same
hashed features as the spam classifier, so it costs one more sum over features already extracted.

The one read here is ``AbuseModel.shipped()``, which loads the shipped model once per process.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rejoinder.spam.features import Features
from rejoinder.spam.model import Model
from rejoinder.spam.verdict import Action, Verdict

ABUSE_FILE = "abuse.bin.gz"
ACTIONS = ("hold", "note", "off")
DEFAULT_THRESHOLD = 0.9  # the site setting abuse_threshold's default (docs/spam.md, "Abuse")
REASON = "insulting language"
# Below this share of the log-odds, a token is not named in the reason.
_NAMED_FROM = 0.5  # log-odds: only words that weigh, never the function words around them
# What a comment holding one of the phrases scores (a site whose abuse_threshold is above it ignores them).
PHRASE_SCORE = 0.95

# The text is matched with its curly apostrophes made straight.
_I_WILL = r"(?:i'?ll|i\s+will|i'?m\s+(?:going\s+to|gonna)|i\s+am\s+(?:going\s+to|gonna)|i\s+gonna|we'?ll)"
_YOU_ARE = r"(?:you'?re|you\s+are|u\s+r|ur|you\s+r)"
_INSULT = (
    r"(?:idiot|moron|imbecile|retard|cretin|dumbass|dumb\s*ass|loser|scum(?:bag)?|clown|pathetic|worthless|"
    r"stupid|brainless|piece\s+of\s+(?:shit|garbage|crap|trash))"
)
_GROUPS = (
    r"(?:women|men|girls|blacks|whites|jews|muslims|christians|gays|immigrants|refugees|mexicans|arabs|"
    r"asians|africans|indians|foreigners)"
)
# Each names a threat, an insult aimed at a person, or dehumanising talk of a group, in words the
# Davidson-trained model does not weigh. A pattern, unlike a word list, needs the person: "you are an
# idiot", not "idiot-proof"; "I will kill you", not "kill the process".
_PHRASES = re.compile(
    rf"\b{_I_WILL}\s+(?:\w+\s+){{0,3}}?(?:kill|murder|hurt|stab|rape|strangle|hunt)\s+(?:you|u|ya)\b"
    rf"|\b{_I_WILL}\s+find\s+(?:you|u)\s+and\b"
    r"|\b(?:kill|hang|shoot)\s+(?:your\s*self|urself)\b|\bkys\b"
    r"|\b(?:die|burn|rot)\s+in\s+(?:a\s+)?(?:fire|hell|ditch)\b"
    r"|\bi\s+hope\s+(?:you|u)\s+(?:\w+\s+)?(?:die|dies|get\s+(?:cancer|raped|killed|shot))\b"
    r"|\b(?:you|u)\s+(?:should|deserve\s+to|need\s+to|ought\s+to)\s+(?:just\s+)?"
    r"(?:die|be\s+(?:killed|shot|hanged|hung|raped))\b"
    r"|\bi\s+know\s+where\s+(?:you|u)\s+live\b"
    rf"|\b{_YOU_ARE}\s+(?:(?:such|just|a|an|the|so|really|fucking|utterly|complete|total|absolute|"
    rf"worthless|stupid|pathetic|little)\s+){{0,3}}{_INSULT}s?\b"
    rf"|\b(?:the\s+)?(?:author|writer|op|poster|blogger)\s+is\s+(?:a|an|such\s+an?)\s+(?:\w+\s+)?{_INSULT}\b"
    r"|\b(?:garbage|trash|rubbish|crap|shit|stupid)\s+and\s+so\s+are\s+(?:you|u)\b"
    r"|\b(?:filthy|dirty|disgusting|stupid)\s+(?:animal|pig|rat|vermin|subhuman|ape)s?\b"
    r"|\bgo\s+back\s+to\s+(?:your|ur)\s+(?:own\s+)?(?:country|cave|jungle)\b"
    rf"|\b{_GROUPS}\s+(?:are|r)\s+(?:all\s+)?(?:stupid|animals|subhuman|vermin|trash|garbage|inferior|"
    r"parasites|filth|scum|cockroaches)\b"
    r"|\b(?:women|girls)\s+belong\s+in\s+the\s+kitchen\b",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^<>]{0,2000}>")


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

    def judge(self, f: Features, threshold: float, text: str = "") -> Finding | None:
        """A finding when the comment's abuse probability reaches ``threshold``, or when its ``text`` holds
        a threatening or insulting phrase (scored ``PHRASE_SCORE``) and that reaches it; else None."""
        score = self.model.probability(f)
        if score < threshold:
            said = phrase(text) if threshold <= PHRASE_SCORE else ""
            return Finding(PHRASE_SCORE, (said,)) if said else None
        ranked = sorted(self.model.contributions(f).items(), key=lambda item: (-item[1], item[0]))
        words: list[str] = []
        for label, share in ranked:
            if share <= _NAMED_FROM or len(words) >= 2:
                break
            if not any(label in other or other in label for other in words):
                words.append(label)
        return Finding(score, tuple(words))


def phrase(text: str) -> str:
    """The first threatening or insulting phrase in a comment's text (as a reader sees it), or ""."""
    if not text:
        return ""
    seen = " ".join(html.unescape(_TAG.sub(" ", text[:4000])).replace("’", "'").split())
    found = _PHRASES.search(seen)
    return found.group(0).lower()[:60] if found else ""


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


# The model shipped in the package, read at its first use: a constant, not state.
@cache
def _shipped() -> AbuseModel:
    data = resources.files("rejoinder.spam").joinpath("data", ABUSE_FILE).read_bytes()
    return AbuseModel.from_bytes(data)
