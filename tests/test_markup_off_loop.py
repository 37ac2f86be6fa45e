"""Long Markdown is rendered off the event loop: the parser can take 0.1 s over some 10,000-character
shapes, and readers are answered meanwhile; the HTML is what the loop would have made."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from rejoinder import rendering
from rejoinder.context import RENDER_THREADS, Context
from rejoinder.rendering import MAX_QUICK_MARKUP, render, render_markup, render_quickly
from tests.helpers import post, read

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
    assert set(gate.names) <= {f"rejoinder-render_{n}" for n in range(RENDER_THREADS)}  # the flood's too
    assert [p["comment"]["html"] for p in posted] == [render(body) for body in bodies]


def test_closing_the_context_stops_its_render_threads(ctx: Context) -> None:
    assert ctx.renders.submit(render_markup, "[" * 200 + "]" * 200).result(timeout=10).startswith("<p>")
    ctx.close()
    with pytest.raises(RuntimeError, match="shutdown"):
        ctx.renders.submit(render_markup, "*a*")
