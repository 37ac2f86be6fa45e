"""The ``rejoinder abuse train``, ``eval`` and ``scan`` commands: build the shipped abuse model from labelled
corpora (byte for byte the same from the same files), cross-validate it, and count what it flags among a
blog's real comments (a WordPress or Disqus export)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import rejoinder.spam
from rejoinder.model import CommentKind, CommentStatus
from rejoinder.spam.abuse import ABUSE_FILE, DEFAULT_THRESHOLD, AbuseModel
from rejoinder.spam.features import extract

# Training and its corpora are imported by the commands that use them: every ``rejoinder`` command builds
# this parser, ``serve`` too, and a server would hold them for its whole life.

REPORTED = ("n", "spam", "precision", "recall", "f1", "fpr", "auc", "best_f1", "ms_per_comment")


def shipped_model_path() -> Path:
    return Path(rejoinder.spam.__file__).with_name("data") / ABUSE_FILE


def add_parsers(subparsers: Any) -> None:
    abuse = subparsers.add_parser("abuse", help="train and measure the offline abuse model")
    commands = abuse.add_subparsers(dest="abuse_command", required=True)

    train = commands.add_parser(
        "train",
        help="train the abuse model on labelled corpora (JSONL)",
        description="Train the abuse model: 'abusive' items (the Davidson corpus's hate speech and "
        "offensive language) against everything else in the corpora given. Deterministic: the same "
        "corpora give the same file, byte for byte.",
    )
    _corpus_option(train)
    train.add_argument(
        "--out", type=Path, default=None, help=f"where to write it (default: {shipped_model_path()})"
    )
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser(
        "eval",
        help="cross-validate the abuse model's recipe",
        description="Stratified k-fold cross-validation of the training recipe over all the corpora "
        "given (deduplicated); precision, recall, F1 and FPR per corpus at the threshold, and the share "
        "flagged of each original Davidson label.",
    )
    _corpus_option(evaluate)
    evaluate.add_argument("--folds", type=int, default=5)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)

    scan = commands.add_parser(
        "scan",
        help="count what the shipped model flags in a blog's published comments",
        description="Read a WordPress (WXR) or Disqus export, judge every published comment (not "
        "pingbacks or trackbacks) with the shipped abuse model, and count the flagged ones.",
    )
    scan.add_argument("format", choices=("wordpress", "disqus"))
    scan.add_argument("file", type=Path)
    scan.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    scan.add_argument("--model", type=Path, default=None, help="another model file than the shipped one")
    scan.add_argument("--show", action="store_true", help="print the flagged comments (they are people's)")
    scan.add_argument("--json", action="store_true")
    scan.set_defaults(func=cmd_scan)


def _corpus_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        action="append",
        type=Path,
        required=True,
        metavar="FILE.jsonl",
        help="a labelled corpus (repeatable); label 'abusive' counts as abusive, every other label not",
    )


def cmd_train(args: argparse.Namespace) -> int:
    from rejoinder.abusetraining import as_abuse_examples, train_abuse_model
    from rejoinder.corpora import CorpusError, read_corpora

    out: Path = args.out or shipped_model_path()
    try:
        examples = as_abuse_examples(read_corpora(args.corpus))
    except (OSError, CorpusError) as exc:
        return _fail(exc)
    abusive = sum(item.is_spam for item in examples)
    if not 0 < abusive < len(examples):
        return _fail("the corpora must hold both abusive and other items")
    model = train_abuse_model(examples)
    model.model.meta["corpora"] = sorted({item.corpus for item in examples})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model.to_bytes())
    _print(
        f"trained on {len(examples)} items ({abusive} abusive) from {len(args.corpus)} corpora; "
        f"wrote {out} ({out.stat().st_size:,} bytes)"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rejoinder.abusetraining import as_abuse_examples, cross_validate_abuse
    from rejoinder.corpora import CorpusError, read_corpora

    try:
        examples = as_abuse_examples(read_corpora(args.corpus))
        originals = _original_labels(args.corpus)
    except (OSError, CorpusError) as exc:
        return _fail(exc)
    result = cross_validate_abuse(
        examples, folds=args.folds, seed=args.seed, threshold=args.threshold, originals=originals
    )
    report: dict[str, Any] = {
        "threshold": args.threshold,
        "folds": args.folds,
        "seed": args.seed,
        "corpora": {
            name: {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in m.as_dict().items()}
            for name, m in result.per_corpus.items()
        },
        "flagged_by_label": result.flagged_by_label,
    }
    if args.json:
        _print(json.dumps(report, sort_keys=True))
        return 0
    _print(f"{args.folds}-fold cross-validation, seed {args.seed}, abusive from p ≥ {args.threshold}")
    for name, m in report["corpora"].items():
        _print(f"  {name}: " + "  ".join(f"{k}={_fmt(m[k])}" for k in REPORTED))
    for label, share in result.flagged_by_label.items():
        _print(f"  flagged of {label}: {share:.4f}")
    return 0


def _original_labels(paths: list[Path]) -> dict[str, str]:
    """Item id → the corpus's finer label (``label_original``), where it has one."""
    found: dict[str, str] = {}
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line) if line.strip() else {}
                if row.get("label_original") and row.get("id"):
                    found[str(row["id"])] = str(row["label_original"])
    return found


def cmd_scan(args: argparse.Namespace) -> int:
    import statistics

    from rejoinder.importers.records import ImportedComment
    from rejoinder.importers.service import FORMATS

    try:
        model = AbuseModel.from_bytes(args.model.read_bytes()) if args.model else AbuseModel.shipped()
        records = list(FORMATS[args.format].parse(args.file, True))
    except (OSError, ValueError) as exc:
        return _fail(exc)
    published = [
        r
        for r in records
        if isinstance(r, ImportedComment)
        and r.kind is CommentKind.COMMENT
        and r.status is CommentStatus.PUBLISHED
    ]
    flagged = []
    times = []
    for record in published:
        start = time.perf_counter()
        finding = model.judge(extract(record.body), args.threshold, record.body)
        times.append(time.perf_counter() - start)
        if finding is not None:
            flagged.append((finding, record.body))
    report = {
        "file": str(args.file),
        "comments": len(published),
        "flagged": len(flagged),
        "share": len(flagged) / len(published) if published else 0.0,
        "ms_per_comment": 1000 * statistics.median(times) if times else 0.0,
    }
    if args.json:
        _print(json.dumps(report, sort_keys=True))
    else:
        _print(
            f"{args.file.name}: {report['flagged']} of {report['comments']} published comments flagged "
            f"({report['share']:.2%}) at p ≥ {args.threshold}; median {report['ms_per_comment']:.3f} ms each"
        )
    if args.show:
        for finding, body in flagged:
            _print(f"  p={finding.score:.3f} {finding.reason}: {' '.join(body.split())[:200]}")
    return 0


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(problem: object) -> int:
    sys.stderr.write(f"rejoinder abuse: {problem}\n")
    return 2
