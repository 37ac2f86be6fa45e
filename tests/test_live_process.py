"""Live updates against a real ``rejoinder serve`` process, over real HTTP connections."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ARTICLE, comment_payload
from tests.sse import PATH, Reader
from tests.test_process import Server, rejoinder, serving

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    database = f"sqlite:///{tmp_path / 'live.db'}"
    for key, flags in {"open": [], "held": ["--moderation"]}.items():
        rejoinder(
            "admin", "site", "create", key, "--origin", "https://blog.example", *flags,
            "--set", "spam_filter=false", "--database", database, cwd=tmp_path,
        )  # fmt: skip
    with serving(tmp_path, "serve", database) as running:
        yield running


@contextlib.asynccontextmanager
async def following(base_url: str, site: str) -> AsyncIterator[Reader]:
    """An open stream of the test article's thread, read in the background."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
        http.stream("GET", PATH, params={"site": site, "url": ARTICLE}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        reader = Reader()

        async def pump() -> None:
            async for chunk in response.aiter_raw():
                reader.feed(chunk)

        pumping = asyncio.create_task(pump())
        await reader.opened()
        assert reader.raw.startswith("retry:")  # the stream is open and flushed
        try:
            yield reader
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await pumping


async def test_a_posted_comment_its_like_and_its_edit_reach_an_open_stream(server: Server) -> None:
    async with (
        following(server.base_url, "open") as reader,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        payload = comment_payload("Live from a real process", site="open")
        answer = await http.post("/api/v1/comments", json=payload)
        assert answer.status_code == 201
        event = await reader.event()
        assert event.event == "comment" and event.data == answer.json()["comment"]
        assert (await reader.event()).data == {"comment_count": 1}

        comment_id, token = event.data["id"], answer.json()["edit_token"]
        liker = {"X-Rejoinder-Liker": "reader-0001"}
        liked = await http.put(f"/api/v1/comments/{comment_id}/like", headers=liker)
        assert liked.status_code == 200
        like = await reader.event()
        assert (like.event, like.data["id"], like.data["likes"]) == ("update", comment_id, 1)

        edited = await http.patch(
            f"/api/v1/comments/{comment_id}",
            json={"body": "Edited live"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert edited.status_code == 200
        edit = await reader.event()
        assert edit.event == "update" and edit.data["comment"]["html"] == "<p>Edited live</p>"


async def test_a_held_comment_never_appears_on_the_stream(server: Server) -> None:
    async with (
        following(server.base_url, "held") as reader,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        answer = await http.post("/api/v1/comments", json=comment_payload("Hold me, secretly", site="held"))
        assert answer.status_code == 201 and answer.json()["comment"]["status"] == "pending"
        assert await reader.events_until_quiet(quiet=1.0) == []
        assert "secretly" not in reader.raw


def test_stopping_the_server_ends_open_streams_and_exits_cleanly(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http, http.stream(
        "GET", PATH, params={"site": "open", "url": ARTICLE}
    ) as response:
        assert response.status_code == 200
        server.process.send_signal(signal.SIGTERM)
        # Returns once the server has ended the stream. A stream the stop left open would send nothing
        # before its next keep-alive line, 20 s away, and the client's 10 s read time-out would end the
        # test with that error.
        body = b"".join(response.iter_raw())
    assert body.startswith(b"retry:")
    assert server.process.wait(timeout=10) == 0
    assert "Application shutdown complete" in server.output()
