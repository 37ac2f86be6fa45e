"""``GET /api/v1/threads/events``: a thread's changes as Server-Sent Events, for the widget's live updates.

The stream itself is a plain ASGI response: its frames come from the process's ``LiveHub`` (rejoinder/
live.py), and it ends when the reader goes away, falls too far behind, or the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from rejoinder.context import Context
from rejoinder.live import OPENING, LiveHub, Stream
from rejoinder.sites import cached_site
from rejoinder.threads import thread_key
from rejoinder.web import schemas
from rejoinder.web.serialize import public_comment

router = APIRouter(prefix="/api/v1")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once instead of buffering the response
]

DESCRIPTION = """A Server-Sent Events stream (`text/event-stream`) of what changes in the thread, for as
long as the connection stays open. Events, each with an `id:`:

* `comment` — a newly published comment (or one a moderator just approved), its JSON exactly as
  `GET /api/v1/comments` lists it (with `"replies": []`);
* `update` — a comment edited, liked, deleted or moderated: `{"id", "likes", "gone": false, "comment"}`
  with its public fields (status `deleted` for a placeholder), or `{"id", "gone": true}` when it no longer
  shows (held or marked as spam);
* `count` — the thread's comment count: `{"comment_count"}`.

Held and spam comments are never sent. A comment line (`: keep-alive`) comes every
`sse_keep_alive_seconds` (20 s). A thread with no comments yet can be followed too: its first comment
arrives like any other. Over `sse_max_connections` open streams the answer is 503 with `Retry-After`."""


class EventStream(Response):
    """Writes a ``Stream``'s frames as they come; ends when the client disconnects or the stream closes."""

    def __init__(self, hub: LiveHub, stream: Stream) -> None:
        super().__init__(status_code=200)
        self.hub = hub
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = self.stream

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            stream.close()

        watching = asyncio.get_running_loop().create_task(watch_disconnect())
        try:
            # CORS and other middleware add their headers to these, as to every answer.
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await send({"type": "http.response.body", "body": OPENING, "more_body": True})
            while (frame := await stream.next()) is not None:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            with contextlib.suppress(OSError):  # the client may be gone already
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write (uvicorn's ClientDisconnected)
        finally:
            watching.cancel()
            self.hub.release(stream)


@router.get(
    "/threads/events",
    summary="Follow a thread live (Server-Sent Events)",
    description=DESCRIPTION,
    response_class=Response,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The stream of events."},
        404: {"model": schemas.ErrorOut},
        422: {"model": schemas.ErrorOut},
        503: {"model": schemas.ErrorOut, "description": "Too many open streams; see `Retry-After`."},
    },
)
async def thread_events(
    request: Request,
    site: Annotated[str, Query(description="Key of the site.")],
    url: Annotated[str, Query(description="Address of the article page.")],
) -> Response:
    ctx: Context = request.app.state.ctx
    key = thread_key(site, url)  # a URL that cannot be a thread: 422 naming `url`
    await run_in_threadpool(cached_site, ctx, site)  # an unknown site: 404 naming `site`
    stream = ctx.live.open(key, public_comment)
    return EventStream(ctx.live, stream)


class StreamClosingServer(uvicorn.Server):
    """uvicorn's server, closing live streams as soon as it is asked to stop.

    uvicorn waits for open responses to finish before it runs the application's shutdown, and a stream
    never finishes by itself: without this, stopping the server would hang until every reader left.
    """

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        ctx = getattr(getattr(self.config.app, "state", None), "ctx", None)
        if isinstance(ctx, Context):
            ctx.live.close()
