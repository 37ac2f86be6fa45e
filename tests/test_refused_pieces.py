"""A piece of a group commit that refuses on its own account (a ``RejoinderError``: a comment asked for a
proof of work, a reply to a held comment) is its writer's answer alone: its writes are undone, the rest of
its batch commits as if it had not come, and no piece is run again for it (``store/db.py``)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, insert, select

from rejoinder import comments as comments_service
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.sites import create_site
from rejoinder.store.db import Database, after_commit, at_commit
from rejoinder.store.schema import server_secrets, used_tokens
from tests.conftest import SITE_ORIGIN
from tests.test_group_commit import Transactions, insert_at_commit, stored_names
from tests.test_spam_pipeline import FRIENDLY, GUARDED, QUIET, centre_on, form, send, submit
from tests.test_spam_signals import solved_payload

WRITERS = 8


@pytest.fixture
def db(ctx: Context) -> Database:
    return ctx.db


def counted_piece(name: str, runs: Counter[str], *, refuse: bool = False) -> Callable[[Connection], str]:
    """Work that writes a row at once and another kept for the commit, notes its name for after the
    commit, and then, with ``refuse``, refuses as a service does; each run counted in ``runs``."""

    def work(conn: Connection) -> str:
        runs[name] += 1
        after_commit(conn, name)
        conn.execute(insert(server_secrets).values(name=name, value="v"))
        kept = at_commit(conn, insert_at_commit)
        assert kept is not None
        kept.append(f"{name}-kept")
        if refuse:
            raise InvalidInput("refused on its own account", {"body": "is refused"})
        return name

    return work


async def test_a_refusing_piece_is_undone_alone_and_no_piece_runs_again(db: Database) -> None:
    seen = Transactions(db)
    runs: Counter[str] = Counter()
    names = [f"piece-{i}" for i in range(WRITERS)]
    refusing = {names[2], names[5]}
    results = await asyncio.gather(
        *(db.transaction_async(counted_piece(name, runs, refuse=name in refusing)) for name in names),
        return_exceptions=True,
    )
    for name, result in zip(names, results, strict=True):
        if name in refusing:
            assert isinstance(result, InvalidInput)
        else:
            assert result == name
    acknowledged = [name for name in names if name not in refusing]
    # What the refusing pieces wrote, kept for the commit and noted for after it is gone with them.
    assert stored_names(db) == {*acknowledged, *(f"{name}-kept" for name in acknowledged)}
    assert Counter(seen.handed_on) == Counter(acknowledged)
    # A refusal is final: its piece never runs again.
    assert all(runs[name] == 1 for name in refusing)
    if db.backend == "sqlite":
        # The loop's batch: every piece ran once, in one transaction that committed once.
        assert runs == Counter(names) and seen.commits == 1
    else:
        # A committer's batch is committed again without the refusing piece: the pieces before it run
        # again, none more often than once per refusal, and none alone.
        assert all(runs[name] <= 1 + len(refusing) for name in acknowledged)
        assert seen.commits <= WRITERS - len(refusing)


async def test_a_piece_that_refuses_alone_runs_once(db: Database) -> None:
    seen = Transactions(db)
    runs: Counter[str] = Counter()
    with pytest.raises(InvalidInput):
        await db.transaction_async(counted_piece("piece-alone", runs, refuse=True))
    assert runs == Counter(["piece-alone"])
    assert stored_names(db) == set() and seen.handed_on == []
    assert await db.transaction_async(counted_piece("piece-after", runs)) == "piece-after"
    assert stored_names(db) == {"piece-after", "piece-after-kept"}


async def test_a_database_failure_beside_a_refusal_still_fails_only_its_writer(db: Database) -> None:
    """A piece the database refuses (a key used twice) still sends the batch's other pieces to commit
    alone; a piece that refused on its own account keeps its answer and is not run again."""
    seen = Transactions(db)
    runs: Counter[str] = Counter()

    def twice(conn: Connection) -> str:
        runs["piece-twice"] += 1
        conn.execute(insert(server_secrets).values(name="piece-twice", value="v"))
        conn.execute(insert(server_secrets).values(name="piece-twice", value="again"))
        return "piece-twice"

    pieces: list[Callable[[Connection], Any]] = [
        counted_piece("piece-a", runs),
        counted_piece("piece-refusing", runs, refuse=True),
        twice,
        counted_piece("piece-b", runs),
    ]
    results = await asyncio.gather(*(db.transaction_async(p) for p in pieces), return_exceptions=True)
    assert results[0] == "piece-a" and results[3] == "piece-b"
    assert isinstance(results[1], InvalidInput)
    assert isinstance(results[2], Exception) and not isinstance(results[2], InvalidInput)
    assert stored_names(db) == {"piece-a", "piece-a-kept", "piece-b", "piece-b-kept"}
    assert Counter(seen.handed_on) == Counter(["piece-a", "piece-b"])
    assert runs["piece-refusing"] == 1


async def test_a_comment_asked_for_a_proof_of_work_is_judged_once_per_attempt(
    client: httpx.AsyncClient, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **{**QUIET, "pow": "doubtful"})
    centre_on(ctx, FRIENDLY, hold=-0.5, spam=5.0)  # held, in the lower half of the hold band
    judged: list[str] = []
    original = comments_service.judge_comment

    def counted(*args: Any, **kwargs: Any) -> Any:
        judged.append("attempt")
        return original(*args, **kwargs)

    monkeypatch.setattr(comments_service, "judge_comment", counted)
    refused = await send(client, shown=await form(client))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "challenge_required"
    assert judged == ["attempt"]
    level = refused.json()["error"]["difficulty"]
    named = (await client.get("/api/v1/form", params={"site": GUARDED, "difficulty": level})).json()
    posted = await submit(client, shown=named, altcha=solved_payload(named["challenge"]))
    assert posted["status"] == "pending"
    assert judged == ["attempt", "attempt"]


async def test_comments_asked_for_work_beside_others_leave_their_tokens_unused(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """Posts arriving together, some without the proof of work the site asks of every comment: those are
    refused, the others stored, and the refused ones' form tokens left unused, as if they had come alone."""
    create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **{**QUIET, "pow": "always"})
    centre_on(ctx, FRIENDLY, hold=2.0, spam=5.0)  # published: no doubt, only the address's volume
    # Hard enough for the volume of every comment here from the one address (up to 15 in the hour).
    hard = {"site": GUARDED, "difficulty": 2}
    shown = [(await client.get("/api/v1/form", params=hard)).json() for _ in range(WRITERS)]
    unpaid = {1, 4}
    solutions = {n: solved_payload(s["challenge"]) for n, s in enumerate(shown) if n not in unpaid}
    answers = await asyncio.gather(
        *(send(client, f"{FRIENDLY} ({n})", shown=s, altcha=solutions.get(n)) for n, s in enumerate(shown))
    )
    for n, answer in enumerate(answers):
        if n in unpaid:
            assert answer.status_code == 422 and answer.json()["error"]["code"] == "challenge_required"
        else:
            assert answer.status_code == 201, answer.text
    # The refused attempts' form tokens were not used up with them; the stored comments' were.
    with ctx.db.read() as conn:
        used = set(conn.execute(select(used_tokens.c.digest)).scalars())
    digests = [hashlib.sha256(s["form_token"].encode()).hexdigest() for s in shown]
    assert {n for n, digest in enumerate(digests) if digest in used} == set(range(WRITERS)) - unpaid
