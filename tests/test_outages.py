"""No input makes the server answer 500, and when the server itself is the problem (the database down, the
disk full) the answer is 503 with ``Retry-After``, in the documented error shape.

The end-to-end versions run a real server process: PostgreSQL cut off in tests/test_outages_process.py,
a tmpfs filled under SQLite's file or a PostgreSQL tablespace in tests/test_full_disk.py. Here the same
conditions are produced in-process, needing no root: SQLite's ``max_page_count`` makes the database file
full exactly as a full disk would.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text, update

from rejoinder.context import Context
from rejoinder.jobs import JobQueue
from rejoinder.store import db as db_module
from rejoinder.store.db import Database
from rejoinder.store.outage import outage
from rejoinder.store.schema import threads
from rejoinder.threads import SNAPSHOT_MAX_COMMENTS
from tests.helpers import ARTICLE, comment_payload, error_fields, post, read

JSON_HEADERS = {"Content-Type": "application/json"}


def crafted(*fields: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(fields)).encode()).decode()


def _paged_in_sql(ctx: Context) -> None:
    """Mark the thread as too large for a snapshot, so its pages come from SQL (as for > 5,000 comments)."""
    with ctx.db.write() as conn:
        conn.execute(update(threads).values(comment_count=SNAPSHOT_MAX_COMMENTS + 1))
    ctx.cache.clear()


def _raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


CRAFTED_CURSORS = {
    "id of 2^64": ("oldest", crafted("oldest", 0, "2026-01-01T00:00:00+00:00", 2**64)),
    "id of 2^63": ("oldest", crafted("oldest", 0, "2026-01-01T00:00:00+00:00", 2**63)),
    "negative id": ("oldest", crafted("oldest", 0, "2026-01-01T00:00:00+00:00", -1)),
    "likes of 1e300": ("top", _raw_cursor('["top", 1e300, "2026-01-01T00:00:00+00:00", 1]')),
    "likes of 2^64": ("top", crafted("top", 2**64, "2026-01-01T00:00:00+00:00", 1)),
    "likes of infinity": ("top", _raw_cursor('["top", 1e999, "2026-01-01T00:00:00+00:00", 1]')),
    "likes as a string": ("top", crafted("top", "1", "2026-01-01T00:00:00+00:00", 1)),
    "likes as a bool": ("top", crafted("top", True, "2026-01-01T00:00:00+00:00", 1)),
    "year 9999": ("newest", crafted("newest", 0, "9999-12-31T23:59:59+00:00", 1)),
    "time as a number": ("oldest", crafted("oldest", 0, 12, 1)),
    "four nulls": ("oldest", crafted(None, None, None, None)),
    "an object": ("oldest", _raw_cursor('{"a": 1}')),
    "not base64": ("oldest", "%%%"),
}


async def test_crafted_cursors_on_the_sql_path_are_refused_naming_the_cursor(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    for _ in range(3):
        await post(client)
    _paged_in_sql(ctx)
    first = await read(client, limit=1)
    assert first["next_cursor"]
    assert len((await read(client, limit=1, cursor=first["next_cursor"]))["comments"]) == 1
    answers = {}
    for case, (sort, cursor) in CRAFTED_CURSORS.items():
        response = await client.get(
            "/api/v1/comments", params={"site": site, "url": ARTICLE, "sort": sort, "cursor": cursor}
        )
        answers[case] = (response.status_code, set(response.json().get("error", {}).get("fields", {})))
    # A far-future time is a cursor the server could have given: it simply pages past everything.
    expected = {case: (422, {"cursor"}) for case in CRAFTED_CURSORS} | {"year 9999": (200, set())}
    assert answers == expected


async def test_ids_beyond_64_bits_are_refused_naming_the_id(client: httpx.AsyncClient, site: str) -> None:
    for comment_id in (2**63, 2**64, 10**30):
        like = await client.put(f"/api/v1/comments/{comment_id}/like", params={"liker": "a" * 32})
        assert set(error_fields(like, 422, "invalid_input")) == {"comment_id"}
        read_own = await client.get(f"/api/v1/comments/{comment_id}")
        assert read_own.status_code == 422, read_own.text
        reply = await client.post("/api/v1/comments", json=comment_payload("hi", parent_id=comment_id))
        assert set(error_fields(reply, 422, "invalid_input")) == {"parent_id"}


UNREADABLE_BODIES = {
    "invalid UTF-8": (b'{"body": "\xff\xfe"}', "not UTF-8"),
    "Latin-1": ('{"body": "caf\xe9"}'.encode("latin-1"), "not UTF-8"),
    "arrays nested 5,000 deep": (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    "objects nested 2,000 deep": (b'{"a":' * 2000 + b"1" + b"}" * 2000, "nested too deeply"),
}


@pytest.mark.parametrize("path", ["/api/v1/comments", "/api/v1/preview"])
async def test_unreadable_json_is_refused_naming_json(
    client: httpx.AsyncClient, site: str, path: str
) -> None:
    answers = {
        case: error_fields(await client.post(path, content=body, headers=JSON_HEADERS), 422, "invalid_input")
        for case, (body, _) in UNREADABLE_BODIES.items()
    }
    expected = {case: {"json": f"is not valid JSON ({why})"} for case, (_, why) in UNREADABLE_BODIES.items()}
    assert answers == expected


def _limit_growth(ctx: Context, pages: int | None) -> None:
    """SQLite's database file may not grow past ``pages`` (None: the current size): every write that needs
    a new page fails with SQLITE_FULL, exactly as on a full disk."""
    with ctx.db.writer.connect() as conn:  # the writer pool holds one connection: this one
        limit = pages or conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {limit}")


async def test_a_full_disk_answers_503_with_retry_after_and_recovers(
    client: httpx.AsyncClient, ctx: Context, site: str, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's max_page_count fills its file; PostgreSQL's disk: tests/test_full_disk.py")
    before = (await post(client, "written before the disk filled"))["comment"]["id"]
    _limit_growth(ctx, None)
    try:
        refused = await client.post("/api/v1/comments", json=comment_payload("x" * 9000))
        error_fields(refused, 503, "unavailable")
        assert refused.headers["Retry-After"] == "5"
        assert "connection" not in refused.headers  # the connection stays usable
        assert [c["id"] for c in (await read(client))["comments"]] == [before]
    finally:
        _limit_growth(ctx, 1_073_741_823)
    after = (await post(client, "x" * 9000))["comment"]["id"]
    assert [c["id"] for c in (await read(client))["comments"]] == [before, after]


def test_an_unreachable_postgresql_is_an_outage() -> None:
    nobody_listens = "postgresql+psycopg://postgres@127.0.0.1:9/none"
    engine = create_engine(nobody_listens, connect_args={"connect_timeout": 2})
    with pytest.raises(Exception) as caught:
        engine.connect()
    engine.dispose()
    assert outage(caught.value) is not None


class Clock:
    """``time`` as a module sees it, but for a monotonic clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_a_pooled_postgresql_connection_is_pinged_only_after_sitting_idle_and_replaced_if_dead(
    backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite opens a file: there is no connection to lose")
    clock = Clock()  # the store's: a loaded machine's pauses between two reads are not idleness
    monkeypatch.setattr(db_module, "time", clock)
    monkeypatch.setattr(db_module, "POSTGRES_PING_AFTER_IDLE", 0.2)
    db = Database(database_url)
    pings: list[object] = []
    ping = db.writer.dialect.do_ping
    monkeypatch.setattr(db.writer.dialect, "do_ping", lambda c: pings.append(c) or ping(c))

    def backend_pid() -> int:
        with db.read() as conn:
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    try:
        first = backend_pid()
        assert {backend_pid() for _ in range(20)} == {first} and pings == []  # busy: no round trip spent
        clock.now += 0.3
        assert backend_pid() == first and len(pings) == 1  # idle: asked first, and alive
        admin = create_engine(database_url)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.dispose()
        clock.now += 0.3
        assert backend_pid() != first  # dead while idle: replaced before anyone used it
    finally:
        db.dispose()


def test_a_connection_lost_inside_a_write_raises_the_outage_not_the_rollbacks_complaint(
    backend: str, database_url: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite opens a file: there is no connection to lose")
    db = Database(database_url)
    JobQueue(db)  # its rollback listener reads the connection's info too
    admin = create_engine(database_url)
    try:
        with pytest.raises(Exception) as caught, db.write() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.execute(text("SELECT 1"))
        assert outage(caught.value) is not None, repr(caught.value)
        with db.write() as conn:  # and the next transaction gets a live connection
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        admin.dispose()
        db.dispose()


def test_a_bug_is_not_an_outage() -> None:
    assert outage(ValueError("x")) is None
    assert outage(KeyError("x")) is None


async def test_a_500_says_connection_close(app: Any, site: str) -> None:
    async def crash() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/crash-for-test", crash)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/crash-for-test")
    error_fields(response, 500, "internal_error")
    assert response.headers["connection"] == "close"
