"""Long Markdown is rendered off the event loop: the parser can take 0.1 s over some 10,000-character
shapes, and readers are answered meanwhile; the HTML is what the loop would have made. New comments,
previews and edits all render it on the context's own render threads, never on those the rest of the
server shares."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from rejoinder import rendering
from rejoinder.context import RENDER_THREADS, Context
from rejoinder.rendering import MAX_QUICK_MARKUP, render, render_markup, render_quickly
from rejoinder.settings import Settings
from rejoinder.sites import create_site
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, log_in, make_moderator, post, read

RENDER_THREAD_NAMES = {f"rejoinder-render_{n}" for n in range(RENDER_THREADS)}
# More than Starlette's thread pool ever runs at once (anyio's default limit of 40 threads): a flood of
# this many, each holding one of its threads, would leave none for anything else.
SHARED_POOL_THREADS = 40

# Each within the default body limit of 10,000 characters.
SLOW_SHAPES = [
    "*a* " * 2499 + "`",
    "`" + "*a* " * 2499,
    "[a](" * 2000,
    "[" * 4000 + "]" * 4000,
    "_a_ " * 2499 + "`x",
]


class Gate:
    """Holds every parser render until opened, and notes the thread each ran on."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.open = threading.Event()
        self.threads: list[int] = []
        self.names: list[str] = []
        self.let_go = 0  # renders that went on, the gate open or tired of waiting

    def hold(self, html: str) -> None:
        self.threads.append(threading.get_ident())
        self.names.append(threading.current_thread().name)
        self.started.set()
        self.open.wait(timeout=10)
        self.let_go += 1


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()
    sanitise = rendering.sanitise

    def held(html: str) -> str:
        gate.hold(html)
        return sanitise(html)

    monkeypatch.setattr(rendering, "sanitise", held)
    yield gate
    gate.open.set()


@pytest.mark.parametrize("source", SLOW_SHAPES)
def test_long_markup_is_left_for_the_parser_and_renders_the_same(source: str) -> None:
    assert render_quickly(source) is None
    assert render(source) == render_markup(source)


def test_short_markup_prose_and_simple_spans_render_at_once() -> None:
    assert render_quickly("[" * (MAX_QUICK_MARKUP // 2) + "]" * (MAX_QUICK_MARKUP // 2)) is not None
    assert render_quickly(("Plain prose, long enough. " * 400).strip()) is not None
    assert render_quickly(("Some *words* with a [link](https://example.com/a). " * 200).strip()) is not None


async def test_readers_are_answered_while_a_long_comment_renders(
    client: httpx.AsyncClient, site: str, gate: Gate
) -> None:
    body = SLOW_SHAPES[0]
    await post(client, "First.")
    answered: list[str] = []

    async def posting() -> dict[str, object]:
        posted = await post(client, body)
        answered.append("post")
        return posted

    posted = asyncio.create_task(posting())
    while not gate.started.is_set():
        assert not posted.done(), posted.result()
        await asyncio.sleep(0.01)
    # The render is held in its thread: the loop still answers this read, then lets the render finish.
    assert [c["html"] for c in (await read(client))["comments"]] == ["<p>First.</p>"]
    answered.append("read")
    gate.open.set()
    comment = (await posted)["comment"]
    assert answered == ["read", "post"]
    assert threading.get_ident() not in gate.threads
    assert comment["html"] == render(body)  # as rendered here, on the loop's own thread


async def test_short_markup_is_rendered_on_the_loop(client: httpx.AsyncClient, site: str, gate: Gate) -> None:
    gate.open.set()
    await post(client, "Plain prose, no markup at all.")
    assert gate.threads == []  # plain prose never reaches the parser
    await post(client, "A **short** comment with [a link](https://example.com/?a=1).")
    assert gate.threads == [threading.get_ident()]


async def test_a_flood_of_long_comments_waits_for_threads_of_its_own(
    client: httpx.AsyncClient, site: str, gate: Gate
) -> None:
    """Long Markdown is rendered by the context's few render threads: a flood of it queues there, and the
    threads the rest of the server shares (the loop's executor: likes' and rate limits' round trips) stay
    free, while other comments are written."""
    # More than the loop's executor ever has threads (32 at most): each would have held one.
    bodies = [f"{n} " + "[" * 200 + "]" * 200 for n in range(33)]
    flood = [asyncio.create_task(post(client, body)) for body in bodies]
    while len(gate.threads) < RENDER_THREADS:
        assert not any(task.done() for task in flood), [task.result() for task in flood if task.done()]
        await asyncio.sleep(0.01)
    # Every render thread is held: the loop's executor still runs work at once ...
    assert await asyncio.to_thread(lambda: gate.let_go) == 0
    # ... and a comment that needs no thread is written and read back meanwhile.
    await post(client, "Short and plain.")
    assert gate.let_go == 0
    assert "<p>Short and plain.</p>" in [c["html"] for c in (await read(client))["comments"]]
    assert len(gate.threads) == RENDER_THREADS and not any(task.done() for task in flood)
    gate.open.set()
    posted = await asyncio.gather(*flood)
    assert set(gate.names) <= RENDER_THREAD_NAMES  # the flood's too
    assert [p["comment"]["html"] for p in posted] == [render(body) for body in bodies]


def test_closing_the_context_stops_its_render_threads(ctx: Context) -> None:
    assert ctx.renders.submit(render_markup, "[" * 200 + "]" * 200).result(timeout=10).startswith("<p>")
    ctx.close()
    with pytest.raises(RuntimeError, match="shutdown"):
        ctx.renders.submit(render_markup, "*a*")


async def test_a_flood_of_long_previews_waits_for_the_render_threads(settings: Settings, gate: Gate) -> None:
    """Previews render where new comments do: with every render thread held by a flood of long previews,
    work on the threads the server shares (a cold read of a thread, a sync endpoint) is still answered,
    and so is a preview of prose, on the loop."""
    unlimited = settings.model_copy(update={"preview_rate_limit": "off"})
    ctx = open_context(unlimited)
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    transport = httpx.ASGITransport(app=create_app(unlimited, context=ctx), client=("203.0.113.7", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = await post(client, "First.")
            bodies = [f"{n} " + "[" * 200 + "]" * 200 for n in range(SHARED_POOL_THREADS + 1)]
            flood = [asyncio.create_task(client.post("/api/v1/preview", json={"body": b})) for b in bodies]
            while len(gate.threads) < RENDER_THREADS:
                assert not any(task.done() for task in flood), [t.result().text for t in flood if t.done()]
                await asyncio.sleep(0.01)
            ctx.cache.clear()  # the read below goes to the database, through the shared pool
            assert [c["html"] for c in (await read(client))["comments"]] == ["<p>First.</p>"]
            own = await client.get(
                f"/api/v1/comments/{first['comment']['id']}",
                headers={"Authorization": f"Bearer {first['edit_token']}"},
            )
            assert own.status_code == 200 and own.json()["source"] == "First."
            prose = await client.post("/api/v1/preview", json={"body": "Plain prose."})
            assert prose.json() == {"html": "<p>Plain prose.</p>"}
            # All answered while the flood's renders were still held, two at a time on the render threads.
            assert gate.let_go == 0 and len(gate.threads) == RENDER_THREADS
            assert not any(task.done() for task in flood)
            gate.open.set()
            previews = await asyncio.gather(*flood)
        assert set(gate.names) == RENDER_THREAD_NAMES  # before this thread renders the expected HTML
        assert [p.json()["html"] for p in previews] == [render(body) for body in bodies]
    finally:
        gate.open.set()
        ctx.close()


async def test_an_edit_is_rendered_for_its_author_only_and_on_the_render_threads(
    client: httpx.AsyncClient, site: str, gate: Gate
) -> None:
    gate.open.set()
    posted = await post(client, "Plain to start with.")
    path = f"/api/v1/comments/{posted['comment']['id']}"
    body = "[" * 200 + "]" * 200
    forged = await client.patch(path, json={"body": body}, headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    assert gate.threads == []  # refused before the text was rendered
    edited = await client.patch(
        path, json={"body": body}, headers={"Authorization": f"Bearer {posted['edit_token']}"}
    )
    assert edited.status_code == 200, edited.text
    assert len(gate.names) == 1 and set(gate.names) <= RENDER_THREAD_NAMES
    assert edited.json()["comment"]["html"] == render(body)
    assert [c["html"] for c in (await read(client))["comments"]] == [render(body)]


async def test_a_moderators_edit_is_rendered_on_the_render_threads(
    client: httpx.AsyncClient, ctx: Context, site: str, gate: Gate
) -> None:
    gate.open.set()
    posted = await post(client, "Plain to start with.")
    make_moderator(ctx, "mod@blog.example")
    csrf = await log_in(client, "mod@blog.example")
    body = "[" * 200 + "]" * 200
    edited = await client.patch(
        f"/api/v1/moderation/comments/{posted['comment']['id']}",
        json={"body": body},
        headers={"X-CSRF-Token": csrf},
    )
    assert edited.status_code == 200, edited.text
    assert len(gate.names) == 1 and set(gate.names) <= RENDER_THREAD_NAMES
    assert edited.json()["comment"]["html"] == render(body) and edited.json()["comment"]["body"] == body
    assert (await read(client, ARTICLE))["comments"][0]["html"] == render(body)
