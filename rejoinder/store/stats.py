"""Counts for operators: queue depth for the metrics, the number of comments for backup reports."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from rejoinder.store.schema import comments, jobs


def jobs_by_status(conn: Connection) -> dict[str, int]:
    """How many jobs the queue holds in each status, in one query."""
    rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
    return {status: int(count) for status, count in rows}


def comment_count(conn: Connection) -> int:
    """Every stored comment, whatever its status."""
    return int(conn.execute(select(func.count()).select_from(comments)).scalar_one())
