"""A verdict's statements in the store (a form token or a proof of work marked used, the site's model
version, the author's history) read and write what SQLAlchemy would, on both backends, where they go
straight to the driver (``store/dialect.py``: ``on_sqlite``, ``on_psycopg``), not through SQLAlchemy's
execution."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event, select

from rejoinder import antispam
from rejoinder.context import Context
from rejoinder.model import Author
from rejoinder.sites import create_site, site_settings
from rejoinder.spam.submission import FormProof, Submission
from rejoinder.store import spam as store
from rejoinder.store.schema import used_tokens
from tests.test_spam_pipeline import FRIENDLY, QUIET

NOW = datetime(2026, 12, 6, 16, 0, 0, 123456, tzinfo=UTC)


@contextmanager
def executed(conn: Connection) -> Iterator[list[str]]:
    """The statements run on ``conn`` meanwhile through SQLAlchemy's execution (``Connection.execute``)."""
    found: list[str] = []

    def noting(_conn: Any, statement: Any, *_: Any) -> None:
        found.append(str(statement))

    event.listen(conn, "before_execute", noting)
    try:
        yield found
    finally:
        event.remove(conn, "before_execute", noting)


def test_a_used_token_is_written_as_sqlalchemy_writes_it_and_refused_again(ctx: Context) -> None:
    expires = NOW + timedelta(days=7)
    with ctx.db.write() as conn:
        assert store.use_token(conn, "a" * 64, expires)
        assert not store.use_token(conn, "a" * 64, expires + timedelta(days=1))
        assert store.use_token(conn, "b" * 64, expires)
        stored = conn.execute(select(used_tokens.c.expires_at).where(used_tokens.c.digest == "a" * 64))
        assert stored.scalar_one() == expires  # read back through SQLAlchemy: the same time, in UTC
    with ctx.db.write() as conn:
        assert store.forget_expired_tokens(conn, expires + timedelta(seconds=1)) == 2


def test_the_model_version_is_none_until_a_lesson_then_counts_them(ctx: Context) -> None:
    site = create_site(ctx, "versions", "Versions", **QUIET)
    with ctx.db.write() as conn:
        assert store.model_version(conn, site.id) == 0
        store.add_weights(conn, site.id, {1: 0.5}, examples=1)
        store.add_weights(conn, site.id, {2: -0.5}, examples=1)
        assert store.model_version(conn, site.id) == 2


def test_a_verdicts_store_statements_skip_sqlalchemys_execution(ctx: Context) -> None:
    site = create_site(ctx, "driven", "Driven", **QUIET)
    rules = site_settings(ctx, site)
    sub = Submission(FRIENDLY, Author("Ada", "ada@example.org"), "203.0.113.9")
    reading = antispam.read(rules, sub)
    proof = FormProof(ctx.spam.tokens.issue(site.key), "", None)
    with ctx.db.write() as conn:  # the memos (the site's model, its near-duplicates) filled first
        antispam.gather(ctx, conn, site, rules, sub, reading, proof=None, now=NOW)
    with ctx.db.write() as conn, executed(conn) as statements:
        inputs = antispam.gather(ctx, conn, site, rules, sub, reading, proof=proof, now=NOW)
    assert inputs.form is not None and not inputs.form.token_replayed
    assert (inputs.approved, inputs.spammed) == (0, 0)
    assert statements == []  # the token's insert, the model's version, the history: by the driver
    with ctx.db.write() as conn:  # the token was marked used, in the transaction that judged it
        replayed = antispam.gather(ctx, conn, site, rules, sub, reading, proof=proof, now=NOW)
    assert replayed.form is not None and replayed.form.token_replayed
