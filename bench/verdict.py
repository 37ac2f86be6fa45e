"""How long one spam verdict takes in-process: every signal, on a real SQLite database.

Usage: python bench/verdict.py [--corpus FILE.jsonl] [--n 2000] [--taught N] [--json]

Each comment goes through the filter exactly as a post does: its reading (features, link domains, the
store-free signals) before the transaction, then, inside one write transaction per comment as the server
runs it, a fresh form token (checked and marked used), the author's history, the domains' marks,
near-duplicates, the owner's lists, the classifier. The figure is the median wall time per comment, the
reading included; the database work is included, the commit's fsync is not (it is shared by a whole group
of posts). Beside it, the median CPU time of the judging thread (``time.thread_time``): the figure to
compare on a shared, loaded machine, where wall time also counts waiting for a core.
With ``--taught N`` the site's moderators have first decided N comments of another
corpus (the SMS collection by default; its labels, through ``teach``), so the classifier scores with a
learned site model: its deltas and its naive-Bayes counts, and the spam threshold its decisions set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rejoinder.antispam import check_submission, judge_comment, read, teach
from rejoinder.model import Author
from rejoinder.settings import load_settings
from rejoinder.sites import create_site, site_settings
from rejoinder.spam.submission import FormProof, Page, Submission
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.wiring import open_context

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
DEFAULT_CORPUS = SHARED / "youtube-spam-collection" / "youtube-spam-collection.jsonl"
TEACHING_CORPUS = SHARED / "sms-spam-collection" / "sms-spam-collection.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--taught", type=int, default=0, help="moderator decisions taught to the site first")
    parser.add_argument("--teach-corpus", type=Path, default=TEACHING_CORPUS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for needed in [args.corpus] + ([args.teach_corpus] if args.taught else []):
        if not needed.exists():
            sys.exit(f"bench/verdict.py: {needed} not found (the shared corpora live beside the repository)")
    texts = [json.loads(line)["text"] for line in args.corpus.open()][: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, overrides={"database_url": f"sqlite:///{tmp}/verdict.db"})
        db = Database(settings.database_url)
        upgrade(db)
        db.dispose()
        ctx = open_context(settings)
        try:
            site = create_site(ctx, "bench", "Bench", ["https://blog.example"], pow="off")
            rules = site_settings(ctx, site)
            if args.taught:
                lessons = [json.loads(line) for line in args.teach_corpus.open()][: args.taught]
                for n, lesson in enumerate(lessons):
                    taught = Submission(lesson["text"], Author("Teacher", "t@example.org"), "", "", "/t")
                    before = check_submission(ctx, site, taught).score  # kept for the learned threshold
                    teach(ctx, site, f"lesson:{n}", taught, lesson["label"] == "spam", score=before)
            shown = time.time() - 60
            times: list[float] = []
            cpu: list[float] = []
            # The blog-spam and relevance signals read the page's title and description, as the widget sends.
            page = Page("The most watched music videos", "What made this year's videos the most watched")
            for i, text in enumerate(texts):
                author = Author("Reader", f"r{i % 50}@example.org")
                sub = Submission(text, author, "203.0.113.5", "UA", "/a", page)
                proof = FormProof(ctx.spam.tokens.issue("bench", shown))
                started = time.perf_counter()
                started_cpu = time.thread_time()
                reading = read(rules, sub)  # as a post reads it: before the transaction
                with ctx.db.write() as conn:
                    now = datetime.now(UTC)
                    judge_comment(ctx, conn, site, rules, sub, reading, thread_id=1, proof=proof, now=now)
                    conn.rollback()  # measure the verdict, not the commit
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
        finally:
            ctx.close()
    times.sort()
    result = {
        "comments": len(times),
        "taught": args.taught,
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[int(len(times) * 0.9)], 3),
        "p99_ms": round(times[int(len(times) * 0.99)], 3),
        "median_cpu_ms": round(statistics.median(cpu), 3),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
