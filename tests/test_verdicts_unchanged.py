"""Verdicts as they were: every text of ``tests/fixtures/verdicts.jsonl`` (the repository's texts and a
sample of each shared corpus, under three senders) gets the action, score and reasons recorded there.
A change to make the filter cheaper must leave them all as they were; a change to what it finds rewrites
the fixture (``python -m tests.verdict_cases --write``) and says why in its commit."""

from __future__ import annotations

import json

from tests.verdict_cases import CORPORA, FIXTURE, SHARED, verdicts


def test_every_recorded_verdict_is_given_again() -> None:
    recorded = [json.loads(line) for line in FIXTURE.read_text("utf-8").split("\n") if line]
    # Without the shared corpora beside the repository, the repository's own texts are checked alone.
    present = {name for name in CORPORA if (SHARED / "corpora" / name / f"{name}.jsonl").exists()}
    expected = [row for row in recorded if row["source"] in present or row["source"] == "repository"]
    given = list(verdicts(sample=True))
    assert [(r["source"], r["line"], r["sha256"], r["sender"]) for r in given] == [
        (r["source"], r["line"], r["sha256"], r["sender"]) for r in expected
    ], "the sampled texts differ from the fixture's: a corpus changed, or the sample did"
    differing = [
        (e["source"], e["line"], e["sender"], e["action"], g["action"], e["reasons"], g["reasons"])
        for e, g in zip(expected, given, strict=True)
        if e["action"] != g["action"] or abs(e["score"] - g["score"]) > 1e-9 or e["reasons"] != g["reasons"]
    ]
    assert not differing, f"{len(differing)} of {len(given)} verdicts changed, first: {differing[:3]}"
