"""The ``rejoinder spam fetch``, ``train``, ``eval`` and ``purge`` commands: bring a pinned outside corpus
into a cache, build the shipped prior from labelled corpora, measure the text classifier
(cross-validation, the shipped prior, online learning, leave-one-corpus-out) with the same decision rule
as the pipeline, and delete spam kept past its retention period."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rejoinder.spam
from rejoinder.cli.options import opened, store_options
from rejoinder.corpus_sources import SOURCES, SourceError, default_cache, describe, fetch, source
from rejoinder.spam.model import PRIOR_FILE, Model
from rejoinder.spam.verdict import Thresholds

if TYPE_CHECKING:
    from rejoinder.evaluation import Metrics, Outcome

# The corpora and the evaluation are imported by the commands that use them: every ``rejoinder`` command
# builds this parser, ``serve`` too, and a server would hold them for its whole life.
DECIDE_CHOICES = ("all", "held", "spam")  # evaluation.Decide's values


def default_prior_cache() -> Path:
    """Beside the corpus cache: held-out priors are built from corpora and as costly to rebuild."""
    return default_cache().with_name("priors")


def shipped_prior_path() -> Path:
    """Where the shipped prior lives in the source tree (the default output of ``spam train``)."""
    return Path(rejoinder.spam.__file__).with_name("data") / PRIOR_FILE


REPORTED = ("precision", "recall", "f1", "fpr", "auc", "mcc", "ms_per_comment", "caught", "ham_held")


def add_parser(subparsers: Any) -> Any:
    """Add ``spam fetch``, ``train``, ``eval`` and ``purge`` to an argparse subparsers object; return the
    ``spam`` one."""
    spam = subparsers.add_parser(
        "spam", help="the spam text classifier: fetch corpora, train, evaluate; purge old spam"
    )
    commands = spam.add_subparsers(dest="spam_command", required=True)

    fetch_ = commands.add_parser(
        "fetch",
        help="bring a pinned outside corpus into a cache directory as NAME.jsonl",
        description="Download the files of a corpus published outside the repository (or copy them from "
        "a directory that holds them), refuse any whose sha256 is not the pinned one, and write "
        "NAME.jsonl for spam train and spam eval --corpus.",
    )
    fetch_.add_argument("name", nargs="?", choices=sorted(SOURCES), help="the corpus to fetch")
    fetch_.add_argument(
        "--cache",
        type=Path,
        default=None,
        help=f"where the files and NAME.jsonl go (default: {default_cache()})",
    )
    fetch_.add_argument(
        "--from",
        dest="local",
        type=Path,
        metavar="DIR",
        help="take the files from DIR instead of downloading",
    )
    fetch_.add_argument(
        "--list", action="store_true", help="describe every known source, its licence and pins"
    )
    fetch_.set_defaults(func=cmd_fetch)

    train = commands.add_parser(
        "train",
        help="train a prior on labelled corpora (JSONL)",
        description="Train the text classifier's prior from scratch on labelled JSONL corpora "
        "(deduplicated, leaks removed, every corpus weighing the same). Deterministic: the same "
        "corpora give the same file, byte for byte.",
    )
    _corpus_option(train, required=True)
    train.add_argument(
        "--out", type=Path, default=None, help=f"where to write the prior (default: {shipped_prior_path()})"
    )
    train.set_defaults(func=cmd_train)

    evaluate_ = commands.add_parser(
        "eval",
        help="measure the classifier on labelled corpora",
        description="Measure the text classifier: by default stratified k-fold cross-validation from "
        "scratch on the deduplicated corpus, each fold judged at the spam threshold its training folds' "
        "decisions call for, as a site learns one from its moderators. A comment counts as flagged when "
        "its verdict is spam or discard, as in the pipeline.",
    )
    _corpus_option(evaluate_, required=False)
    mode = evaluate_.add_mutually_exclusive_group()
    mode.add_argument("--folds", type=int, default=5, help="k of k-fold cross-validation (default 5)")
    mode.add_argument("--model", metavar="shipped|FILE", help="judge the corpus with a trained prior")
    mode.add_argument(
        "--stream",
        action="store_true",
        help="online learning: judge each comment, then learn its label (prequential), and compare "
        "the streamed model with batch training under the same cross-validation",
    )
    mode.add_argument(
        "--export",
        type=Path,
        metavar="FILE",
        help="judge the comments of an export file (see --format) with every signal a fresh site has: "
        "published ones as ham, spam as spam; reports the share flagged and held",
    )
    mode.add_argument(
        "--safety",
        action="store_true",
        help="learning safety from the shipped prior: the FPR on the corpus's untaught ham after 10 "
        "spam-only decisions, and F1 on the rest after 50 mixed ones (5 shuffles); with --prior-corpora "
        "also from the prior built by the same recipe without the evaluated corpus",
    )
    mode.add_argument(
        "--leave-one-out",
        nargs="+",
        metavar="DIR_OR_FILE",
        help="leave-one-corpus-out over these corpora (corpora without spam are only trained on)",
    )
    duplicates = evaluate_.add_mutually_exclusive_group()
    duplicates.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="keep repeated texts (each group of copies stays in one fold) instead of dropping them",
    )
    duplicates.add_argument(
        "--split-duplicates",
        action="store_true",
        help="keep repeated texts and deal them out like any comment, as plain stratified k-fold does "
        "(copies of a test comment may be trained on)",
    )
    evaluate_.add_argument(
        "--seed", type=int, default=0, help="seed of the shuffle that assigns comments to folds (default 0)"
    )
    evaluate_.add_argument(
        "--fixed-threshold",
        action="store_true",
        help="cross-validation: send to spam at p ≥ 0.9, as a fresh site does, instead of at the threshold "
        "the training folds' decisions call for, as a site whose moderators decided them does",
    )
    evaluate_.add_argument(
        "--baseline", action="store_true", help="also measure the TF-IDF + logistic regression baseline"
    )
    evaluate_.add_argument(
        "--shuffle",
        type=int,
        metavar="SEED",
        help="with --stream: feed the comments in a seeded random order instead of the corpus order",
    )
    evaluate_.add_argument(
        "--from-prior",
        action="store_true",
        help="with --stream: start from the shipped prior, as a fresh install does, and send to spam from "
        "the threshold the decisions call for once there are enough (instead of an empty model at p ≥ 0.9)",
    )
    evaluate_.add_argument(
        "--decide",
        choices=DECIDE_CHOICES,
        default="all",
        help="with --stream: which comments moderators decide: all (default), held (only what they see: "
        "held or sent to spam), spam (one-sided: only the spam they see)",
    )
    evaluate_.add_argument(
        "--weak-ham-after",
        type=int,
        metavar="N",
        help="with --stream: a published comment becomes weak ham N comments later, whatever its label "
        "(the stream's stand-in for standing unreported for days)",
    )
    evaluate_.add_argument(
        "--prior-corpora",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR_OR_FILE",
        help="with --safety: the corpora the shipped prior is trained on; the protocol is run again from "
        "a prior trained on them by the same recipe without the evaluated corpus (held out), as a site's "
        "own comments never were in the prior",
    )
    evaluate_.add_argument(
        "--prior-cache",
        type=Path,
        default=None,
        help=f"with --prior-corpora: where held-out priors are kept (default: {default_prior_cache()})",
    )
    evaluate_.add_argument(
        "--format",
        default="wordpress",
        help="with --export: the file's format, as for rejoinder import (wordpress, disqus, isso, remark42)",
    )
    evaluate_.add_argument(
        "--classifier-only",
        action="store_true",
        help="with --export: judge by the text classifier alone, to compare with every signal",
    )
    evaluate_.add_argument(
        "--every-signal",
        action="store_true",
        help="with --model: judge with every signal a fresh site has without a store (links, lists, "
        "blog-spam, relevance), not the text classifier alone",
    )
    evaluate_.add_argument(
        "--half",
        type=int,
        choices=(1, 2),
        help="with --model: judge one fixed half of the corpus (by a hash of each comment's id), so that "
        "rules tuned by reading one half are measured on the other",
    )
    evaluate_.add_argument(
        "--ham-export",
        action="append",
        default=[],
        metavar="FORMAT:FILE",
        help="with --model and --every-signal: add an export's published comments, each judged under its "
        "thread's title, as ham beside the corpus (e.g. wordpress:blog.xml; repeatable): a spam-only corpus "
        "then gets an AUC, FPR and held share against real readers",
    )
    evaluate_.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate_.set_defaults(func=cmd_eval)

    purge = commands.add_parser(
        "purge", help="delete spam kept past its retention period (the server does it hourly)"
    )
    store_options(purge)
    purge.set_defaults(run=cmd_purge)
    return commands


def _corpus_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--corpus",
        action="append",
        type=Path,
        default=[],
        required=required,
        metavar="FILE.jsonl",
        help="a labelled corpus: JSON lines with text and label spam/ham (repeatable)",
    )


def cmd_fetch(args: argparse.Namespace) -> int:
    from rejoinder.corpora import CorpusError, read_corpus

    if args.list or not args.name:
        _print("\n\n".join(describe(s) for s in SOURCES.values()))
        return 0
    try:
        out = fetch(source(args.name), args.cache or default_cache(), local=args.local)
        count = len(read_corpus(out))
    except (SourceError, CorpusError, OSError) as exc:
        return _fail(exc)
    _print(f"{args.name}: {count} labelled comments in {out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from rejoinder.corpora import CorpusError
    from rejoinder.prior_recipe import prior_file

    out: Path = args.out or shipped_prior_path()
    try:
        data = prior_file(args.corpus)
    except (OSError, CorpusError) as exc:
        return _fail(exc)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    meta = Model.from_bytes(data).meta
    _print(
        f"trained on {meta['examples']} comments ({meta['spam']} spam) "
        f"from {len(args.corpus)} corpora; wrote {out} ({out.stat().st_size:,} bytes)"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rejoinder.corpora import CorpusError, deduplicate, half, read_corpora
    from rejoinder.evaluation import judge_all, metrics, predictor, signals_judge

    try:
        if args.leave_one_out:
            return _leave_one_out(args)
        if args.export:
            return _export(args)
        if not args.corpus:
            return _fail("give --corpus FILE.jsonl (or --leave-one-out)")
        items = read_corpora(args.corpus)
        if args.model:
            if args.model == "shipped":
                model = Model.shipped()
            else:
                model = Model.from_bytes(Path(args.model).read_bytes())
            judge = signals_judge if args.every_signal else None
            pool = deduplicate(items) if args.half is None else half(deduplicate(items), args.half)
            outcomes = judge_all(pool, predictor(model, judge))
            if args.ham_export:
                if not args.every_signal:
                    return _fail("--ham-export needs --every-signal: exports are judged by every signal")
                outcomes += _export_ham(args.ham_export, model)
            report: dict[str, Any] = _metrics(metrics(outcomes))
            how = ", every store-free signal" if args.every_signal else ""
            part = f", half {args.half}" if args.half else ""
            ham = (
                f", with the published comments of {len(args.ham_export)} exports as ham"
                if args.ham_export
                else ""
            )
            report["mode"] = f"model {args.model}{how}{part}{ham}"
        elif args.stream:
            report = _stream(args, items)
        elif args.safety:
            report = _safety(args, items)
        else:
            report = _cross_validation(args, items)
    except (OSError, CorpusError, ValueError) as exc:
        return _fail(exc)
    report["corpus"] = [str(p) for p in args.corpus]
    _emit(report, args.json)
    return 0


def cmd_purge(args: argparse.Namespace) -> None:
    from rejoinder.retention import purge

    with opened(args) as ctx:
        removed = purge(ctx)
        _print(f"purged {removed.comments} spam comments and {removed.tokens} used tokens")


def _cross_validation(args: argparse.Namespace, items: Sequence[Any]) -> dict[str, Any]:
    from rejoinder.evaluation import baseline_learner, cross_validate, model_learner, taught_learner

    if args.folds < 2:
        raise ValueError("--folds must be at least 2")
    dedup = not (args.keep_duplicates or args.split_duplicates)
    protocol = {
        "folds": args.folds,
        "seed": args.seed,
        "dedup": dedup,
        "split_duplicates": args.split_duplicates,
    }
    thresholds: list[float] = []
    learner = model_learner() if args.fixed_threshold else taught_learner(thresholds)
    report = _metrics(cross_validate(items, **protocol, learner=learner).metrics)
    kept = " (duplicates split across folds)" if args.split_duplicates else " (duplicates kept in one fold)"
    report["mode"] = f"{args.folds}-fold cross-validation" + ("" if dedup else kept)
    if args.fixed_threshold:
        report["mode"] += ", spam at p ≥ 0.9"
    else:
        report["mode"] += ", spam threshold learned from each training set's decisions"
        report["spam_thresholds"] = [round(t, 4) for t in thresholds]
    if args.baseline:
        report["baseline"] = {
            "pipeline_rule": _metrics(cross_validate(items, **protocol, learner=baseline_learner()).metrics),
            "p_0_5": _metrics(
                cross_validate(items, **protocol, learner=baseline_learner(Thresholds(spam=0.5))).metrics
            ),
        }
    return report


def _stream(args: argparse.Namespace, items: Sequence[Any]) -> dict[str, Any]:
    from rejoinder.corpora import deduplicate, shuffled
    from rejoinder.evaluation import Decide, cross_validate, model_learner, stream, stream_learner

    pool = deduplicate(items)
    order = "corpus order"
    if args.shuffle is not None:
        pool = shuffled(pool, args.shuffle)
        order = f"shuffled with seed {args.shuffle}"
    decide = Decide(args.decide)
    start = Model.shipped().with_site({}) if args.from_prior else None
    result = stream(
        pool, model=start, decide=decide, learn_threshold=args.from_prior, weak_ham_after=args.weak_ham_after
    )
    report = _metrics(result.prequential)
    origin = "from the shipped prior, learned threshold" if args.from_prior else "from an empty model"
    weak = f", weak ham after {args.weak_ham_after}" if args.weak_ham_after is not None else ""
    decided = f"moderators decide {decide.value}{weak}"
    report["mode"] = f"stream ({origin}, {decided}; judged before learning, {order})"
    report["decisions"] = result.decisions
    report["tail"] = _metrics(result.tail)
    report["tail_share"] = result.tail_share
    batch = cross_validate(pool, folds=args.folds, learner=model_learner()).metrics
    report["batch_cv"] = _metrics(batch)
    if args.from_prior or decide is not Decide.ALL:
        # A site that starts from the prior or sees only some labels has no streamed-CV twin: its gap to
        # batch training is the prequential F1's.
        report["batch_gap"] = batch.f1 - result.prequential.f1
        return report
    streamed = cross_validate(pool, folds=args.folds, learner=stream_learner()).metrics
    report["streamed_cv"] = _metrics(streamed)
    report["streamed_cv_f1_gap"] = batch.f1 - streamed.f1
    return report


def _export(args: argparse.Namespace) -> int:
    from rejoinder.evaluation import judge_export, metrics
    from rejoinder.importers.service import FORMATS

    chosen = FORMATS.get(args.format)
    if chosen is None:
        return _fail(f"--format must be one of {', '.join(FORMATS)}")
    records = chosen.parse(args.export, chosen.tolerant)
    judged = judge_export(records, Model.shipped(), classifier_only=args.classifier_only)
    report = _metrics(metrics(judged.outcomes))
    how = "the text classifier alone" if args.classifier_only else "every store-free signal"
    report["mode"] = f"export {args.export.name} ({args.format}), {how}, as a fresh site"
    report["skipped"] = judged.skipped
    report["ham_reasons"] = dict(judged.reasons.most_common(10))
    report["corpus"] = [str(args.export)]
    if args.json:
        _print(json.dumps(report, sort_keys=True))
        return 0
    ham = report["ham"]
    flagged = report["false_positives"]
    held = report["ham_held_count"]
    counts = f"{report['n']} comments ({report['spam']} spam, {ham} ham; {judged.skipped} left out)"
    _print(f"{report['mode']}: {counts}")
    _print(f"  ham flagged {flagged} ({report['fpr']:.2%}), held {held} ({report['ham_held']:.2%})")
    _print(f"  median ms per comment {report['ms_per_comment']:.3f}")
    for reason, count in judged.reasons.most_common(10):
        _print(f"  ham not published, {count}×: {reason}")
    return 0


def _export_ham(exports: Sequence[str], model: Model) -> list[Outcome]:
    from rejoinder.evaluation import judge_export

    """The published comments of ``FORMAT:FILE`` exports, judged by every store-free signal, as ham."""
    from rejoinder.importers.service import FORMATS

    outcomes: list[Outcome] = []
    for spec in exports:
        name, _, file = spec.partition(":")
        chosen = FORMATS.get(name)
        if chosen is None or not file:
            raise ValueError(f"--ham-export takes FORMAT:FILE, FORMAT one of {', '.join(FORMATS)}")
        judged = judge_export(chosen.parse(Path(file), chosen.tolerant), model)
        outcomes += [o for o in judged.outcomes if not o.is_spam]
    return outcomes


def _safety(args: argparse.Namespace, items: Sequence[Any]) -> dict[str, Any]:
    from rejoinder.corpora import corpus_files, deduplicate
    from rejoinder.evaluation import learning_safety
    from rejoinder.prior_recipe import held_out_prior, trained_on

    evaluated = {item.corpus for item in items}
    shipped = Model.shipped()
    in_sample = bool(evaluated & trained_on(shipped))
    priors = {"shipped": (shipped, "in-sample" if in_sample else "held out", sorted(trained_on(shipped)))}
    if args.prior_corpora:
        cache = args.prior_cache or default_prior_cache()
        held_out, names = held_out_prior(corpus_files(args.prior_corpora), evaluated, cache)
        priors["held_out"] = (held_out, "held out", names)
    results = {}
    for name, (prior, relation, corpora) in priors.items():
        result = learning_safety(items, prior)
        results[name] = {
            "prior": relation,
            "trained_on": corpora,
            "fpr_before": result.fpr_before,
            "fpr_after": result.fpr_after,
            "median_fpr_rise": result.median_fpr_rise,
            "worst_fpr_rise": result.worst_fpr_rise,
            "ham_held_before": result.held_before,
            "ham_held_after": result.held_after,
            "f1_before": result.f1_before,
            "f1_after": result.f1_after,
            "fpr_mixed_before": result.fpr_mixed_before,
            "fpr_mixed_after": result.fpr_mixed_after,
            "worst_f1_gain": result.worst_f1_gain,
        }
    return {
        "mode": "learning safety (10 spam-only decisions; 50 mixed; 5 shuffles)",
        "n": len(deduplicate(items)),
        "safety": results,
    }


def _leave_one_out(args: argparse.Namespace) -> int:
    from rejoinder.corpora import corpus_files, read_corpus
    from rejoinder.evaluation import PRIOR_OPTIONS, baseline_learner, leave_one_corpus_out, model_learner

    corpora = {}
    for path in corpus_files(args.leave_one_out):
        items = read_corpus(path)
        corpora[items[0].corpus if items else path.stem] = items
    # "classifier": the learner itself, on every feature; "prior_recipe": as the shipped prior is trained
    # (no link, domain or author features, odds of 1:e), i.e. what a fresh install does on a new domain.
    learners = {"classifier": model_learner(), "prior_recipe": model_learner(options=PRIOR_OPTIONS)}
    if args.baseline:
        learners["baseline"] = baseline_learner()
        learners["baseline_p_0_5"] = baseline_learner(Thresholds(spam=0.5))
    results = leave_one_corpus_out(corpora, learners=learners)
    report: dict[str, Any] = {
        "mode": "leave-one-corpus-out",
        "trained_on": sorted(corpora),
        "results": {name: {k: _metrics(m) for k, m in r.items()} for name, r in results.items()},
    }
    if args.json:
        _print(json.dumps(report, sort_keys=True))
    else:
        _print("leave-one-corpus-out (train on the others, judge the one left out; deduplicated)")
        for name, rows in report["results"].items():
            for learner, m in rows.items():
                _print(f"  {name} [{learner}]: {_line(m)}")
    return 0


def _metrics(m: Metrics) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.as_dict().items()}


def _line(m: dict[str, Any]) -> str:
    best = (
        f"  (best F1 at FPR ≤ 2 %: {m['best_f1']:.4f} at FPR {m['best_f1_fpr']:.4f},"
        f" p ≥ {m['best_f1_threshold']:.3f})"
    )
    return "  ".join(f"{k}={_fmt(m[k])}" for k in REPORTED) + best


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _emit(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print(json.dumps(report, sort_keys=True))
        return
    if "safety" in report:
        _print(f"{report['mode']}: {report['n']} comments")
        for name, r in report["safety"].items():
            _print(f"  from the {name} prior ({r['prior']}; trained on {', '.join(r['trained_on']) or '?'})")
            after = ", ".join(f"{v:.4f}" for v in r["fpr_after"])
            _print(f"    FPR on untaught ham {r['fpr_before']:.4f} -> {after}")
            _print(f"    rise: median {r['median_fpr_rise']:+.4f}, worst {r['worst_fpr_rise']:+.4f}")
            held = ", ".join(f"{v:.4f}" for v in r["ham_held_after"])
            _print(f"    ham held {r['ham_held_before']:.4f} -> {held}")
            f1 = zip(r["f1_before"], r["f1_after"], strict=True)
            _print("    F1 after 50 mixed decisions: " + ", ".join(f"{b:.4f}->{a:.4f}" for b, a in f1))
            fpr = zip(r["fpr_mixed_before"], r["fpr_mixed_after"], strict=True)
            _print("    FPR on the rest, the same: " + ", ".join(f"{b:.4f}->{a:.4f}" for b, a in fpr))
            _print(f"    worst F1 gain {r['worst_f1_gain']:+.4f}")
        return
    _print(f"{report['mode']}: {report['n']} comments ({report['spam']} spam, {report['ham']} ham)")
    _print(f"  {_line(report)}")
    if "spam_thresholds" in report:
        learned = ", ".join(f"{t:.3f}" for t in report["spam_thresholds"])
        _print(f"  spam thresholds learned per fold: {learned}")
    for key in ("tail", "streamed_cv", "batch_cv"):
        if key in report:
            _print(f"  {key}: {_line(report[key])}")
    if "decisions" in report:
        _print(f"  decisions learned: {report['decisions']}")
    if "batch_gap" in report:
        _print(f"  batch CV F1 − this stream's F1 = {report['batch_gap']:.4f}")
    if "streamed_cv_f1_gap" in report:
        _print(f"  batch F1 − streamed F1 = {report['streamed_cv_f1_gap']:.4f}")
    for key, m in report.get("baseline", {}).items():
        _print(f"  baseline [{key}]: {_line(m)}")


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(problem: object) -> int:
    sys.stderr.write(f"rejoinder spam: {problem}\n")
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rejoinder.cli.spam")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
