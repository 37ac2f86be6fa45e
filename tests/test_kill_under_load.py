"""Durability under attack: a real server process killed with SIGKILL three times while writers post as
fast as they can, on both databases. Every comment the server acknowledged (201) is there afterwards,
with exactly the body it was acknowledged with. tests/test_process.py has the single, idle kill."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from rejoinder.context import Context
from rejoinder.sites import create_site
from rejoinder.store.schema import comments
from tests.helpers import comment_payload
from tests.test_process import serving

pytestmark = pytest.mark.slow

KILLS = 3
WRITERS = 8
LOAD_SECONDS = 1.5  # of writing before each kill


def write_until_stopped(base_url: str, writer: int, stop: threading.Event, acked: dict[int, str]) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        n = 0
        while not stop.is_set():
            n += 1
            body = f"writer {writer}, comment {n}: {'ünïcode ' * (n % 5)}end"
            try:
                answer = http.post("/api/v1/comments", json=comment_payload(body, site="load"))
            except httpx.TransportError:
                return  # the server is gone: what was not acknowledged may be lost
            if answer.status_code == 201:
                acked[answer.json()["comment"]["id"]] = body


def test_every_acknowledged_comment_survives_three_kill_9s_under_load(
    tmp_path: Path, ctx: Context, database_url: str
) -> None:
    create_site(ctx, "load", "Load", ["https://blog.example"], spam_filter=False)
    acked: dict[int, str] = {}
    per_round = []
    for _ in range(KILLS):
        with serving(tmp_path, "serve", database_url) as server:
            stop = threading.Event()
            before = len(acked)
            writers = [
                threading.Thread(target=write_until_stopped, args=(server.base_url, n, stop, acked))
                for n in range(WRITERS)
            ]
            for writer in writers:
                writer.start()
            time.sleep(LOAD_SECONDS)
            assert server.stop(signal.SIGKILL) == -signal.SIGKILL  # mid-write: the writers are still going
            stop.set()
            for writer in writers:
                writer.join(timeout=10)
            per_round.append(len(acked) - before)

    assert all(count > 0 for count in per_round), per_round
    with serving(tmp_path, "serve", database_url) as server:  # the store opens cleanly after the kills
        assert server.http.get("/readyz").status_code == 200
    with ctx.db.read() as conn:
        stored = {row.id: row.body for row in conn.execute(select(comments.c.id, comments.c.body))}
    lost = sorted(set(acked) - set(stored))
    assert lost == [], f"{len(lost)} of {len(acked)} acknowledged comments lost"
    assert {id: stored[id] for id in acked} == acked  # intact: the body acknowledged, byte for byte
