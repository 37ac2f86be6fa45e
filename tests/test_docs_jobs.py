"""The background jobs guide names every kind of job a process runs (docs/guides/jobs.md, "Kinds of
jobs"), and no kind that none runs."""

from __future__ import annotations

import re
from pathlib import Path

from rejoinder.context import Context

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guides" / "jobs.md"


def documented_kinds() -> set[str]:
    table = GUIDE.read_text(encoding="utf-8").split("## Kinds of jobs", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", table, flags=re.MULTILINE))


def test_every_kind_of_job_is_in_the_guide(ctx: Context) -> None:
    assert documented_kinds() == set(ctx.jobs.kinds)
