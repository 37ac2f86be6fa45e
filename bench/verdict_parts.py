"""The CPU of a spam verdict's two pure parts, in-process and without a store: the reading (features,
fingerprint, links, the blog-spam and relevance signals) and the judging (the classifier, its reasons, the
abuse score, the combination), each as the median over rounds of CPU per comment.

Usage: python bench/verdict_parts.py [--texts youtube|blogs] [--n 2000] [--rounds 5] [--json]

``youtube``: YouTube's spam collection (short comments, half of them spam); ``blogs``: the real blog
comments of the WordPress and Disqus exports in the shared data (longer, some Chinese and Russian).
Each round reads and judges every text once, after one round to warm the per-process memos; the figure
is ``time.thread_time`` per text, so a loaded machine's waiting is not counted. Run against another
checkout with ``PYTHONPATH=THAT_CHECKOUT`` from outside this one.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from rejoinder.model import Author, SiteSettings
from rejoinder.spam.abuse import AbuseModel
from rejoinder.spam.judge import Inputs, judge
from rejoinder.spam.model import Model
from rejoinder.spam.reading import read
from rejoinder.spam.submission import Page, Submission

SHARED = Path(__file__).resolve().parents[2] / "shared"
_WXR_COMMENT = re.compile(r"<wp:comment_content><!\[CDATA\[(.*?)\]\]></wp:comment_content>", re.S)
_DISQUS_MESSAGE = re.compile(r"<message>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</message>", re.S)


def texts(which: str) -> list[str]:
    if which == "youtube":
        path = SHARED / "corpora" / "youtube-spam-collection" / "youtube-spam-collection.jsonl"
        if not path.exists():
            sys.exit(f"bench/verdict_parts.py: {path} not found (the shared corpora live beside the repo)")
        return [json.loads(line)["text"] for line in path.read_text("utf-8").split("\n") if line]
    found: list[str] = []
    for folder, pattern in (("wxr", _WXR_COMMENT), ("disqus", _DISQUS_MESSAGE)):
        for path in sorted((SHARED / "data" / folder).glob("*.xml")):
            found += pattern.findall(path.read_text("utf-8"))
    if not found:
        sys.exit(f"bench/verdict_parts.py: no exports under {SHARED / 'data'}")
    return [text for text in found if text.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", choices=("youtube", "blogs"), default="youtube")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    page = Page("The most watched music videos", "What made this year's videos the most watched")
    subs = [
        Submission(text, Author("Reader", f"r{i % 50}@example.org"), "203.0.113.5", "UA", "/a", page)
        for i, text in enumerate(texts(args.texts)[: args.n])
    ]
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
