"""Batch training of the text classifier: regularised logistic regression on naive-Bayes-scaled features
(L-BFGS, deterministic) plus a share of the naive-Bayes log-count ratios themselves, then calibration by
Platt scaling on out-of-fold scores. Used by
``rejoinder spam train`` and the evaluation tools; numpy is imported only here and when saving a prior.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rejoinder.spam import threshold
from rejoinder.spam.features import BIAS, SITE_FEATURES, Features
from rejoinder.spam.model import NB_FLOOR, NB_SMOOTHING, Model
from rejoinder.spam.verdict import Thresholds


@dataclass(frozen=True)
class TrainingOptions:
    """Knobs of ``Model.fit``; the defaults are the ones the shipped prior and the docs' figures use."""

    l2: float = 1e-4  # per example weight; scaled by the number of examples
    max_iterations: int = 300
    calibration_folds: int = 4  # 0 or 1: no calibration
    balance_classes: bool = True
    prune_below: float = 0.0  # drop weights smaller than this from the result (keeps the file small)
    site_features: bool = True  # False: leave SITE_FEATURES at zero (the shipped prior)
    base_log_odds: float = 0.0  # added to the calibrated bias: the odds of spam assumed for a site
    nb_smoothing: float = NB_SMOOTHING  # 0 turns the naive-Bayes feature scaling off
    nb_floor: float = NB_FLOOR
    # The naive-Bayes learner's log-count ratios, added to the regression's weights at this share: a
    # second, differently biased learner over the same features (it counts every feature on its own where
    # the regression shares the credit), as online learning adds them at ``Model.NB_WEIGHT``. 0: none.
    # Chosen by deduplicated 5-fold cross-validation on YouTube among 0.05, 0.1 and 0.3 (docs/spam.md).
    nb_weight: float = 0.05


def fit(
    start: Model,
    examples: Iterable[tuple[Features, bool]],
    options: TrainingOptions | None = None,
    *,
    weights: Sequence[float] | None = None,
) -> Model:
    """Train on labelled comments in batch; return a new model whose prior is the result.

    Regularised logistic regression (L-BFGS, deterministic) on naive-Bayes-scaled features, with the
    classes weighted to equal total weight (on top of any per-example ``weights``), started from and
    pulled toward ``start``'s weights (zero for ``Model.empty()``), then calibrated by Platt scaling on
    out-of-fold scores so that the log-odds mean what they say.
    """
    listed = list(examples)
    if weights is not None and len(weights) != len(listed):
        raise ValueError("one weight per example")
    return _fit(start, listed, options or TrainingOptions(), weights)


def _fit(
    start: Model,
    examples: list[tuple[Features, bool]],
    options: TrainingOptions,
    given: Sequence[float] | None,
) -> Model:
    import numpy as np

    if not examples:
        raise ValueError("no examples to train on")
    features = [f for f, _ in examples]
    if not options.site_features:
        first = SITE_FEATURES.start
        features = [Features({i: v for i, v in f.values.items() if i < first}, f.labels) for f in features]
    y = np.array([1.0 if spam else 0.0 for _, spam in examples])
    matrix = _Matrix.of(features)
    center_all = start.combined()
    center = center_all[matrix.columns]
    weights = _class_weights(y, np.ones(len(y)) if given is None else np.asarray(given, float), options)
    bias0 = float(center_all[BIAS])
    w, bias = _train(matrix, y, weights, center, bias0, options)
    scale, shift = 1.0, 0.0
    learned = None
    if options.calibration_folds > 1 and 0 < y.sum() < len(y):
        scores = np.zeros(len(y))
        for fold in _stratified_folds(y, options.calibration_folds):
            train = np.setdiff1d(np.arange(len(y)), fold)
            sub = matrix.rows(train)
            fw, fb = _train(sub, y[train], weights[train], center[sub.local], bias0, options)
            test = matrix.rows(fold)
            placed = np.array(center)  # columns unseen in this fold's training set keep their centre weight
            placed[sub.local] = fw
            scores[fold] = test.dot(placed[test.local]) + fb
        scale, shift = _platt(scores, y, weights)
        # The out-of-fold scores are what a site's decided comments had been given before the decision:
        # they say where this model's spam threshold belongs (``threshold.learn``).
        held_out = 1.0 / (1.0 + np.exp(-(scale * scores + shift + options.base_log_odds)))
        learned = threshold.learn(
            list(zip(held_out.tolist(), (y > 0).tolist(), strict=True)),
            floor=Thresholds.hold,
            ceiling=Thresholds.discard,
        )
    trained = center_all.copy()
    trained[matrix.columns] = w
    trained[BIAS] = bias
    trained *= scale
    trained[BIAS] += shift + options.base_log_odds
    if options.prune_below > 0:
        trained[np.abs(trained) < options.prune_below] = 0.0
        trained[BIAS] = bias * scale + shift + options.base_log_odds
    prior = array("f", trained.astype("<f4").tobytes())
    meta = {
        "examples": len(y),
        "spam": int(y.sum()),
        "calibration": [round(scale, 6), round(shift, 6)],
        "base_log_odds": options.base_log_odds,
    }
    if learned is not None:
        meta["spam_threshold"] = round(learned.threshold, 6)
    return Model(prior, meta=meta)


class _Matrix:
    """Rows of hashed features as a compact sparse matrix (columns renumbered to those in use)."""

    def __init__(self, indptr: Any, cols: Any, data: Any, ncols: int, local: Any, columns: Any) -> None:
        import numpy as np

        self.indptr, self.cols, self.data, self.ncols = indptr, cols, data, ncols
        self.row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        self.local = local  # which compact columns of the parent matrix these columns are
        self.columns = columns  # global feature ids of the columns

    @classmethod
    def of(cls, features: Sequence[Features]) -> _Matrix:
        import numpy as np

        lengths = [len(f.values) for f in features]
        ids = np.fromiter((i for f in features for i in f.values), dtype=np.int64, count=sum(lengths))
        data = np.fromiter((v for f in features for v in f.values.values()), dtype=np.float64, count=len(ids))
        columns, cols = np.unique(ids, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return cls(indptr, cols, data, len(columns), np.arange(len(columns)), columns)

    def rows(self, which: Any) -> _Matrix:
        import numpy as np

        starts, ends = self.indptr[which], self.indptr[which + 1]
        spans = [np.arange(s, e) for s, e in zip(starts, ends, strict=True)]
        take = np.concatenate(spans).astype(int) if spans else np.zeros(0, dtype=int)
        local, cols = np.unique(self.cols[take], return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(ends - starts)])
        return _Matrix(indptr, cols, self.data[take], len(local), local, self.columns[local])

    def dot(self, w: Any) -> Any:
        import numpy as np

        return np.bincount(self.row_of, weights=self.data * w[self.cols], minlength=len(self.indptr) - 1)

    def tdot(self, r: Any) -> Any:
        import numpy as np

        return np.bincount(self.cols, weights=self.data * r[self.row_of], minlength=self.ncols)


def _class_weights(y: Any, given: Any, options: TrainingOptions) -> Any:
    """Example weights with mean 1: as given, and (by default) scaled so that both classes weigh half."""
    import numpy as np

    n = len(y)
    spam, ham = given[y > 0].sum(), given[y <= 0].sum()
    if not options.balance_classes or spam == 0 or ham == 0:
        return given * (n / given.sum())
    return np.where(y > 0, given * n / (2 * spam), given * n / (2 * ham))


def _stratified_folds(y: Any, k: int) -> list[Any]:
    import numpy as np

    folds: list[list[int]] = [[] for _ in range(k)]
    for label in (0.0, 1.0):
        members = sorted(np.flatnonzero(y == label).tolist(), key=lambda i: _mix64(i))
        for j, i in enumerate(members):
            folds[j % k].append(i)
    return [np.array(sorted(f), dtype=int) for f in folds]


def _mix64(i: int) -> int:
    z = (i + 1) * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def _train(
    x: _Matrix, y: Any, sw: Any, center: Any, bias0: float, options: TrainingOptions
) -> tuple[Any, float]:
    """Logistic regression on features rescaled by their naive-Bayes log-count ratio (NBSVM, Wang &
    Manning 2012), returned as weights on the original features, plus ``nb_weight`` times the ratio.

    Rescaling feature k by s_k is the same as dividing its L2 penalty by s_k²: words that tell the
    classes apart are shrunk less, words common to both are shrunk more. The ratio added on top moves the
    scores of comments whose evidence the regression had credited to a few features (a spam word it
    learned through another, correlated one still counts); the calibration that follows rescales the sum.
    """
    import numpy as np

    if options.nb_smoothing <= 0:
        return _logistic(x, y, sw, center, bias0, options)  # no naive-Bayes part either
    alpha = options.nb_smoothing
    present = (x.data > 0) * sw[x.row_of]  # weighted document counts
    spam_rows = y[x.row_of] > 0
    in_spam = np.bincount(x.cols, weights=present * spam_rows, minlength=x.ncols)
    in_ham = np.bincount(x.cols, weights=present * ~spam_rows, minlength=x.ncols)
    n_spam, n_ham = float(sw[y > 0].sum()), float(sw[y <= 0].sum())
    ratio = np.log((in_spam + alpha) / (n_spam + 2 * alpha)) - np.log((in_ham + alpha) / (n_ham + 2 * alpha))
    scale = np.maximum(np.abs(ratio), options.nb_floor)
    scaled = _Matrix(x.indptr, x.cols, x.data * scale[x.cols], x.ncols, x.local, x.columns)
    u, bias = _logistic(scaled, y, sw, center / scale, bias0, options)
    return u * scale + options.nb_weight * ratio, bias


def _logistic(
    x: _Matrix, y: Any, sw: Any, center: Any, bias0: float, options: TrainingOptions
) -> tuple[Any, float]:
    """Weighted logistic regression with an L2 pull toward ``center`` (bias free), by L-BFGS."""
    import numpy as np

    total = sw.sum()
    lam = options.l2

    def loss_grad(theta: Any) -> tuple[float, Any]:
        w, b = theta[:-1], theta[-1]
        z = x.dot(w) + b
        # log(1 + e^z) − y·z, computed stably
        loss = np.sum(sw * (np.logaddexp(0.0, z) - y * z)) / total
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        r = sw * (p - y) / total
        diff = w - center
        grad = np.empty_like(theta)
        grad[:-1] = x.tdot(r) + lam * diff
        grad[-1] = r.sum()
        return loss + 0.5 * lam * float(diff @ diff), grad

    theta = np.concatenate([center, [bias0]])
    theta = _lbfgs(loss_grad, theta, options.max_iterations)
    return theta[:-1], float(theta[-1])


def _lbfgs(fun: Any, x: Any, iterations: int, memory: int = 10, tolerance: float = 1e-7) -> Any:
    import numpy as np

    f, g = fun(x)
    s_hist: list[Any] = []
    y_hist: list[Any] = []
    for _ in range(iterations):
        # two-loop recursion for the search direction
        q = g.copy()
        alphas = []
        for s, yv in zip(reversed(s_hist), reversed(y_hist), strict=True):
            rho = 1.0 / float(yv @ s)
            a = rho * float(s @ q)
            alphas.append((rho, a))
            q -= a * yv
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        for (s, yv), (rho, a) in zip(zip(s_hist, y_hist, strict=True), reversed(alphas), strict=True):
            q += s * (a - rho * float(yv @ q))
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction, slope = -g, -float(g @ g)
        step = 1.0 if s_hist else 1.0 / max(1.0, float(np.sqrt(g @ g)))
        while True:
            x_new = x + step * direction
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = x_new - x, g_new - g
        if float(s @ yv) > 1e-12:
            s_hist.append(s)
            y_hist.append(yv)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        done = f - f_new <= tolerance * max(abs(f), 1.0)
        x, f, g = x_new, f_new, g_new
        if done or float(np.max(np.abs(g))) < 1e-6:
            break
    return x


def _platt(scores: Any, y: Any, sw: Any) -> tuple[float, float]:
    """Fit log-odds = a·score + b to out-of-fold scores by Newton's method (Platt 1999, with his
    target smoothing so that a perfectly separated training set does not give an infinite slope)."""
    import numpy as np

    pos, neg = sw[y > 0].sum(), sw[y <= 0].sum()
    target = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))

    def objective(a: float, b: float) -> float:
        z = a * scores + b
        return float(np.sum(sw * (np.logaddexp(0.0, z) - target * z)))

    a, b = 1.0, 0.0
    current = objective(a, b)
    for _ in range(100):
        z = a * scores + b
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        r = sw * (p - target)
        h = sw * p * (1 - p) + 1e-12
        grad = np.array([r @ scores, r.sum()])
        hess = np.array([[h @ (scores * scores), h @ scores], [h @ scores, h.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-8:  # damped Newton (Lin, Lin & Weng 2007): never accept a step that does worse
            trial = objective(a - size * step[0], b - size * step[1])
            if trial <= current + 1e-4 * size * float(grad @ -step):
                break
            size /= 2
        a, b = a - size * step[0], b - size * step[1]
        current = objective(a, b)
        if np.max(np.abs(size * step)) < 1e-9:
            break
    return float(a), float(b)
