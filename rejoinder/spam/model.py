"""The text classifier's model: a linear spam log-odds model over hashed features, its explanations, and
online learning from moderators' decisions. Also the prior file format.

Scoring is pure Python (dict and array lookups, no numpy) so that one comment costs well under a
millisecond. The weights are the shipped prior (trained on public corpora, ``data/prior.bin.gz``) plus a
site's own deltas, learned online from its moderators' decisions. Batch training lives in ``training``.

The one read this engine makes is ``Model.shipped()``: it loads the prior that ships as package data
(``importlib.resources``, once per process). Every other model comes from bytes its caller read.
"""

from __future__ import annotations

import gzip
import json
import math
import struct
from array import array
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from rejoinder.spam.features import BIAS, DIMENSIONS, FEATURES_VERSION, Features, feature_id
from rejoinder.spam.function_words import is_function_label

# Online learning keeps counts of a site's decisions beside its weights, in the same flat delta dict
# (ids at and above DIMENSIONS never reach a score): per feature, then in total.
SPAM_DECISIONS = 3 * DIMENSIONS
HAM_DECISIONS = 3 * DIMENSIONS + 1
NB_SMOOTHING = 0.5  # additive smoothing of the naive-Bayes feature scaling (batch and online)
NB_FLOOR = 0.1  # the smallest scale of a feature, for one as common in spam as in ham
# Online, a feature's frequency in a class of the site's decisions is smoothed toward this, not toward ½:
# with five spam and no ham decided yet, a word in two of the spam should lean spam, not look commoner in
# the ham nobody has seen.
NB_PRIOR_FREQUENCY = 0.1
# A feature's site weight stays at the prior until it has been seen in this many decisions: one comment's
# one-off words must not be read as a site's pattern.
MIN_FEATURE_COUNT = 2.0
# The naive-Bayes part reaches half its strength when the rarer class has this many decisions.
NB_EVIDENCE = 10.0
WEAK_LESSON = 0.2  # what a comment that stood unreported counts for, against a moderator's decision
_MEMO_LIMIT = 1 << 18  # site weights memoised per model before the memo starts over
PRIOR_FILE = "prior.bin.gz"
_MAGIC = b"REJOINDER-SPAM-PRIOR 1\n"


class Model:
    """A linear spam log-odds model over hashed features: a shared prior plus one site's learned deltas.

    The prior is a dense float32 array shared by every ``with_site`` copy; the deltas are a small dict
    that moderator decisions change through ``learn`` (and ``unlearn``, which undoes one). A feature's
    weight is its prior weight, plus its learned delta, plus ``NB_WEIGHT`` times its naive-Bayes
    log-count ratio among the site's decisions (counted in the same dict): the counts are exact whatever
    the order the decisions came in, which one-pass gradient steps alone are not.
    """

    __slots__ = ("_prior", "_deltas", "_site_weights", "_evidence_memo", "learning_rate", "meta")

    # A decision's gradient step moves the comment's own log-odds by learning_rate·w·(y − p), w the class
    # balance (1 when a site's decisions are half spam): a confident mistake moves by about 1.5, and the
    # decision's counts move the naive-Bayes part on top of that.
    LEARNING_RATE = 1.5
    # The site's base rate moves by this much per unit of error: slowly, because moderators decide a
    # biased sample (held and reported comments), not the site's comments at large, and a wave of one
    # campaign must not tip every later comment.
    BIAS_STEP = 0.02
    # Naive Bayes double-counts correlated features (a word and its character n-grams), so its ratios
    # enter at a fifth of their size (NBSVM's interpolation, Wang & Manning 2012). Chosen by streamed
    # cross-validation on the three spam corpora (docs/spam.md, "Online learning").
    NB_WEIGHT = 0.2

    def __init__(
        self,
        prior: array | None = None,
        deltas: Mapping[int, float] | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._prior = prior
        # A dict is adopted, not copied (a site's deltas can be large): learn/unlearn update it in place.
        self._deltas: dict[int, float] = deltas if isinstance(deltas, dict) else dict(deltas or {})
        # Memo of each scored feature's site weight (delta + naive-Bayes part), so that a site model
        # loaded once and shared costs one lookup per feature; learning clears it.
        self._site_weights: dict[int, float] = {}
        self._evidence_memo: float | None = None
        self.learning_rate = self.LEARNING_RATE
        self.meta: dict[str, Any] = dict(meta or {})

    # -- construction

    @classmethod
    def shipped(cls) -> Model:
        """The prior that ships with Rejoinder (loaded once per process)."""
        return _shipped()

    @classmethod
    def empty(cls) -> Model:
        """No prior: every weight zero, for training from scratch."""
        return cls()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        indices, weights, meta = _decode(data)
        prior = array("f", bytes(4 * DIMENSIONS))
        for i, w in zip(indices, weights, strict=True):
            prior[i] = w
        return cls(prior, meta=meta)

    def with_site(self, deltas: Mapping[int, float]) -> Model:
        """This model's prior with a site's learned deltas: cheap, as neither is copied.

        The prior is shared; a ``dict`` of deltas is adopted, so ``learn``/``unlearn`` on the returned
        model change that dict too (pass a copy to keep the original).
        """
        model = Model(self._prior, deltas, meta=self.meta)
        model.learning_rate = self.learning_rate
        return model

    @property
    def deltas(self) -> dict[int, float]:
        """A copy of the site's learned deltas."""
        return dict(self._deltas)

    @property
    def taught(self) -> bool:
        """Whether the site's moderators have taught this model anything (a fresh site's model has not)."""
        return bool(self._deltas)

    def weight(self, feature: int) -> float:
        """The weight of a feature id: prior + learned delta + the naive-Bayes part."""
        if not 0 <= feature < DIMENSIONS:
            raise ValueError(f"feature ids are 0 ≤ id < {DIMENSIONS}")
        prior = self._prior[feature] if self._prior is not None else 0.0
        if not self._deltas:
            return prior
        if feature == BIAS:
            return prior + self._deltas.get(BIAS, 0.0)
        return prior + self._site_weight(feature)

    def _site_weight(self, feature: int) -> float:
        """What the site's decisions add to a feature's prior weight: its learned delta plus
        ``NB_WEIGHT`` times its naive-Bayes ratio among those decisions (memoised)."""
        memo = self._site_weights.get(feature)
        if memo is not None:
            return memo
        get = self._deltas.get
        if get(DIMENSIONS + feature, 0.0) + get(2 * DIMENSIONS + feature, 0.0) < MIN_FEATURE_COUNT - 1e-9:
            weight = 0.0  # too rare on this site to move away from the prior yet
        else:
            weight = get(feature, 0.0) + self.NB_WEIGHT * self._evidence() * self._site_ratio(feature)
        if len(self._site_weights) > _MEMO_LIMIT:
            self._site_weights.clear()  # novel n-grams of ever new comments must not grow it forever
        self._site_weights[feature] = weight
        return weight

    def _evidence(self) -> float:
        """How far the naive-Bayes part may pull the site's weights from the prior: from 0, while one
        class has no decisions (a ratio against a class never seen is a guess), toward 1 as the rarer
        class's decisions reach ``NB_EVIDENCE`` and beyond."""
        if self._evidence_memo is None:
            get = self._deltas.get
            fewer = min(get(SPAM_DECISIONS, 0.0), get(HAM_DECISIONS, 0.0))
            self._evidence_memo = fewer / (fewer + NB_EVIDENCE)
        return self._evidence_memo

    def _site_ratio(self, feature: int) -> float:
        """The feature's naive-Bayes log-count ratio among this site's decisions (0 when unseen)."""
        get = self._deltas.get
        in_spam, in_ham = get(DIMENSIONS + feature, 0.0), get(2 * DIMENSIONS + feature, 0.0)
        if not (in_spam or in_ham):
            return 0.0
        return _ratio(in_spam, in_ham, get(SPAM_DECISIONS, 0.0), get(HAM_DECISIONS, 0.0))

    # -- scoring

    def log_odds(self, f: Features) -> float:
        """Calibrated spam log-odds of the comment: 0 means unsure, each +2.2 multiplies the odds by 9.

        The bias plus the sum of ``weight(id) · value`` over the comment's features."""
        prior = self._prior
        total = 0.0
        if prior is not None:
            total = prior[BIAS]
            for fid, value in f.values.items():
                total += prior[fid] * value
        if self._deltas:
            total += self._deltas.get(BIAS, 0.0)
            memo = self._site_weights.get
            site_weight = self._site_weight
            for fid, value in f.values.items():
                w = memo(fid)
                total += (site_weight(fid) if w is None else w) * value
        return total

    def prior_log_odds(self, f: Features) -> float:
        """The shipped prior's part of ``log_odds``, without what the site's decisions add."""
        prior = self._prior
        if prior is None:
            return 0.0
        return self.prior_bias() + sum(prior[fid] * value for fid, value in f.values.items())

    def prior_bias(self) -> float:
        """The shipped prior's base rate: its log-odds for a comment with no features."""
        return self._prior[BIAS] if self._prior is not None else 0.0

    def prior_coverage(self, f: Features) -> float:
        """The share of the comment's word view (its words, each with its share of the unit vector) that
        the shipped prior has a weight for: how much of the text it learned anything about. 1.0 for a
        text without words or a model without a prior."""
        prior = self._prior
        if prior is None:
            return 1.0
        total = known = 0.0
        values = f.values
        for fid, label in f.labels.items():
            value = values.get(fid)
            if value and fid == feature_id(f"v:{label}"):
                total += value
                if prior[fid]:
                    known += value
        return known / total if total else 1.0

    def probability(self, f: Features) -> float:
        return _sigmoid(self.log_odds(f))

    def contributions(self, f: Features) -> dict[str, float]:
        """Each human-readable token's share of the log-odds (bias excluded), character n-grams summed."""
        shares: dict[str, float] = {}
        # A fresh site's model is its prior: its weights read straight from the array (``extract`` makes
        # only ids in range, which ``weight`` would check one by one).
        weight = self._prior.__getitem__ if self._prior is not None and not self._deltas else self.weight
        labels, share = f.labels, shares.get
        for fid, value in f.values.items():
            w = weight(fid) * value
            if w:
                label = labels.get(fid, "?")
                shares[label] = share(label, 0.0) + w
        return shares

    def explain(self, f: Features, n: int = 3) -> list[str]:
        """The tokens that push the comment most toward spam, strongest first."""
        ranked = sorted(self.contributions(f).items(), key=lambda item: (-item[1], item[0]))
        chosen: list[str] = []
        for label, share in ranked:
            if share <= 0.05 or len(chosen) >= n:
                break
            if is_function_label(label):
                continue  # "the" and "for" are in every comment: they explain nothing
            if any(label in other or other in label for other in chosen):
                continue  # "check" adds nothing next to "check out"
            chosen.append(label)
        return chosen

    # -- online learning

    def learn(self, f: Features, is_spam: bool, *, weak: bool = False) -> dict[int, float]:
        """Move the site's weights toward a moderator's decision; return the delta that was applied.

        Two parts. The decision is counted: per feature of the comment, under ids ``DIMENSIONS + id``
        (spam) and ``2·DIMENSIONS + id`` (ham), with the totals at ``SPAM_DECISIONS``/``HAM_DECISIONS``;
        the counts give each feature its naive-Bayes ratio in ``weight`` and ``log_odds``. And one
        logistic-regression step on what the model still gets wrong moves this comment's own log-odds by
        ``learning_rate·w·(y − p)`` and the site's bias by ``BIAS_STEP·w·(y − p)``: a comment already
        scored confidently right changes little, a confident mistake a lot. The step is shared among the
        comment's features in proportion to the square of their ratios (the online form of the scaling
        ``fit`` uses), so words common to both classes move little. ``w`` weighs the rarer class up
        (¼ to 4), as ``fit`` does.

        What keeps a few one-sided decisions from tipping a site over: function words are neither
        counted nor stepped (they say nothing about spam, and every comment has them); the step goes only
        to features seen in at least ``MIN_FEATURE_COUNT`` decisions (none of it is spent on a comment's
        one-off words, and those stay at the prior until they recur), none of them moving by more than
        one lesson's worth (``learning_rate`` times the lesson's strength); and the naive-Bayes part
        grows with the evidence of *both* classes (``_evidence``), so a site that has marked only spam
        compares its spam with no imagined ham. A ``weak`` lesson (a published comment that stood for
        days without a report or a moderator's action) counts ``WEAK_LESSON`` of a decision. Counting
        alone can move the comment the other way; the step then grows to take it back, so a decision never
        moves its own comment's log-odds away from it.

        Counts and steps add up alike, so a store persists the delta as it is and ``unlearn`` undoes it.
        """
        deltas = self._deltas
        get = deltas.get
        strength = WEAK_LESSON if weak else 1.0
        spam_seen, ham_seen = get(SPAM_DECISIONS, 0.0), get(HAM_DECISIONS, 0.0)
        same = spam_seen if is_spam else ham_seen
        balance = min(4.0, max(0.25, (spam_seen + ham_seen + 2.0) / (2.0 * (same + 1.0))))
        error = strength * balance * ((1.0 if is_spam else 0.0) - self.probability(f))
        labels = f.labels
        counted = [fid for fid in f.values if not is_function_label(labels.get(fid, ""))]
        squares: dict[int, float] = {}
        for fid in counted:
            in_spam, in_ham = get(DIMENSIONS + fid, 0.0), get(2 * DIMENSIONS + fid, 0.0)
            if in_spam + in_ham + strength < MIN_FEATURE_COUNT:
                continue
            ratio = _ratio(in_spam, in_ham, spam_seen, ham_seen)
            squares[fid] = max(abs(ratio), NB_FLOOR) ** 2
        values = f.values
        spread = sum(values[fid] ** 2 * square for fid, square in squares.items())
        step = self.learning_rate * error / spread if spread else 0.0
        # No feature moves by more than one lesson's worth: when few of a long comment's features recur,
        # sharing the step among them alone gave one n-gram of small value +26 from one SMS spam decision.
        cap = self.learning_rate * strength
        steps = {fid: max(-cap, min(cap, step * values[fid] * square)) for fid, square in squares.items()}
        steps[BIAS] = self.BIAS_STEP * error
        counts = DIMENSIONS if is_spam else 2 * DIMENSIONS
        tally = {counts + fid: strength for fid in counted}
        tally[SPAM_DECISIONS if is_spam else HAM_DECISIONS] = strength
        before = {fid: self._site_weight(fid) for fid in values}
        self._apply(tally, 1.0)
        # Counted, the comment's features can lean the other way: one seen once in each class leans toward
        # the class with fewer decisions, and passing MIN_FEATURE_COUNT or a change of the evidence shows
        # that lean (an n-gram of a function word here may be counted from another comment's word, too).
        # A decision must not move its comment away from it, so a step too small to outweigh that grows.
        counted_moves = {fid: self._site_weight(fid) - before[fid] for fid in values}
        moved = steps[BIAS] + sum(v * (counted_moves[fid] + steps.get(fid, 0.0)) for fid, v in values.items())
        if (moved < 0.0) if is_spam else (moved > 0.0):
            if spread:
                extra = -moved / spread
                for fid, square in squares.items():
                    steps[fid] += extra * values[fid] * square
            else:  # no feature may take a step: those the counts moved stay where they were
                for fid, counted_move in counted_moves.items():
                    if counted_move:
                        steps[fid] = -counted_move
        self._apply(steps, 1.0)
        return tally | steps

    def unlearn(self, delta: Mapping[int, float]) -> None:
        """Undo a decision: subtract the delta that ``learn`` returned for it."""
        self._apply(delta, -1.0)

    def _apply(self, delta: Mapping[int, float], sign: float) -> None:
        self._site_weights.clear()  # the totals changed, and with them every feature's ratio
        self._evidence_memo = None
        deltas = self._deltas
        for fid, d in delta.items():
            value = deltas.get(fid, 0.0) + sign * d
            if abs(value) < 1e-12:
                deltas.pop(fid, None)
            else:
                deltas[fid] = value

    def combined(self) -> Any:
        """All weights (prior + deltas) as a numpy array indexed by feature id (training and saving only)."""
        import numpy as np

        if self._prior is None:
            weights = np.zeros(DIMENSIONS)
        else:
            weights = np.frombuffer(self._prior, dtype=np.float32).astype(np.float64)
        for fid, d in self._deltas.items():
            if fid < DIMENSIONS:
                weights[fid] += d
        return weights

    def to_bytes(self) -> bytes:
        """The combined weights as a compact, byte-for-byte reproducible prior file (see ``from_bytes``)."""
        import numpy as np

        weights = self.combined()
        indices = np.flatnonzero(weights)
        return _encode(indices, weights[indices], self.meta)



def lesson_ids(f: Features) -> set[int]:
    """The site delta ids that scoring ``f`` and learning a decision on it read: its features' weights and
    counts, the bias and the decision totals. A model holding only these learns exactly what the whole
    site model would, so a store need load no more to teach."""
    ids = {BIAS, SPAM_DECISIONS, HAM_DECISIONS}
    for fid in f.values:
        ids.update((fid, DIMENSIONS + fid, 2 * DIMENSIONS + fid))
    return ids


def _ratio(in_spam: float, in_ham: float, spam_seen: float, ham_seen: float) -> float:
    """Naive-Bayes log-count ratio of a feature seen in ``in_spam`` of ``spam_seen`` spam decisions and
    ``in_ham`` of ``ham_seen`` ham ones, each class's frequency smoothed toward ``NB_PRIOR_FREQUENCY``.

    The smoothing is the same for both classes, so one more decision of a class never moves a feature
    of that comment away from the class (a property test checks it)."""
    a = NB_SMOOTHING
    b = NB_SMOOTHING / NB_PRIOR_FREQUENCY
    return math.log((in_spam + a) / (spam_seen + b)) - math.log((in_ham + a) / (ham_seen + b))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-min(x, 60.0)))
    e = math.exp(max(x, -60.0))
    return e / (1.0 + e)


# ---------------------------------------------------------------------------------------------------------
# The prior file: magic line, JSON header line, then gzip'd little-endian arrays of sorted feature ids
# (as gaps, uint32) and weights quantised to int16 with the scale given in the header.


def _encode(indices: Any, weights: Any, meta: Mapping[str, Any]) -> bytes:
    import numpy as np

    top = float(np.max(np.abs(weights))) if len(weights) else 1.0
    scale = (top or 1.0) / 32767.0
    gaps = np.diff(indices, prepend=0).astype("<u4")
    header = dict(meta, count=len(indices), scale=scale, dimensions=DIMENSIONS, features=FEATURES_VERSION)
    body = (
        json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        + b"\n"
        + gaps.tobytes()
        + np.rint(weights / scale).astype("<i2").tobytes()
    )
    return _MAGIC + gzip.compress(body, compresslevel=9, mtime=0)


def _decode(data: bytes) -> tuple[list[int], list[float], dict[str, Any]]:
    if not data.startswith(_MAGIC):
        raise ValueError("not a Rejoinder spam prior file")
    body = gzip.decompress(data[len(_MAGIC) :])
    line, _, rest = body.partition(b"\n")
    header: dict[str, Any] = json.loads(line)
    if header.get("dimensions") != DIMENSIONS or header.get("features") != FEATURES_VERSION:
        raise ValueError("the prior file was made for another version of the features; train it again")
    count = int(header["count"])
    gaps = struct.unpack_from(f"<{count}I", rest, 0)
    quantised = struct.unpack_from(f"<{count}h", rest, 4 * count)
    indices: list[int] = []
    at = 0
    for gap in gaps:
        at += gap
        indices.append(at)
    scale = float(header["scale"])
    meta = {k: v for k, v in header.items() if k not in ("count", "scale", "dimensions", "features")}
    return indices, [q * scale for q in quantised], meta


# The prior shipped in the package, read at its first use: a constant, not state.
@cache
def _shipped() -> Model:
    data = resources.files("rejoinder.spam").joinpath("data", PRIOR_FILE).read_bytes()
    return Model.from_bytes(data)
