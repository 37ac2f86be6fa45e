"""PostgreSQL: a batch of likes is one round trip. Its statement makes the likes, counts them and writes
their events' outbox rows, built by PostgreSQL as ``events.encode`` writes them, and commits on its own:
no BEGIN, no COMMIT. The events are handed on at once, and a like is answered only once it is durable."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from psycopg import _connection_base

from rejoinder.context import Context
from rejoinder.events import CommentLiked, decode
from rejoinder.store import outbox
from tests.helpers import post

pytestmark = pytest.mark.usefixtures("steady_rate_windows")


def liker(n: int) -> dict[str, str]:
    return {"X-Rejoinder-Liker": f"reader-{n:06d}"}


@contextmanager
def committers_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The commands (BEGIN, COMMIT, …) psycopg sends from the committers' threads while the block runs."""
    sent: list[bytes] = []
    original = _connection_base.BaseConnection._exec_command

    def noting(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith("rejoinder-commit"):
            sent.append(bytes(command) if isinstance(command, bytes | bytearray) else str(command).encode())
        return original(self, command, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(_connection_base.BaseConnection, "_exec_command", noting)
        yield sent


async def test_a_batch_of_likes_is_one_statement_without_begin_or_commit(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite's batches run on the loop, in transactions of their own")
    comments = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(5)]
    assert (await client.put(f"/api/v1/comments/{comments[0]}/like", headers=liker(0))).status_code == 200
    with committers_commands(monkeypatch) as sent:
        answers = await asyncio.gather(
            *(client.put(f"/api/v1/comments/{c}/like", headers=liker(n)) for n, c in enumerate(comments[1:]))
        )
    assert [answer.json() for answer in answers] == [{"likes": 1, "liked": True}] * 4
    assert not [command for command in sent if command.split()[0].upper() in (b"BEGIN", b"COMMIT")], sent
    # Durable when answered: another connection reads every like and its event.
    with ctx.db.read() as conn:
        counts = conn.exec_driver_sql(
            "SELECT like_count FROM comments WHERE id = ANY(%(ids)s)", {"ids": comments}
        ).scalars()
        assert list(counts) == [1] * 5


async def test_the_events_the_statement_writes_are_those_the_process_hands_on(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite's outbox rows are written from Python")
    handed: list[CommentLiked] = []
    ctx.events.subscribe(CommentLiked, handed.append)
    comment_id = (await post(client, "liked, edited, verified"))["comment"]["id"]
    verified = '{"provider": "github", "provider_name": "GitHub", "profile_url": "https://github.com/x"}'
    with ctx.db.write() as conn:
        since = outbox.newest_id(conn)
        conn.exec_driver_sql(
            "UPDATE comments SET edited_at = created_at + interval '90.5 seconds', verified = %(v)s::json,"
            " created_at = date_trunc('second', created_at) WHERE id = %(id)s",
            {"v": verified, "id": comment_id},
        )
    assert (await client.put(f"/api/v1/comments/{comment_id}/like", headers=liker(1))).status_code == 200
    assert (await client.put(f"/api/v1/comments/{comment_id}/like", headers=liker(2))).status_code == 200
    with ctx.db.read() as conn:
        ids = [event_id for event_id, topic in outbox.after(conn, since, [], 10) if topic == "CommentLiked"]
        payloads = outbox.payloads(conn, ids)
        delivered = conn.exec_driver_sql(
            "SELECT bool_and(delivered_at IS NOT NULL) FROM outbox WHERE id = ANY(%(ids)s)", {"ids": ids}
        ).scalar()
    stored = [decode(CommentLiked.topic(), payloads[event_id]) for event_id in ids]
    assert stored == handed and len(handed) == 2, (stored, handed)
    assert [event.comment.likes for event in handed] == [1, 2]
    first = handed[0].comment
    assert first.verified is not None and first.verified.provider == "github"
    assert first.edited_at is not None and first.created_at.microsecond == 0
    assert first.edited_at.tzinfo is not None and first.edited_at.utcoffset() == first.created_at.utcoffset()
    assert delivered  # no subscriber in one process waits for a like
