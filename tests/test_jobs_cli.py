"""``rejoinder jobs list`` and ``rejoinder jobs retry``, run in-process against a fresh SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from rejoinder.cli import main
from rejoinder.jobs import enqueue
from rejoinder.settings import load_settings
from rejoinder.store.schema import jobs
from rejoinder.wiring import open_context


def run(capsys: pytest.CaptureFixture[str], database: str, *argv: str) -> str:
    main([*argv, "--database", database])
    return capsys.readouterr().out


def listed(capsys: pytest.CaptureFixture[str], database: str, *argv: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run(capsys, database, "jobs", "list", *argv).splitlines()]


@pytest.fixture
def database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A database with two dead jobs of a kind no handler knows, and the periodic jobs done once."""
    url = f"sqlite:///{tmp_path}/cli.db"
    assert run(capsys, url, "worker", "--once") == "ran 4 jobs\n"  # the periodic ones: purges, erasure, sweep
    ctx = open_context(load_settings(environ={}, overrides={"database_url": url}))
    try:
        with ctx.db.write() as conn:
            for n in (1, 2):
                enqueue(conn, "digest.weekly", {"n": n})
            conn.execute(
                update(jobs)
                .where(jobs.c.kind == "digest.weekly")
                .values(status="dead", attempts=5, last_error="SMTPServerDisconnected")
            )
    finally:
        ctx.close()
    return url


def test_jobs_are_listed_newest_first_by_status_and_kind(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    every = listed(capsys, database)
    periodic = ["notify.sweep", "privacy.erase_client_data", "spam.purge", "jobs.purge"]
    kinds = ["digest.weekly", "digest.weekly", *periodic, *periodic]
    assert [job["kind"] for job in every] == kinds
    assert [job["id"] for job in every] == sorted((job["id"] for job in every), reverse=True)
    dead = listed(capsys, database, "--status", "dead")
    assert [(job["payload"], job["attempts"], job["last_error"]) for job in dead] == [
        ({"n": 2}, 5, "SMTPServerDisconnected"),
        ({"n": 1}, 5, "SMTPServerDisconnected"),
    ]
    assert {job["status"] for job in listed(capsys, database, "--kind", "spam.purge")} == {"queued", "done"}
    assert listed(capsys, database, "--status", "running") == []


def test_dead_jobs_are_retried_one_or_all(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = sorted(job["id"] for job in listed(capsys, database, "--status", "dead"))
    assert run(capsys, database, "jobs", "retry", str(first)) == f"job {first} queued again\n"
    assert [job["id"] for job in listed(capsys, database, "--status", "dead")] == [second]
    with pytest.raises(SystemExit) as refused:
        run(capsys, database, "jobs", "retry", str(first))
    assert (
        refused.value.code == f"rejoinder: job {first} is queued, not dead\n  id: only dead jobs are retried"
    )
    assert run(capsys, database, "jobs", "retry", "--all-dead") == f"dead jobs queued again: {second}\n"
    retried = listed(capsys, database, "--kind", "digest.weekly")
    assert [(job["status"], job["attempts"]) for job in retried] == [("queued", 0), ("queued", 0)]


def test_retry_needs_an_id_or_all_dead(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        run(capsys, database, "jobs", "retry")
    assert refused.value.code == 2
    assert "one of the arguments id --all-dead is required" in capsys.readouterr().err
