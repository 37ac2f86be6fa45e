"""How many likes one client can add: a script on one address, a new liker id for every request, as fast
as the server answers, for a minute, against the real app in-process on SQLite with a site's default rules.

Usage: python bench/likes.py [--seconds 60] [--comments 100] [--json]

Two runs: every like aimed at one comment, then round-robin over ``--comments`` comments. Each reports the
requests sent, how many were answered 200 and 429, the likes that were counted (per comment and per
minute), and the CPU time per request of this process (server and client together: on a shared machine
CPU time is steadier than the wall clock). The same stuffing with the site's spam filter off (no like
rules, as before they existed) is the third run, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from typing import Any

import httpx

from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.sites import create_site, update_site
from rejoinder.store import comments as comment_store
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context

ARTICLE = "https://blog.example/stuffed"


async def stuff(ctx: Context, app: Any, address: str, ids: list[int], seconds: float) -> dict[str, Any]:
    """One script on ``address``: likes ``ids`` in turn, each time under a new liker id."""
    transport = httpx.ASGITransport(app=app, client=(address, 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        return await _stuff(ctx, http, ids, seconds, prefix=address)


async def _stuff(
    ctx: Context, http: httpx.AsyncClient, ids: list[int], seconds: float, prefix: str
) -> dict[str, Any]:
    before = like_counts(ctx, ids)
    statuses: Counter[int] = Counter()
    started, cpu = time.monotonic(), time.process_time()
    sent = 0
    while time.monotonic() - started < seconds:
        comment_id = ids[sent % len(ids)]
        response = await http.put(
            f"/api/v1/comments/{comment_id}/like", headers={"X-Rejoinder-Liker": f"{prefix}-{sent:09d}"}
        )
        statuses[response.status_code] += 1
        sent += 1
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    after = like_counts(ctx, ids)
    counted = [after[i] - before[i] for i in ids]
    return {
        "seconds": round(elapsed, 1),
        "requests": sent,
        "ok": statuses[200],
        "refused_429": statuses[429],
        "other": sent - statuses[200] - statuses[429],
        "counted_likes": sum(counted),
        "max_counted_per_comment": max(counted),
        "counted_per_minute": round(sum(counted) * 60 / elapsed, 1),
        "cpu_ms_per_request": round(1000 * cpu / max(sent, 1), 3),
    }


def like_counts(ctx: Context, ids: list[int]) -> dict[int, int]:
    """The comments' like counts as stored (what sort=top orders by)."""
    with ctx.db.read() as conn:
        return {i: comment_store.like_count(conn, i) for i in ids}


async def run(seconds: float, comments: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, overrides={"database_url": f"sqlite:///{tmp}/likes.db"})
        db = Database(settings.database_url)
        upgrade(db)
        db.dispose()
        ctx = open_context(settings)
        try:
            create_site(ctx, "bench", "Bench", ["https://blog.example"], spam_filter=False)
            app = create_app(settings, context=ctx)
            transport = httpx.ASGITransport(app=app, client=("203.0.113.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                ids = []
                for i in range(comments + 1):
                    body = {"site": "bench", "url": ARTICLE, "body": f"comment {i}", "author": {"name": "A"}}
                    ids.append((await http.post("/api/v1/comments", json=body)).json()["comment"]["id"])
            update_site(ctx, "bench", spam_filter=True)  # the like rules come with the filter
            one = await stuff(ctx, app, "203.0.113.9", ids[:1], seconds)
            many = await stuff(ctx, app, "203.0.113.10", ids[1:], seconds)
            update_site(ctx, "bench", spam_filter=False)
            unguarded = await stuff(ctx, app, "203.0.113.11", ids[1:], min(seconds, 10))
            return {"one_comment": one, "round_robin": many, "filter_off": unguarded}
        finally:
            ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--comments", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds, args.comments))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, figures in result.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
