"""Measuring the classifier: metrics by the pipeline's rule, folds without duplicates across them, the
leave-one-corpus-out and stream protocols, the corpus reader's leak fixes, and the ``spam`` commands."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.cli.spam import DECIDE_CHOICES, add_parser, main
from rejoinder.corpora import CorpusError, CorpusItem, deduplicate, half, read_corpus, sample
from rejoinder.evaluation import (
    Decide,
    Outcome,
    baseline_learner,
    best_threshold,
    cross_validate,
    default_judge,
    leave_one_corpus_out,
    metrics,
    roc_auc,
    stratified_folds,
    stream,
    taught_judge,
    taught_learner,
    train_model,
)
from rejoinder.spam.model import Model
from rejoinder.spam.verdict import Action, Thresholds, Verdict, combine
from tests.blog_patterns import BLOG_SPAM

SHARED = Path(__file__).parents[1].parent / "shared"
CORPORA = SHARED / "corpora"
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora are not at {CORPORA}")

REQUIRED_KEYS = {"precision", "recall", "f1", "fpr", "auc", "mcc", "ms_per_comment", "caught", "ham_held"}


def verdict(action: Action, score: float = 0.5) -> Verdict:
    return Verdict(action, score, ())


def synthetic(n: int = 40, corpus: str = "synthetic", seed: int = 1) -> list[CorpusItem]:
    """Comments from two disjoint vocabularies with some shared words, so a classifier can learn them."""
    rng = random.Random(seed)
    spam_words = ["win", "free", "prize", "click", "channel", "subscribe", "cash", "offer", "bonus", "crypto"]
    ham_words = ["song", "love", "article", "agree", "think", "read", "today", "nice", "idea", "question"]
    shared = ["the", "a", "this", "is", "my", "you", "and", "for"]
    items = []
    for i in range(n):
        spam = i % 2 == 0
        words = rng.sample(spam_words if spam else ham_words, 3) + rng.sample(shared, 2)
        rng.shuffle(words)
        items.append(CorpusItem(f"{corpus}:{i}", " ".join(words), spam, corpus))
    return items


def write_jsonl(path: Path, items: list[CorpusItem]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": i.text, "label": "spam" if i.is_spam else "ham"}) + "\n" for i in items)
    )
    return path


# -- metrics


def test_metrics_follow_the_pipeline_rule_spam_and_discard_flag_holds_catch() -> None:
    outcomes = [
        Outcome(True, verdict(Action.DISCARD, 0.999)),
        Outcome(True, verdict(Action.SPAM, 0.95)),
        Outcome(True, verdict(Action.HOLD, 0.6)),
        Outcome(True, verdict(Action.PUBLISH, 0.2)),
        Outcome(False, verdict(Action.SPAM, 0.92)),
        Outcome(False, verdict(Action.HOLD, 0.55)),
        Outcome(False, verdict(Action.PUBLISH, 0.1)),
        Outcome(False, verdict(Action.PUBLISH, 0.05)),
    ]
    m = metrics(outcomes)
    assert (m.true_positives, m.false_positives) == (2, 1)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(0.5)
    assert m.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert m.fpr == pytest.approx(0.25)
    assert m.caught == pytest.approx(0.75)
    assert m.ham_held_share == pytest.approx(0.25)
    assert m.mcc == pytest.approx((2 * 3 - 1 * 2) / math.sqrt(3 * 4 * 4 * 5))
    assert m.auc == pytest.approx(13 / 16)
    assert set(m.as_dict()) >= REQUIRED_KEYS


def test_the_default_judge_is_combine_with_the_default_thresholds() -> None:
    item = CorpusItem("x:1", "win a free prize", True, "x")
    model = Model.empty()
    assert default_judge(item, model) == combine(0.0, [], Thresholds())


@given(st.lists(st.tuples(st.floats(-50, 50), st.booleans()), min_size=2, max_size=60))
@settings(max_examples=200, deadline=None)
def test_auc_is_a_probability_and_mirrors_when_scores_are_negated(pairs: list[tuple[float, bool]]) -> None:
    scores = [s for s, _ in pairs]
    labels = [label for _, label in pairs]
    auc = roc_auc(scores, labels)
    if all(labels) or not any(labels):
        assert math.isnan(auc)
        return
    assert 0.0 <= auc <= 1.0
    assert auc + roc_auc([-s for s in scores], labels) == pytest.approx(1.0)


def test_auc_of_a_perfect_ranking_is_one() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert roc_auc([0.5, 0.5], [False, True]) == 0.5


# -- folds


@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=5, max_size=80), st.integers(2, 5))
@settings(max_examples=150, deadline=None)
def test_folds_cover_every_comment_once_and_keep_duplicates_together(
    rows: list[tuple[int, bool]], k: int
) -> None:
    # texts repeat (the same integer), as spam campaigns do; a repeated text keeps its first label
    first_label: dict[int, bool] = {}
    items = [
        CorpusItem(f"c:{i}", f"text {t}", first_label.setdefault(t, spam), "c")
        for i, (t, spam) in enumerate(rows)
    ]
    folds = stratified_folds(items, k)
    assert sorted(i for fold in folds for i in fold) == list(range(len(items)))
    fold_of = {i: n for n, fold in enumerate(folds) for i in fold}
    for i, a in enumerate(items):
        for j, b in enumerate(items):
            if a.text == b.text:
                assert fold_of[i] == fold_of[j]


def test_split_duplicates_deals_copies_out_like_any_comment() -> None:
    items = [CorpusItem(f"c:{i}", "the same campaign text", i % 2 == 0, "c") for i in range(20)]
    grouped = stratified_folds(items, 4)
    assert sorted(len(fold) for fold in grouped) == [0, 0, 0, 20]  # one group: one fold
    split = stratified_folds(items, 4, split_duplicates=True)
    assert sorted(i for fold in split for i in fold) == list(range(20))
    for fold in split:
        spam = sum(items[i].is_spam for i in fold)
        assert spam in (2, 3) and len(fold) - spam in (2, 3)


def test_folds_are_stratified() -> None:
    items = synthetic(100)
    for fold in stratified_folds(items, 5):
        assert sum(items[i].is_spam for i in fold) == 10
        assert len(fold) == 20


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60))
@settings(max_examples=150, deadline=None)
def test_the_best_threshold_is_the_best_f1_among_thresholds_within_the_fpr_limit(
    rows: list[tuple[float, bool]],
) -> None:
    scores, labels = [s for s, _ in rows], [y for _, y in rows]
    f1, fpr, threshold = best_threshold(scores, labels, max_fpr=0.1)
    positives, negatives = sum(labels), len(labels) - sum(labels)
    brute = 0.0
    for t in set(scores):
        tp = sum(1 for s, y in rows if y and s >= t)
        fp = sum(1 for s, y in rows if not y and s >= t)
        if (fp / negatives if negatives else 0.0) <= 0.1 and positives:
            brute = max(brute, 2 * tp / (tp + fp + positives))
    assert f1 == pytest.approx(brute)
    if f1:
        assert fpr <= 0.1 and threshold in scores


# -- protocols


def test_cross_validation_trains_from_scratch_and_pools_the_folds() -> None:
    items = synthetic(60)
    result = cross_validate(items, folds=3)
    assert result.metrics.n == 60 and len(result.folds) == 3
    assert result.metrics.auc > 0.9
    assert result.metrics.ms_per_comment > 0


def test_cross_validation_drops_duplicates_unless_asked_to_keep_them() -> None:
    items = synthetic(30) + synthetic(30)[:10]  # ten copies of earlier comments
    items = [CorpusItem(f"d:{n}", i.text, i.is_spam, "synthetic") for n, i in enumerate(items)]
    assert cross_validate(items, folds=3).metrics.n == 30
    assert cross_validate(items, folds=3, dedup=False).metrics.n == 40


def test_the_baseline_can_be_judged_by_either_rule() -> None:
    items = synthetic(60)
    strict = cross_validate(items, folds=3, learner=baseline_learner()).metrics
    lenient = cross_validate(items, folds=3, learner=baseline_learner(Thresholds(spam=0.5))).metrics
    assert lenient.recall >= strict.recall
    assert lenient.auc == pytest.approx(strict.auc)


def test_a_custom_judge_replaces_the_classifier_alone() -> None:
    def always_spam(item: CorpusItem, model: Model) -> Verdict:
        return combine(10.0, [], Thresholds())

    m = cross_validate(synthetic(20), folds=2, judge=always_spam).metrics
    assert m.recall == 1.0 and m.fpr == 1.0


def test_training_records_the_spam_threshold_its_out_of_fold_scores_call_for() -> None:
    thresholds: list[float] = []
    cross_validate(synthetic(60), folds=3, learner=taught_learner(thresholds))
    assert thresholds == [Thresholds.spam] * 3  # 20 of each kind per training set: too few to learn from
    model = train_model(synthetic(240))
    assert Thresholds.hold <= model.meta["spam_threshold"] <= Thresholds.discard


def test_the_taught_judge_uses_the_models_threshold_and_the_default_without_one() -> None:
    item = synthetic(2)[0]
    unsure = Model.empty()  # log-odds 0: p = 0.5
    assert taught_judge(item, unsure).action is Action.HOLD
    assert taught_judge(item, Model(meta={"spam_threshold": 0.5})).action is Action.SPAM


def test_leave_one_corpus_out_only_leaves_out_corpora_with_spam() -> None:
    corpora = {
        "a": synthetic(30, "a", seed=1),
        "b": synthetic(30, "b", seed=2),
        "ham-only": [i for i in synthetic(30, "ham-only", seed=3) if not i.is_spam],
    }
    results = leave_one_corpus_out(corpora)
    assert set(results) == {"a", "b"}
    assert results["a"]["classifier"].n == 30


def test_a_stream_judges_each_comment_before_learning_it() -> None:
    items = synthetic(40)
    result = stream(items)
    assert result.prequential.n == 40 and result.tail.n == 8
    first = default_judge(items[0], Model.empty())
    assert first.action == Action.HOLD  # an empty model is unsure of the first comment
    assert result.model.deltas  # and then learned
    assert result.prequential.auc > 0.7


# -- corpora


def test_corpus_lines_need_text_and_a_known_label(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "label": "spam"}\n{"text": "x", "label": "maybe"}\n')
    with pytest.raises(CorpusError, match="bad.jsonl:2"):
        read_corpus(bad)


def test_known_label_leaks_are_removed_on_reading(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    rows = [
        {"id": "ig-reported:1", "text": "BUY $RET Token NOW", "label": "spam"},
        {"id": "sms:7", "text": "I'll be there in &lt;#&gt; mins", "label": "ham"},
        {"id": "Eminem:3", "text": "love it\ufeff  ", "label": "ham", "date": "2015-01-01", "author": "A"},
        {"id": "davidson:9", "text": "RT @someone: you are trash http://t.co/abc", "label": "abusive"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = read_corpus(path)
    assert [i.text for i in items] == [
        "buy $ret token now",
        "I'll be there in  mins",
        "love it",
        "you are trash",
    ]
    assert [i.is_spam for i in items] == [True, False, False, False]  # rude is not spam
    assert items[2].author == "A" and not hasattr(items[2], "date")


def test_deduplication_folds_case_and_space_and_keeps_the_first() -> None:
    items = [
        CorpusItem("c:1", "Check  my channel", True, "c"),
        CorpusItem("c:2", "check my CHANNEL", True, "c"),
        CorpusItem("d:1", "check my channel", True, "d"),  # another corpus: kept
    ]
    assert [i.id for i in deduplicate(items)] == ["c:1", "d:1"]


def test_samples_are_deterministic_and_in_corpus_order() -> None:
    items = synthetic(50)
    chosen = sample(items, 10, seed=3)
    assert chosen == sample(items, 10, seed=3) and len(chosen) == 10
    assert [items.index(i) for i in chosen] == sorted(items.index(i) for i in chosen)


@needs_corpora
@pytest.mark.parametrize(
    ("name", "unique", "spam"),
    [
        ("youtube-spam-collection", 1722, 833),
        ("instagram-scamspot", 3269, 1146),
        ("sms-spam-collection", 5158, 642),
    ],
)
def test_the_shared_corpora_deduplicate_as_their_readmes_count(name: str, unique: int, spam: int) -> None:
    # SMS: the README counts 5,159; removing the "&lt;#&gt;" placeholders makes one more pair identical.
    items = deduplicate(read_corpus(CORPORA / name / f"{name}.jsonl"))
    assert (len(items), sum(i.is_spam for i in items)) == (unique, spam)


# -- commands


def test_eval_prints_one_json_object_with_the_reported_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", synthetic(40))
    assert main(["spam", "eval", "--corpus", str(corpus), "--folds", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= REQUIRED_KEYS
    assert report["n"] == 40
    assert report["spam_thresholds"] == [0.9] * 3
    assert main(["spam", "eval", "--corpus", str(corpus), "--folds", "3", "--fixed-threshold", "--json"]) == 0
    fixed = json.loads(capsys.readouterr().out)
    assert "spam_thresholds" not in fixed and fixed["mode"].endswith("spam at p ≥ 0.9")


def test_eval_judges_with_a_trained_prior_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", synthetic(40))
    prior = tmp_path / "prior.bin.gz"
    assert main(["spam", "train", "--corpus", str(corpus), "--out", str(prior)]) == 0
    capsys.readouterr()
    assert main(["spam", "eval", "--corpus", str(corpus), "--model", str(prior)]) == 0
    out = capsys.readouterr().out
    assert "f1=" in out and "ham_held=" in out


def test_every_signal_keeps_spam_from_readers_that_the_text_alone_publishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fake support line and a keyword anchor: ordinary words to the prior, blog-spam shapes to the signals.
    spam = [BLOG_SPAM[2][0], BLOG_SPAM[7][0]]
    assert "reservations number" in spam[0] and "payday loans" in spam[1]
    corpus = write_jsonl(
        tmp_path / "c.jsonl", [CorpusItem(f"t:{n}", t, True, "c") for n, t in enumerate(spam)]
    )
    reports = []
    for extra in ([], ["--every-signal"]):
        assert main(["spam", "eval", "--corpus", str(corpus), "--model", "shipped", "--json", *extra]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    alone, every = reports
    assert alone["caught"] == 0 and every["true_positives"] == 2
    assert every["mode"] == "model shipped, every store-free signal"


def test_commands_report_bad_input_with_an_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["spam", "eval", "--corpus", str(missing)]) == 2
    only_ham = write_jsonl(tmp_path / "ham.jsonl", [i for i in synthetic(10) if not i.is_spam])
    assert main(["spam", "train", "--corpus", str(only_ham), "--out", str(tmp_path / "x")]) == 2
    assert "rejoinder spam:" in capsys.readouterr().err


def test_the_spam_parser_plugs_into_a_cli() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="rejoinder")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["spam", "eval", "--corpus", "x.jsonl", "--stream", "--json"])
    assert args.stream and args.json and callable(args.func)


def test_the_stream_can_be_decided_in_every_way_the_evaluation_knows() -> None:
    # The parser spells the choices out, so that building it does not import the evaluation.
    assert tuple(decide.value for decide in Decide) == DECIDE_CHOICES


def test_a_corpus_splits_into_two_fixed_halves_that_share_nothing() -> None:
    items = [CorpusItem(f"c:{n}", f"text {n}", n % 3 == 0, "c") for n in range(200)]
    first, second = half(items, 1), half(items, 2)
    assert len(first) + len(second) == 200 and 60 < len(first) < 140
    assert not {i.id for i in first} & {i.id for i in second}
    assert half(list(reversed(items)), 1) == list(reversed(first))  # by id, not by position


def test_eval_measures_a_spam_only_corpus_against_an_exports_readers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readers = ("Thanks, the partial index cut our query from 8 s to 40 ms.", "Which version added this?")
    wxr = tmp_path / "blog.xml"
    comments = "".join(
        f"<wp:comment><wp:comment_id>{n}</wp:comment_id><wp:comment_author>Reader {n}</wp:comment_author>"
        f"<wp:comment_date_gmt>2020-01-0{n} 03:04:05</wp:comment_date_gmt>"
        f"<wp:comment_content><![CDATA[{text}]]></wp:comment_content>"
        f"<wp:comment_approved>{approved}</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>"
        "</wp:comment>"
        for n, (text, approved) in enumerate(
            [(readers[0], "1"), (readers[1], "1"), ("cheap pills", "spam")], 1
        )
    )
    wxr.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:wp="http://wordpress.org/export/1.2/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>A blog</title>'
        "<wp:base_blog_url>https://blog.example</wp:base_blog_url><item><title>Partial indexes</title>"
        f"<link>https://blog.example/p/</link><wp:post_id>7</wp:post_id>{comments}</item></channel></rss>",
        encoding="utf-8",
    )
    spam = [BLOG_SPAM[2][0], BLOG_SPAM[7][0]]
    corpus = write_jsonl(
        tmp_path / "c.jsonl", [CorpusItem(f"t:{n}", t, True, "c") for n, t in enumerate(spam)]
    )
    base = ["spam", "eval", "--corpus", str(corpus), "--model", "shipped", "--json"]
    assert main([*base, "--every-signal", "--ham-export", f"wordpress:{wxr}"]) == 0
    report = json.loads(capsys.readouterr().out)
    # the two published comments join as ham; the export's own spam does not
    assert (report["n"], report["spam"], report["ham"]) == (4, 2, 2)
    assert report["auc"] == 1.0 and report["fpr"] == 0.0
    assert report["mode"].endswith("with the published comments of 1 exports as ham")
    assert main([*base, "--ham-export", f"wordpress:{wxr}"]) == 2  # the classifier alone never saw a page
    assert main([*base, "--every-signal", "--ham-export", str(wxr)]) == 2  # no format given
