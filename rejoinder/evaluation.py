"""Honest measurement of the text classifier: metrics by the pipeline's own decision rule, stratified
k-fold cross-validation without duplicates across folds, leave-one-corpus-out, online (stream) learning,
and the TF-IDF + logistic regression baseline the classifier is compared against. It lives outside the
pure engine (``rejoinder.spam``) because it reads the clock to time every verdict.

A comment counts as *flagged* (positive) when its verdict is spam or discard, the actions that keep it
from readers without a moderator looking; *caught* also counts holds.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from rejoinder.corpora import CorpusItem, _mix, deduplicate, duplicate_key, shuffled
from rejoinder.model import Author, CommentKind, CommentStatus, SiteSettings
from rejoinder.spam import threshold
from rejoinder.spam.features import Features, extract
from rejoinder.spam.judge import Inputs, judge
from rejoinder.spam.model import Model
from rejoinder.spam.reading import read, reference_language
from rejoinder.spam.submission import Page, Submission
from rejoinder.spam.threshold import Learned, best_threshold
from rejoinder.spam.training import TrainingOptions, fit
from rejoinder.spam.verdict import Action, Thresholds, Verdict, combine

# How the shipped prior is trained: as any batch training, but without the site-dependent features
# (links, domains, authors), which a site learns from its own moderators, and with odds of 1:e against
# spam for a fresh site (see docs/spam.md: the corpora's ham does not sound like blog readers).
# The shipped prior leaves out the naive-Bayes part of batch training (``nb_weight``): it judges text unlike
# its corpora, where that part's general words ("thanks", "help", "feedback") lean spam: with it the prior
# sent 7 of the 530 real blog comments to spam and held 26, against 2 and 15 without it (docs/spam.md).
PRIOR_OPTIONS = TrainingOptions(site_features=False, base_log_odds=-1.0, nb_weight=0.0)

Judge = Callable[[CorpusItem, Model], Verdict]
Predictor = Callable[[CorpusItem], Verdict]  # a trained classifier, ready to judge
Learner = Callable[[Sequence[CorpusItem]], Predictor]  # trains one on labelled comments


def features_of(item: CorpusItem) -> Features:
    """The features a corpus comment is trained and judged on: its text only.

    Author names are left out on purpose: in a corpus they identify the few spammers who posted most of
    the spam, so a model would score well by memorising people, and the shipped prior would carry those
    names. A site's own model learns names from its moderators instead.
    """
    return extract(item.text)


def default_judge(item: CorpusItem, model: Model) -> Verdict:
    """The classifier alone, through the pipeline's rule: ``combine`` with the default thresholds."""
    return combine(model.log_odds(features_of(item)), [], Thresholds())


def taught_judge(item: CorpusItem, model: Model) -> Verdict:
    """As a site whose moderators decided the model's training comments judges: spam from the threshold
    those decisions call for (``threshold.learn`` on the out-of-fold scores, which ``fit`` records in
    ``meta``), the default while there are too few of them."""
    spam = model.meta.get("spam_threshold", Thresholds.spam)
    return combine(model.log_odds(features_of(item)), [], Thresholds(spam=spam))


def train_model(items: Sequence[CorpusItem], options: TrainingOptions | None = None) -> Model:
    """Batch-train a model from scratch (``fit(Model.empty(), …)``): the recipe of cross-validation,
    leave-one-corpus-out and the shipped prior.

    Every corpus weighs the same within each class, whatever its size, so that the 5,000 SMS do not
    drown 1,700 YouTube comments, and 25,000 tweets of the abuse corpus are a quarter of the ham, not
    most of it. (With one corpus this is plain class balancing.)
    """
    cells = Counter((item.corpus, item.is_spam) for item in items)
    weights = [1.0 / cells[item.corpus, item.is_spam] for item in items]
    return fit(Model.empty(), ((features_of(i), i.is_spam) for i in items), options, weights=weights)


def pipeline_judge(sub: Submission, model: Model, rules: SiteSettings | None = None) -> Verdict:
    """A comment judged by every signal that needs no store, as a fresh site judges a first-time
    commenter's comment: the classifier, links, lists, the blog-spam and relevance signals."""
    rules = rules or SiteSettings(max_depth=5, edit_window_seconds=900)
    reading = read(sub, reference_language(rules.language))
    return judge(Inputs(model), sub, rules, reading=reading, thread_id=None)


def signals_judge(item: CorpusItem, model: Model) -> Verdict:
    """A corpus comment judged by every store-free signal (``pipeline_judge``), as a fresh site judges a
    first-time commenter's comment: its text only, under no article, since the corpora say neither who
    posted it in a form a site would see nor under which page."""
    return pipeline_judge(Submission(item.text, Author("", "", "")), model)


@dataclass(frozen=True)
class ExportedComments:
    """The comments of an export file judged as ham (published) or spam, and how many were left out."""

    outcomes: list[Outcome]
    skipped: int  # pingbacks, trackbacks, held or deleted comments: neither side
    reasons: Counter[str]  # how often each reason was given to ham


def exported_comments(records: Iterable[Any]) -> tuple[list[tuple[Submission, bool]], int]:
    """The comments of an importer's records that a moderator decided: each as the widget would have
    posted it, under its thread's title, and whether it is spam (else it was published); with how many
    comments were neither (pingbacks, trackbacks, held or deleted ones). The importer's problems are left
    out."""
    comments: list[tuple[Submission, bool]] = []
    skipped = 0
    for record in records:
        status = getattr(record, "status", None)
        if status is None:
            continue  # a problem the importer reported, not a comment
        if record.kind != CommentKind.COMMENT or status not in (CommentStatus.PUBLISHED, CommentStatus.SPAM):
            skipped += 1
            continue
        sub = Submission(record.body, record.author, page=Page(record.thread.title))
        comments.append((sub, status is CommentStatus.SPAM))
    return comments, skipped


def judge_export(records: Iterable[Any], model: Model, *, classifier_only: bool = False) -> ExportedComments:
    """Judge the published (ham) and spam comments of an importer's records with ``pipeline_judge``,
    each under its thread's title, as a fresh site would judge them posted through the widget (or by the
    text classifier alone, ``combine`` with the default thresholds, to compare)."""
    outcomes: list[Outcome] = []
    reasons: Counter[str] = Counter()
    comments, skipped = exported_comments(records)
    for sub, is_spam in comments:
        start = time.perf_counter()
        if classifier_only:
            verdict = combine(model.log_odds(extract(sub.text)), [], Thresholds())
        else:
            verdict = pipeline_judge(sub, model)
        outcomes.append(Outcome(is_spam, verdict, time.perf_counter() - start))
        if not is_spam and verdict.action is not Action.PUBLISH:
            reasons.update(verdict.reasons)
    return ExportedComments(outcomes, skipped, reasons)


# ---------------------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Metrics:
    """How a classifier did on a set of labelled comments."""

    n: int
    spam: int
    ham: int
    true_positives: int  # spam given a spam or discard verdict
    false_positives: int  # ham given a spam or discard verdict
    spam_held: int
    ham_held: int
    precision: float
    recall: float
    f1: float
    fpr: float  # share of ham given a spam or discard verdict
    auc: float  # ROC AUC of the score, threshold-free
    mcc: float
    ms_per_comment: float  # median time of one judgement (features + score), milliseconds
    caught: float  # share of spam not published (hold, spam or discard)
    ham_held_share: float  # share of ham held for a moderator
    # The best F1 any one spam threshold on the same scores would give with an FPR of at most 2 %, that
    # FPR and the threshold: what the ranking allows, whatever the site's ``spam_spam`` setting.
    best_f1: float = 0.0
    best_f1_fpr: float = 0.0
    best_f1_threshold: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        """The report's keys (``ham_held`` is the share; the counts keep their own names)."""
        d = asdict(self)
        d["ham_held_count"] = d.pop("ham_held")
        d["ham_held"] = d.pop("ham_held_share")
        return d


@dataclass(frozen=True)
class Outcome:
    is_spam: bool
    verdict: Verdict
    seconds: float = 0.0


def metrics(outcomes: Sequence[Outcome]) -> Metrics:
    spam = [o for o in outcomes if o.is_spam]
    ham = [o for o in outcomes if not o.is_spam]
    tp = sum(o.verdict.is_spam for o in spam)
    fp = sum(o.verdict.is_spam for o in ham)
    fn, tn = len(spam) - tp, len(ham) - fp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / len(spam) if spam else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / denominator if denominator else 0.0
    times = [o.seconds for o in outcomes if o.seconds > 0]
    best = best_threshold([o.verdict.score for o in outcomes], [o.is_spam for o in outcomes])
    return Metrics(
        n=len(outcomes),
        spam=len(spam),
        ham=len(ham),
        true_positives=tp,
        false_positives=fp,
        spam_held=sum(o.verdict.action == Action.HOLD for o in spam),
        ham_held=sum(o.verdict.action == Action.HOLD for o in ham),
        precision=precision,
        recall=recall,
        f1=f1,
        fpr=fp / len(ham) if ham else 0.0,
        auc=roc_auc([o.verdict.score for o in outcomes], [o.is_spam for o in outcomes]),
        mcc=mcc,
        ms_per_comment=1000 * statistics.median(times) if times else 0.0,
        caught=sum(o.verdict.action != Action.PUBLISH for o in spam) / len(spam) if spam else 0.0,
        ham_held_share=sum(o.verdict.action == Action.HOLD for o in ham) / len(ham) if ham else 0.0,
        best_f1=best[0],
        best_f1_fpr=best[1],
        best_f1_threshold=best[2],
    )


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a random spam scores above a random ham (ties count half): Mann–Whitney U."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        rank_sum += mean_rank * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def judge_all(items: Iterable[CorpusItem], predictor: Predictor) -> list[Outcome]:
    """Judge each comment, timing each judgement."""
    outcomes = []
    for item in items:
        start = time.perf_counter()
        verdict = predictor(item)
        outcomes.append(Outcome(item.is_spam, verdict, time.perf_counter() - start))
    return outcomes


def evaluate(items: Sequence[CorpusItem], model: Model, judge: Judge | None = None) -> Metrics:
    """Judge labelled comments with a trained model (e.g. the shipped prior) and measure."""
    return metrics(judge_all(items, predictor(model, judge)))


def predictor(model: Model, judge: Judge | None = None) -> Predictor:
    use = judge or default_judge
    return lambda item: use(item, model)


def model_learner(judge: Judge | None = None, options: TrainingOptions | None = None) -> Learner:
    """Batch training from scratch, judged by ``judge`` (the classifier alone by default)."""
    return lambda train: predictor(train_model(train, options), judge)


def taught_learner(thresholds: list[float] | None = None) -> Learner:
    """Batch training from scratch, judged by ``taught_judge``; each model's spam threshold is appended to
    ``thresholds`` when given."""

    def learn(train: Sequence[CorpusItem]) -> Predictor:
        model = train_model(train)
        if thresholds is not None:
            thresholds.append(model.meta.get("spam_threshold", Thresholds.spam))
        return predictor(model, taught_judge)

    return learn


def stream_learner(judge: Judge | None = None) -> Learner:
    """Online training from scratch: each training comment once through ``learn``, in corpus order."""
    return lambda train: predictor(stream_trained(train), judge)


# ---------------------------------------------------------------------------------------------------------
# Cross-validation


def stratified_folds(
    items: Sequence[CorpusItem], k: int, seed: int = 0, *, split_duplicates: bool = False
) -> list[list[int]]:
    """Indices of ``k`` folds with the same spam share, duplicates (up to case and space) kept together.

    Groups of duplicates are dealt out whole, largest first, to the fold of their class that is
    smallest so far; the order among equal sizes is a seeded shuffle. With ``split_duplicates`` every
    comment is its own group, as in scikit-learn's ``StratifiedKFold(shuffle=True)``: copies of a test
    comment may then sit in the training folds.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, item in enumerate(items):
        key = str(i) if split_duplicates else duplicate_key(item.text)
        groups.setdefault((item.corpus, key), []).append(i)
    folds: list[list[int]] = [[] for _ in range(k)]
    for spam in (True, False):
        members = [g for g in groups.values() if items[g[0]].is_spam is spam]
        members.sort(key=lambda g: (-len(g), _mix(seed, g[0])))
        sizes = [0] * k
        for group in members:
            target = min(range(k), key=lambda f: (sizes[f], f))
            folds[target].extend(group)
            sizes[target] += len(group)
    return [sorted(f) for f in folds]


@dataclass(frozen=True)
class CrossValidation:
    metrics: Metrics
    folds: list[Metrics] = field(default_factory=list)


def cross_validate(
    items: Sequence[CorpusItem],
    *,
    folds: int = 5,
    seed: int = 0,
    dedup: bool = True,
    split_duplicates: bool = False,
    judge: Judge | None = None,
    learner: Learner | None = None,
) -> CrossValidation:
    """Stratified k-fold: train on k−1 folds from scratch, judge the held-out fold, pool the outcomes.

    With ``dedup`` (the default) repeated texts are dropped first, keeping the first; without it they
    stay but every copy sits in the same fold, so no copy of a test comment is ever trained on, unless
    ``split_duplicates`` deals copies out one by one like any comment (the plain protocol).
    ``learner`` replaces the default (``fit(Model.empty(), …)`` judged by ``judge``), e.g. by the baseline.
    """
    pool = deduplicate(items) if dedup else list(items)
    learner = learner or model_learner(judge)
    pooled: list[Outcome] = []
    per_fold = []
    for test_indices in stratified_folds(pool, folds, seed, split_duplicates=split_duplicates):
        test_set = set(test_indices)
        train = [item for i, item in enumerate(pool) if i not in test_set]
        outcomes = judge_all((pool[i] for i in test_indices), learner(train))
        pooled.extend(outcomes)
        per_fold.append(metrics(outcomes))
    return CrossValidation(metrics(pooled), per_fold)


def leave_one_corpus_out(
    corpora: Mapping[str, Sequence[CorpusItem]],
    *,
    learners: Mapping[str, Learner] | None = None,
) -> dict[str, dict[str, Metrics]]:
    """For each corpus holding spam, train on all the others (deduplicated) and judge it (deduplicated).

    Corpora without spam (the abuse corpus as ham) are only ever trained on. Returns
    ``{left_out: {learner name: metrics}}``; the default learner is batch training on all features.
    """
    learners = learners or {"classifier": model_learner()}
    results: dict[str, dict[str, Metrics]] = {}
    for name, held_out in corpora.items():
        if not any(item.is_spam for item in held_out):
            continue
        train = [item for other, items in corpora.items() if other != name for item in deduplicate(items)]
        test = deduplicate(held_out)
        results[name] = {label: metrics(judge_all(test, learn(train))) for label, learn in learners.items()}
    return results


# ---------------------------------------------------------------------------------------------------------
# Online learning


@dataclass(frozen=True)
class StreamResult:
    """Prequential (predict, then learn) results of feeding comments one at a time through ``learn``."""

    prequential: Metrics  # every comment, judged before its label was learned
    tail: Metrics  # the last ``tail_share`` of the stream
    tail_share: float
    model: Model
    decisions: int = 0  # lessons the site learned (weak ham included)


class Decide(StrEnum):
    """Which comments of a stream a site's moderators decide (and so teach)."""

    ALL = "all"  # every comment, with its true label: the optimistic protocol
    HELD = "held"  # only what they see: comments held or sent to spam, with their true label
    SPAM = "spam"  # one-sided: only the spam they see, never approving anything


@dataclass
class SimulatedSite:
    """A site as the pipeline runs one, fed a stream: its model (a prior plus its lessons) and the scores
    of its decisions, from which it learns its spam threshold as a live site does (``threshold.learn``).

    Comments it publishes stand unreported and become weak ham ``weak_ham_after`` comments later (the
    stream's stand-in for N days), whatever their true label: a live site does not know it either."""

    model: Model
    learn_threshold: bool = True
    weak_ham_after: int | None = None
    decisions: list[threshold.Decision] = field(default_factory=list)
    waiting: deque[tuple[int, Features, float]] = field(default_factory=deque)
    _learned: Learned | None = None
    _learned_at: int = -1

    def judge(self, item: CorpusItem) -> Verdict:
        spam_at = Thresholds.spam
        if self.learn_threshold:
            if self._learned_at != len(self.decisions):
                recent = self.decisions[-threshold.RECENT_DECISIONS :]
                self._learned = threshold.learn(
                    recent, floor=Thresholds.hold, ceiling=Thresholds.discard, owner=Thresholds.spam
                )
                self._learned_at = len(self.decisions)
            if self._learned is not None:
                spam_at = self._learned.threshold
        return combine(self.model.log_odds(features_of(item)), [], Thresholds(spam=spam_at))

    def teach(self, features: Features, is_spam: bool, score: float, *, weak: bool = False) -> None:
        self.model.learn(features, is_spam, weak=weak)
        self.decisions.append((score, is_spam, weak))

    def after(self, index: int, item: CorpusItem, verdict: Verdict, decide: Decide) -> None:
        """What the site's moderators (and time) make of a judged comment."""
        features = features_of(item)
        seen = verdict.action is not Action.PUBLISH
        if decide is Decide.ALL or (decide is Decide.HELD and seen):
            self.teach(features, item.is_spam, verdict.score)
        elif decide is Decide.SPAM and seen and item.is_spam:
            self.teach(features, True, verdict.score)
        elif not seen and self.weak_ham_after is not None:
            self.waiting.append((index, features, verdict.score))
        due = index - (self.weak_ham_after or 0)
        while self.waiting and self.waiting[0][0] <= due:
            _, standing, score = self.waiting.popleft()
            self.teach(standing, False, score, weak=True)


def stream(
    items: Sequence[CorpusItem],
    *,
    model: Model | None = None,
    judge: Judge | None = None,
    tail_share: float = 0.2,
    decide: Decide = Decide.ALL,
    learn_threshold: bool = False,
    weak_ham_after: int | None = None,
) -> StreamResult:
    """Judge each comment, then let the site learn from it as ``decide`` says, in the order given.

    ``model`` is where the site starts (``Model.empty()`` by default; ``Model.shipped().with_site({})``
    for a fresh install). With ``learn_threshold`` the site sends to spam from the threshold its
    decisions call for, as a live site does; ``judge`` replaces the whole rule (and the threshold)."""
    site = SimulatedSite(model or Model.empty(), learn_threshold, weak_ham_after)
    outcomes = []
    for index, item in enumerate(items):
        start = time.perf_counter()
        verdict = judge(item, site.model) if judge is not None else site.judge(item)
        outcomes.append(Outcome(item.is_spam, verdict, time.perf_counter() - start))
        site.after(index, item, verdict, decide)
    tail_start = int(len(outcomes) * (1 - tail_share))
    return StreamResult(
        metrics(outcomes), metrics(outcomes[tail_start:]), tail_share, site.model, len(site.decisions)
    )


@dataclass(frozen=True)
class Safety:
    """What a few decisions from the shipped prior do to a corpus's unseen comments, per trial."""

    fpr_before: float  # share of the unseen ham the prior alone flags
    fpr_after: list[float]  # the same after each trial's one-sided decisions
    held_before: float
    held_after: list[float]
    f1_before: list[float]  # of the prior alone on each trial's unseen comments (mixed protocol)
    f1_after: list[float]  # after each trial's mixed decisions
    fpr_mixed_before: list[float] = field(default_factory=list)  # FPR beside those F1s
    fpr_mixed_after: list[float] = field(default_factory=list)

    @property
    def worst_fpr_rise(self) -> float:
        return max(self.fpr_after) - self.fpr_before

    @property
    def median_fpr_rise(self) -> float:
        return statistics.median(self.fpr_after) - self.fpr_before

    @property
    def worst_f1_gain(self) -> float:
        return min(after - before for before, after in zip(self.f1_before, self.f1_after, strict=True))


def learning_safety(
    items: Sequence[CorpusItem],
    prior: Model,
    *,
    one_sided: int = 10,
    mixed: int = 50,
    trials: int = 5,
    seed: int = 0,
) -> Safety:
    """From ``prior``: teach ``one_sided`` spam decisions (no ham), then measure the FPR and held share
    on all the corpus's ham (none of which was taught); separately teach the first ``mixed`` comments of
    a shuffle, spam and ham as they come, and compare F1 on the rest. Each trial is a new shuffle."""
    pool = deduplicate(items)
    ham = [item for item in pool if not item.is_spam]
    # Each comment is read once: the trials judge and teach the same comments many times over.
    read_once = {id(item): features_of(item) for item in pool}

    def judge(item: CorpusItem, model: Model) -> Verdict:  # default_judge, on the features read once
        return combine(model.log_odds(read_once[id(item)]), [], Thresholds())

    before = metrics(judge_all(ham, predictor(prior, judge)))
    fpr_after, held_after, f1_before, f1_after, fpr_mixed_before, fpr_mixed_after = [], [], [], [], [], []
    for trial in range(trials):
        order = shuffled(pool, seed + trial)
        site = prior.with_site({})
        for item in [i for i in order if i.is_spam][:one_sided]:
            site.learn(read_once[id(item)], True)
        after = metrics(judge_all(ham, predictor(site, judge)))
        fpr_after.append(after.fpr)
        held_after.append(after.ham_held_share)
        taught, rest = order[:mixed], order[mixed:]
        site = prior.with_site({})
        for item in taught:
            site.learn(read_once[id(item)], item.is_spam)
        alone = metrics(judge_all(rest, predictor(prior, judge)))
        taught_site = metrics(judge_all(rest, predictor(site, judge)))
        f1_before.append(alone.f1)
        f1_after.append(taught_site.f1)
        fpr_mixed_before.append(alone.fpr)
        fpr_mixed_after.append(taught_site.fpr)
    return Safety(
        before.fpr,
        fpr_after,
        before.ham_held_share,
        held_after,
        f1_before,
        f1_after,
        fpr_mixed_before,
        fpr_mixed_after,
    )


def stream_trained(train: Sequence[CorpusItem]) -> Model:
    """A model taught only online: every training comment once through ``learn``, in corpus order."""
    model = Model.empty()
    for item in train:
        model.learn(features_of(item), item.is_spam)
    return model


# ---------------------------------------------------------------------------------------------------------
# The baseline: TF-IDF over words + logistic regression, as scikit-learn's defaults configure them
# (TfidfVectorizer(): lower-case, token pattern \b\w\w+\b, smoothed idf, l2 norm; LogisticRegression():
# L2 with C = 1, no class weights), solved by the same L-BFGS as the classifier.

_BASELINE_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class TfidfBaseline:
    def __init__(self, vocabulary: dict[str, int], idf: list[float], model: Model) -> None:
        self.vocabulary, self.idf, self.model = vocabulary, idf, model

    @classmethod
    def fit(cls, items: Sequence[CorpusItem], c: float = 1.0) -> TfidfBaseline:
        documents = [Counter(_BASELINE_TOKEN.findall(item.text.lower())) for item in items]
        df: Counter[str] = Counter(term for doc in documents for term in doc)
        vocabulary = {term: i + 1 for i, term in enumerate(sorted(df))}
        n = len(documents)
        idf = [0.0] + [math.log((1 + n) / (1 + df[term])) + 1 for term in sorted(df)]
        baseline = cls(vocabulary, idf, Model.empty())
        options = TrainingOptions(
            l2=1.0 / (c * n), calibration_folds=0, balance_classes=False, nb_smoothing=0
        )
        examples = [(baseline._vector(doc), item.is_spam) for doc, item in zip(documents, items, strict=True)]
        baseline.model = fit(Model.empty(), examples, options)
        return baseline

    def _vector(self, counts: Counter[str]) -> Features:
        ids = ((self.vocabulary[t], c) for t, c in counts.items() if t in self.vocabulary)
        values = {i: c * self.idf[i] for i, c in ids}
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        return Features({i: v / norm for i, v in values.items()}, {})

    def log_odds(self, text: str) -> float:
        return self.model.log_odds(self._vector(Counter(_BASELINE_TOKEN.findall(text.lower()))))


def baseline_learner(thresholds: Thresholds | None = None) -> Learner:
    """The baseline judged through ``combine``: by default with the pipeline's thresholds (spam at p ≥ 0.9);
    ``Thresholds(spam=0.5)`` gives scikit-learn's ``predict`` rule (spam at p ≥ 0.5)."""
    chosen = thresholds or Thresholds()

    def learn(train: Sequence[CorpusItem]) -> Predictor:
        baseline = TfidfBaseline.fit(train)
        return lambda item: combine(baseline.log_odds(item.text), [], chosen)

    return learn
