"""CPU of a thread's page made again after each write, as the read after a write makes it.

In each of ``--rounds`` rounds a synthetic thread of ``--comments`` comments (a fifth of them replies) is
loaded into a snapshot; then, for each of ``--writes`` writes (a new top-level comment or a reply, in the
shared harness's shares, or a like), the snapshot is updated as the write's event updates it and the page
the harness reads (``limit=1000``, oldest first) is made the way a read after a write makes it
(``web/snapshot_pages.page_from_snapshot``). Prints the CPU per page made, in microseconds, at the median
and the 90th percentile.

    .venv/bin/python bench/page_rebuild.py [--comments 200] [--writes 50] [--rounds 40]

Runs against whatever ``rejoinder`` the interpreter imports, so two checkouts compare with their own
``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from rejoinder.cache import ReadCache
from rejoinder.events import CommentLiked, CommentPosted
from rejoinder.model import Author, Comment, CommentStatus, SortOrder, Thread
from rejoinder.snapshots import ThreadSnapshot, apply_to_cache
from rejoinder.web import snapshot_pages
from rejoinder.web.serialize import Fragments

try:
    from rejoinder.web.page_parts import PageParts as parts_of
except ImportError:  # a build from before it: pages are cut whole from the snapshot
    parts_of = None  # type: ignore[assignment,misc]

SITE, URL = "default", "https://blog.example/post"
KEY = (SITE, URL)
WORDS = ("comment", "server", "thread", "reply", "widget", "static", "site", "blog", "post", "latency")
START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def html(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(max(4, int(rng.lognormvariate(3.0, 0.7))))]
    return "<p>" + " ".join(words) + "</p>"


def comment(rng: random.Random, i: int, parent: Comment | None) -> Comment:
    return Comment(
        id=i,
        thread_id=1,
        parent_id=None if parent is None else parent.id,
        root_id=None if parent is None else (parent.root_id or parent.id),
        author=Author(f"reader {rng.randrange(300)}"),
        body="",
        html=html(rng),
        status=CommentStatus.PUBLISHED,
        created_at=START + timedelta(seconds=i),
        edited_at=None,
        likes=rng.randrange(3),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    spent: dict[str, list[float]] = {"top-level": [], "reply": [], "like": []}
    for seed in range(args.rounds):
        one_round(random.Random(seed), args.comments, args.writes, spent)
    every = [t for times in spent.values() for t in times]
    print(f"{args.rounds} rounds of {args.writes} writes to {args.comments} comments; CPU per page made, µs:")
    for kind, times in [*spent.items(), ("all", every)]:
        if times:
            p50, p90 = statistics.median(times), statistics.quantiles(times, n=10)[-1]
            print(f"  {kind:10} n={len(times):5}  p50 {p50:7.0f}  p90 {p90:7.0f}")


def one_round(rng: random.Random, comments: int, writes: int, spent: dict[str, list[float]]) -> None:
    posted: list[Comment] = []
    for i in range(1, comments + 1):
        parent = rng.choice(posted) if posted and rng.random() < 0.2 else None
        posted.append(comment(rng, i, parent))
    thread = Thread(1, 1, URL, "A post", START, False, len(posted))
    cache = ReadCache(64 * 1024 * 1024)
    ctx = SimpleNamespace(cache=cache)
    fragments: Any = Fragments()
    if parts_of is not None:  # this build patches a page from the one before (web/page_parts.py)
        fragments = parts_of(fragments)
    cache.put_snapshot(KEY, cache.generation(KEY), ThreadSnapshot.of(thread, 3, posted, cache.authors()), 1)
    variant = b"site=default&url=https%3A%2F%2Fblog.example%2Fpost&limit=1000"

    def made() -> float:
        began = time.thread_time_ns()
        entry = snapshot_pages.page_from_snapshot(ctx, fragments, variant, KEY, SortOrder.OLDEST, 1000, None)
        spent = (time.thread_time_ns() - began) / 1000
        assert entry is not None and cache.get(variant) is entry
        return spent

    made()
    for n in range(writes):
        roll = rng.random()
        if roll < 0.15:
            kind, target = "like", rng.choice(posted)
            target = dataclasses.replace(target, likes=target.likes + 1, version=target.version + 1)
            posted[posted.index(next(c for c in posted if c.id == target.id))] = target
            event: Any = CommentLiked(SITE, URL, target)
        else:
            parent = rng.choice(posted) if roll < 0.15 + 0.85 * 0.2 else None
            kind = "top-level" if parent is None else "reply"
            new = comment(rng, comments + n + 1, parent)
            posted.append(new)
            event = CommentPosted(SITE, URL, new)
        apply_to_cache(cache, event)
        spent[kind].append(made())


if __name__ == "__main__":
    main()
