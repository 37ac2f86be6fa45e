"""The CPU of a spam verdict's two pure parts, in-process and without a store: the reading (features,
fingerprint, links, the blog-spam and relevance signals) and the judging (the classifier, its reasons, the
abuse score, the combination), each as the median over rounds of CPU per comment.

Usage: python bench/verdict_parts.py [--texts youtube|blogs] [--n 2000] [--rounds 5] [--json]

``youtube``: YouTube's spam collection (short comments, half of them spam), under one article; ``blogs``:
the published comments of the four real blogs' exports in the shared data (docs/spam.md's "real blog
comments": longer, some Chinese and Turkish), each under its thread's title, read by the importers.
Each round reads and judges every text once, after one round to warm the per-process memos; the figure
is ``time.thread_time`` per text, so a loaded machine's waiting is not counted. Run against another
checkout with ``PYTHONPATH=THAT_CHECKOUT`` from outside this one (``blogs`` needs one with
``evaluation.exported_comments``, from 6 December 2026 on).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from rejoinder.evaluation import exported_comments
from rejoinder.importers.service import FORMATS
from rejoinder.model import Author, SiteSettings
from rejoinder.spam.abuse import AbuseModel
from rejoinder.spam.judge import Inputs, judge
from rejoinder.spam.model import Model
from rejoinder.spam.reading import read
from rejoinder.spam.submission import Page, Submission

SHARED = Path(__file__).resolve().parents[2] / "shared"
# The real blogs' exports in the shared data (docs/spam.md's "real blog comments"), read as an import
# reads them.
REAL_EXPORTS = (
    ("wordpress", "wxr/cc-labs.wordpress.xml"),
    ("wordpress", "wxr/everet-org-zh.wordpress.xml"),
    ("disqus", "disqus/laisky-blog-zh.disqus.xml"),
    ("disqus", "disqus/yesilmavihayat-tr.disqus.xml"),
)
YOUTUBE = SHARED / "corpora" / "youtube-spam-collection" / "youtube-spam-collection.jsonl"
PAGE = Page("The most watched music videos", "What made this year's videos the most watched")


def submissions(which: str) -> list[Submission]:
    """YouTube's comments under one article; or the real blogs' published comments, each under its thread."""
    if which == "youtube":
        if not YOUTUBE.exists():
            sys.exit(f"bench/verdict_parts.py: {YOUTUBE} not found (the shared corpora live beside the repo)")
        lines = [line for line in YOUTUBE.read_text("utf-8").split("\n") if line]
        return [
            Submission(json.loads(line)["text"], Author("Reader", f"r{i % 50}@example.org"), page=PAGE)
            for i, line in enumerate(lines)
        ]
    found: list[Submission] = []
    for name, file in REAL_EXPORTS:
        path = SHARED / "data" / file
        if not path.exists():
            sys.exit(f"bench/verdict_parts.py: {path} not found (the shared data lives beside the repo)")
        chosen = FORMATS[name]
        comments, _ = exported_comments(chosen.parse(path, chosen.tolerant))
        found += [sub for sub, is_spam in comments if not is_spam]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", choices=("youtube", "blogs"), default="youtube")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    subs = submissions(args.texts)[: args.n]
    rules = SiteSettings(max_depth=5, edit_window_seconds=900, language="en")
    inputs = Inputs(Model.shipped(), abuse=AbuseModel.shipped())
    reading_ms: list[float] = []
    judging_ms: list[float] = []
    for round_ in range(args.rounds + 1):
        started = time.thread_time()
        readings = [read(sub, "English") for sub in subs]
        read_at = time.thread_time()
        for sub, reading in zip(subs, readings, strict=True):
            judge(inputs, sub, rules, reading=reading, thread_id=1)
        done = time.thread_time()
        if round_:  # the first round fills the memos
            reading_ms.append((read_at - started) * 1000 / len(subs))
            judging_ms.append((done - read_at) * 1000 / len(subs))
    result = {
        "texts": args.texts,
        "comments": len(subs),
        "reading_cpu_ms": round(statistics.median(reading_ms), 4),
        "judging_cpu_ms": round(statistics.median(judging_ms), 4),
        "rounds_reading": [round(ms, 4) for ms in reading_ms],
        "rounds_judging": [round(ms, 4) for ms in judging_ms],
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
