"""Training and measuring the abuse model (``rejoinder.spam.abuse``): the recipe that builds the shipped
``abuse.bin.gz`` from labelled corpora, byte for byte, and cross-validation that reports precision,
recall, F1 and the false-positive rate on the Davidson corpus and on the ordinary text of the others.

The recipe is the spam classifier's batch training (NBSVM-style logistic regression, Platt calibration,
every corpus weighing the same within its class), on words only, with the label changed:
abusive is the Davidson corpus's ``abusive`` (hate speech or offensive language); its ``ok`` tweets and
every comment of the other corpora, spam or not, are not abusive.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rejoinder.corpora import CorpusItem, deduplicate
from rejoinder.evaluation import Metrics, Outcome, features_of, metrics, stratified_folds
from rejoinder.spam.abuse import DEFAULT_THRESHOLD, AbuseModel
from rejoinder.spam.features import Features, feature_id
from rejoinder.spam.model import Model
from rejoinder.spam.training import TrainingOptions, fit
from rejoinder.spam.verdict import Action, Verdict

ABUSIVE_LABELS = frozenset({"abusive", "hate_speech", "offensive_language", "toxic", "insult", "threat"})
# No site features (links, domains, author names: nothing to do with abuse, and the tweets' links are
# Twitter furniture), and weights too small to matter dropped, which keeps the file small. No naive-Bayes
# part added to the weights: it was measured for spam only, and the shipped abuse file is made without it.
ABUSE_OPTIONS = TrainingOptions(site_features=False, prune_below=1e-3, nb_weight=0.0)


# The shape of a text says where it was collected, not whether it insults: SMS and YouTube spam shout, tweets
# open with @replies. Learned from these corpora, SHOUTING came out as a strong sign of *innocence*.
# So the model learns words, word pairs and character n-grams only; these features keep weight zero.
SHAPE_FEATURES = frozenset(
    feature_id(key)
    for key in (
        "k:symbol art",
        "k:shouting",
        "k:many capitals",
        "p:!!",
        "x:invisible characters",
        "x:fancy Unicode letters",
        "x:mixed scripts",
        "m:lead",
        "m:inline",
        "h:any",
        "$:any",
        "n:phone",
        *(f"$:{n}" for n in range(1, 7)),
        *(f"n:{n}" for n in range(1, 8)),
    )
)
_MENTION = re.compile(r"(?<![\w@])@\w+")


def as_abuse_examples(items: Iterable[CorpusItem]) -> list[CorpusItem]:
    """The items, deduplicated per corpus, with ``is_spam`` standing for *abusive*, and @mentions removed
    (Twitter furniture: the abusive tweets are more often replies; a comment's mention is no insult)."""
    return [
        dataclasses.replace(
            item, is_spam=item.label in ABUSIVE_LABELS, text=_MENTION.sub("", item.text).strip()
        )
        for item in deduplicate(items)
    ]


def words_only(f: Features) -> Features:
    return Features({i: v for i, v in f.values.items() if i not in SHAPE_FEATURES}, f.labels)


def train_abuse_model(examples: Sequence[CorpusItem]) -> AbuseModel:
    """The recipe of the shipped model, on examples from ``as_abuse_examples``: ``evaluation.train_model``'s
    (every corpus weighing the same within its class), on words only."""
    cells = Counter((item.corpus, item.is_spam) for item in examples)
    weights = [1.0 / cells[item.corpus, item.is_spam] for item in examples]
    labelled = ((words_only(features_of(item)), item.is_spam) for item in examples)
    return AbuseModel(fit(Model.empty(), labelled, ABUSE_OPTIONS, weights=weights))


def judge(model: AbuseModel, item: CorpusItem, threshold: float) -> Verdict:
    """Abusive (*flagged*, counted like a spam verdict by ``evaluation.metrics``) from ``threshold``."""
    features = features_of(item)
    finding = model.judge(features, threshold, item.text)
    score = finding.score if finding is not None else model.probability(features)
    return Verdict(Action.SPAM if finding is not None else Action.PUBLISH, score, ())


def outcomes(model: AbuseModel, items: Iterable[CorpusItem], threshold: float) -> list[Outcome]:
    judged = []
    for item in items:
        start = time.perf_counter()
        verdict = judge(model, item, threshold)
        judged.append(Outcome(item.is_spam, verdict, time.perf_counter() - start))
    return judged


@dataclass(frozen=True)
class AbuseCrossValidation:
    """Out-of-fold results per corpus, and the share flagged of each original label (``originals``)."""

    per_corpus: dict[str, Metrics]
    flagged_by_label: dict[str, float]


def cross_validate_abuse(
    examples: Sequence[CorpusItem],
    *,
    folds: int = 5,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    originals: Mapping[str, str] | None = None,
) -> AbuseCrossValidation:
    """Stratified k-fold over every corpus at once (duplicates kept in one fold); each fold's model is
    trained by the shipped recipe on the other folds, and judged on its own fold. ``originals`` maps item
    ids to a finer label (the Davidson corpus's hate speech / offensive language / neither)."""
    judged: list[tuple[CorpusItem, Outcome]] = []
    for fold in stratified_folds(examples, folds, seed):
        held_out = set(fold)
        model = train_abuse_model([item for i, item in enumerate(examples) if i not in held_out])
        test = [examples[i] for i in fold]
        judged.extend(zip(test, outcomes(model, test, threshold), strict=True))
    per_corpus = {
        corpus: metrics([o for item, o in judged if item.corpus == corpus])
        for corpus in sorted({item.corpus for item, _ in judged})
    }
    by_label: dict[str, list[bool]] = {}
    for item, outcome in judged:
        label = (originals or {}).get(item.id)
        if label is not None:
            by_label.setdefault(label, []).append(outcome.verdict.is_spam)
    flagged = {label: sum(flags) / len(flags) for label, flags in sorted(by_label.items())}
    return AbuseCrossValidation(per_corpus, flagged)
