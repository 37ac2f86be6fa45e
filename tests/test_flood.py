"""A flood from one address against a real server process: one client posts, likes and previews as fast as
it can over a few connections, while ten well-behaved readers, each from an address of its own (loopback
addresses 127.0.0.x), read threads and post (``bench/flooding.py``).

The flood is limited (429 with ``Retry-After`` once past each per-address limit), the readers are never
refused and every one of their requests is answered, nothing fails with a 500, and the server's memory
stays bounded. How much the flood slows the readers is measured by ``bench/flood.py``, not asserted here:
a test must pass on a loaded machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.flooding import (
    LIMITS,
    ORIGIN,
    READER_ANSWERS,
    READERS,
    SITE,
    SITE_SETTINGS,
    Round,
    article,
    flood_accepted,
    flooded_round,
)
from rejoinder.context import Context
from rejoinder.sites import create_site
from tests.helpers import comment_payload
from tests.test_process import serving

pytestmark = pytest.mark.slow

# Long enough for the flood to meet every limit even on a busy machine: it spends what the limits allow it.
SPENDING_SECONDS = 4.0
# Then a round in which the flood is refused throughout: what refusals cost must not stay.
REFUSED_SECONDS = 2.0
# Growth of the server's resident memory allowed from the end of the round in which the flood spends its
# allowance to the end of the next: that round pays for what a flood can cost once (its accepted comments,
# likes and cached pages); the refused round only meets refusals and must not keep growing.
RSS_GROWTH_BYTES = 16 * 2**20


def test_a_flood_from_one_address_is_limited_while_others_are_served(
    tmp_path: Path, ctx: Context, database_url: str
) -> None:
    create_site(ctx, SITE, "Flood", [ORIGIN], **SITE_SETTINGS)
    with serving(tmp_path, "serve", database_url) as server:
        liked = server.http.post(
            "/api/v1/comments", json=comment_payload("Like me", site=SITE, url=article(0))
        )
        assert liked.status_code == 201, liked.text
        comment_id, pid = liked.json()["comment"]["id"], server.process.pid
        spending, refused = Round(flooded=True), Round(flooded=True)
        flood_answers = flooded_round(server.base_url, pid, comment_id, spending, SPENDING_SECONDS)
        flood_answers += flooded_round(server.base_url, pid, comment_id, refused, REFUSED_SECONDS)
        assert '"status":500' not in server.output()

    readers_answered = spending.answers + refused.answers
    print(
        f"\nreaders: {dict(readers_answered)}; flood: {dict(flood_answers)}; "
        f"server RSS after each round (MiB): {spending.rss >> 20}, {refused.rss >> 20}"
    )
    # The readers were never refused, and every request of theirs was answered (a time-out would show here
    # as its error's name): each address has its own budget. Each reader posted and read in each round.
    assert set(readers_answered) <= READER_ANSWERS, readers_answered
    assert readers_answered["post 201"] + readers_answered["post 202"] == 2 * READERS, readers_answered
    for round_ in (spending, refused):
        assert all(round_.per_reader[n] >= 2 for n in range(READERS)), round_.per_reader
    # The flood was limited on each of its three paths, and every refusal said when to come back.
    assert not [key for key in flood_answers if "without Retry-After" in key or " 5" in key], flood_answers
    assert not [key for key in flood_answers if key.split()[1] not in {"200", "201", "202", "429"}], (
        flood_answers
    )
    for kind, limit in LIMITS.items():
        accepted = flood_accepted(flood_answers, kind)
        assert flood_answers[f"{kind} 429"] > accepted, flood_answers
        assert accepted <= 2 * limit, flood_answers  # the test may straddle two windows of a minute
    # Memory bounded: refusals cost nothing that stays.
    assert refused.rss - spending.rss <= RSS_GROWTH_BYTES, (spending.rss, refused.rss)
