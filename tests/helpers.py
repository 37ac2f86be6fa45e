"""Small helpers the API tests share."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import httpx
import pytest
import redis

from rejoinder.store import dialect

ARTICLE = "https://blog.example/2026/11/tide-pools"


def comment_payload(
    body: str = "Hello there",
    *,
    site: str = "test",
    url: str = ARTICLE,
    parent_id: int | None = None,
    **author: str,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "site": site,
        "url": url,
        "title": "Tide pools",
        "body": body,
        "author": {"name": "Ada", "email": "ada@example.org", **author},
    }
    if parent_id is not None:
        payload["parent_id"] = parent_id
    return payload


async def post(client: httpx.AsyncClient, body: str = "Hello there", **kw: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/comments", json=comment_payload(body, **kw))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def read(
    client: httpx.AsyncClient, url: str = ARTICLE, site: str = "test", **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/comments", params={"site": site, "url": url, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def as_listed(comment: dict[str, Any]) -> dict[str, Any]:
    """An answer's comment as a thread page lists it: its flags left out while they hold their defaults."""
    return {k: v for k, v in comment.items() if k not in ("edited_by_moderator", "pinned", "verified") or v}


def flatten(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for comment in comments:
        out.append(comment)
        out.extend(flatten(comment["replies"]))
    return out


def error_fields(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """Check the status, the code and the error shape; return ``fields`` (field name -> rule broken)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    # challenge_required also says how hard a challenge the retry needs, and brings one that hard
    extra = {"difficulty", "challenge"} if code == "challenge_required" else set()
    assert set(error) == {"code", "message", "fields"} | extra
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert all(isinstance(rule, str) and rule for rule in error["fields"].values()), error
    return error["fields"]


PASSWORD = "correct horse battery staple"


def make_moderator(ctx: Any, email: str, site: str = "test", role: str = "moderator") -> Any:
    """A moderator account with ``PASSWORD``, created as the command line would."""
    from rejoinder.accounts import create_user
    from rejoinder.audit import cli_actor

    return create_user(ctx, cli_actor(), email, PASSWORD, site, role)


def login_form_csrf(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log ``client`` in through the login page; the session's CSRF token."""
    page = await client.get("/dashboard/login")
    response = await client.post(
        "/dashboard/login",
        data={"email": email, "password": password, "csrf_token": login_form_csrf(page.text)},
    )
    assert response.status_code == 303, response.text
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    return str(me.json()["csrf_token"])


class LoopTurns:
    """Counts the loop's turns: a ticker task that adds one each time the loop lets it run."""

    def __init__(self) -> None:
        self.turns = 0
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.turns += 1

    def stop(self) -> None:
        self._task.cancel()


@contextmanager
def heard_on_psycopg(listener: Callable[..., Any]) -> Iterator[None]:
    """Inside the block, the statements sent straight to psycopg (``store/dialect.py:on_psycopg``), which no
    SQLAlchemy listener hears of, are given to ``listener`` as ``before_cursor_execute`` gives a statement
    (without a cursor or an execution context)."""
    original = dialect.on_psycopg

    def heard(conn: Any, statement: str, parameters: Any) -> Any:
        listener(conn, None, statement, parameters, None, False)
        return original(conn, statement, parameters)

    with ExitStack() as patched:
        for name, module in list(sys.modules.items()):
            if name.startswith("rejoinder.") and getattr(module, "on_psycopg", None) is original:
                patched.enter_context(mock.patch.object(module, "on_psycopg", heard))
        yield


def statement_rows(parameters: Any, many: bool) -> int:
    """The rows a statement was run for (as ``before_cursor_execute`` sees it): an executemany's, or the
    new comments of a group commit's one statement of writes on PostgreSQL (all in one JSON parameter)."""
    if many:
        return len(parameters)
    if isinstance(parameters, dict) and "new_comments" in parameters:
        return len(parameters["new_comments"].obj)  # psycopg's Json, as SQLAlchemy passes it
    return 1


RawAnswer = tuple[int, list[tuple[bytes, bytes]], bytes]


def call_raw(
    portal: Any, app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[RawAnswer, dict[str, Any]]:
    """An ASGI app called with a raw scope from a synchronous test, through an anyio portal: the answer (its
    request id left out, as it differs on every request) and the scope after. The body arrives in
    ``chunks``, one message each. ``path`` may end in a query (``?site=test``), sent as the query string
    as it is."""
    path, _, query = path.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("testserver", 80),
        "client": ("203.0.113.7", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query.encode("latin-1"),
        "headers": [(b"host", b"testserver"), *headers],
        "state": {},
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks or [b""])
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    portal.call(app, scope, receive, send)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    kept = [(name, value) for name, value in start["headers"] if name != b"x-request-id"]
    return (start["status"], kept, body), scope


class FastAndPlain:
    """An app with one of the envelope's fast paths (``fast_path``: "posts", "likes" or "forms") and the
    same app without it, whose requests go to the router: the tests of a fast path hold its answers to the
    route's, calling both with raw ASGI scopes from synchronous tests."""

    fast_path = ""

    def __init__(self, portal: Any, settings: Any, ctx: Any) -> None:
        from rejoinder.web.app import Rejoinder, create_app

        self.portal = portal
        self.fast, self.plain = create_app(settings, context=ctx), create_app(settings, context=ctx)
        assert isinstance(self.plain, Rejoinder) and self.plain.envelope is not None
        setattr(self.plain.envelope, self.fast_path, False)


# The machine's Redis, or the one REJOINDER_TEST_REDIS names; tests keep to keys and channels of their own.
REDIS_URL = os.environ.get("REJOINDER_TEST_REDIS", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    """Fails the test, saying how to start it, when Redis is not reachable at ``REDIS_URL``."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); scripts/services redis starts it")
    finally:
        client.close()
