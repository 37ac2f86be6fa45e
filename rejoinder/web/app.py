"""``create_app(settings)``: the ASGI application, with the database opened in its lifespan."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

from rejoinder import __version__
from rejoinder.allocator import collect_less_often, configure_malloc, freeze_startup_objects
from rejoinder.context import Context
from rejoinder.demo import cross_origin_url
from rejoinder.logs import configure_logging
from rejoinder.rendering import prepare as prepare_rendering
from rejoinder.settings import Settings, load_settings
from rejoinder.store.db import backend_of
from rejoinder.web import (
    akismet,
    api,
    apidocs,
    auth,
    bans_api,
    data_requests,
    demo,
    errors,
    feeds,
    icon,
    login,
    me,
    moderation_api,
    notify,
    operations,
    pages,
    reader,
    site_settings_api,
    sse,
    widget,
)
from rejoinder.web.dashboard import ROUTERS as DASHBOARD_ROUTERS
from rejoinder.web.envelope import Envelope
from rejoinder.web.middleware import (
    ClientAddressRequired,
    RefusedAgain,
    RequestSizeLimit,
    SiteCORS,
)
from rejoinder.web.page_parts import PageParts
from rejoinder.web.serialize import Fragments
from rejoinder.web.sse import StreamClosingServer
from rejoinder.web.turns import WriteSlices, WriteTurns, writes_slice
from rejoinder.web.wire import HTTP_PROTOCOL, WriteAnswer
from rejoinder.wiring import open_context
from rejoinder.worker import Runner

log = logging.getLogger(__name__)
JOB_STOP_SECONDS = 10  # how long a stopping server waits for the background job it is running
# The kept comment fragments' budget, a share of ``cache_max_mb``: 2 MiB of the default 128 hold the threads
# being written to, the only ones whose pages are rebuilt from fragments (docs/benchmarks.md, "Memory").
FRAGMENTS_SHARE = 64
# The layouts of the last pages made of those threads, which hold their bodies: a page made again after a
# write is patched from the one before (web/page_parts.py). 8 MiB of the default 128: beside 32 writers the
# pages made again most often took 4-8 MiB (2 MiB held 25 layouts, and two thirds of the pages were made
# whole), and a layout's body is the read cache's answer again once its page is read after the write.
PAGE_PARTS_SHARE = 16

# FastAPI's own OpenTelemetry hooks ask whether a provider is configured on every request (three
# environment lookups, a sixth of a cached read's CPU); Rejoinder counts and logs its requests itself
# (web/envelope.py). Only FastAPI versions that have the hooks take the argument.
NO_FRAMEWORK_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)

DESCRIPTION = """Rejoinder's public API: threads, comments, likes and counts.

Every error answers `{"error": {"code", "message", "fields"}}`, where `fields` names each offending
field with the rule it broke. No response ever contains an e-mail or IP address."""


class Rejoinder(FastAPI):
    """FastAPI with the envelope (``web/envelope.py``) around all of it, its own error and body-limit layers
    included. A read answered from memory then passes through one layer, not six: Starlette's and
    FastAPI's outer layers were a twentieth of such a read's CPU (docs/benchmarks.md). An exception that
    escapes is answered by Starlette's error layer inside the envelope, so a 500 gets the security headers
    and request id of any answer."""

    envelope: Envelope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.envelope is None or scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        scope["app"] = self  # as Starlette sets it, for the envelope and what it answers from memory
        await self.envelope(scope, receive, send)

    def answer_now(self, scope: Scope, write: WriteAnswer) -> bool:
        """A ``GET`` answered from memory straight from the server's protocol (``web/wire.py``), or False."""
        if self.envelope is None:
            return False
        scope["app"] = self
        return self.envelope.answer_now(scope, write)

    async def _framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app_from_environment() -> FastAPI:
    """The app of one worker process of ``rejoinder serve --workers N`` (settings from the environment)."""
    configure_malloc()  # before the log's thread exists
    settings = load_settings()
    configure_logging(settings, batched=True)
    return create_app(settings)


def create_app(settings: Settings, context: Context | None = None, *, with_demo: bool = False) -> FastAPI:
    """Build the application; ``context`` lets a caller share an already opened one. ``with_demo`` mounts
    the demo's pages under ``/demo/``: ``rejoinder demo`` does, ``rejoinder serve`` never does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or open_context(settings, start=True)
        app.state.ctx = ctx
        prepare_rendering()
        if context is None:  # a server's own process (tests share theirs: nothing of it is frozen)
            freeze_startup_objects()
            collect_less_often()
        runner = None
        if context is None and settings.jobs_in_process:
            runner = Runner(ctx.jobs, poll_seconds=settings.jobs_poll_seconds).start()
        try:
            yield
        finally:
            if runner is not None and not await asyncio.to_thread(runner.join, JOB_STOP_SECONDS):
                log.warning("stopped with a job still running: it runs again once its lease ends")
            if context is None:
                ctx.close()

    app = Rejoinder(
        **NO_FRAMEWORK_TELEMETRY,
        title="Rejoinder",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url=None,  # web/apidocs.py serves it without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    if context is not None:
        app.state.ctx = context  # usable before (or without) the lifespan, as in-process tests do
    app.state.templates = pages.Templates()
    app.state.fragments = Fragments(max_bytes=settings.cache_max_mb * 1024 * 1024 // FRAGMENTS_SHARE)
    app.state.page_parts = PageParts(
        app.state.fragments, max_bytes=settings.cache_max_mb * 1024 * 1024 // PAGE_PARTS_SHARE
    )
    app.state.assets = widget.Assets()
    errors.install(app)
    app.add_exception_handler(auth.LoginRequired, auth.login_handler)
    routers: tuple[APIRouter, ...] = (api.router, pages.router, widget.router, icon.router, akismet.router)
    routers += (operations.router, sse.router, apidocs.router, login.router, me.router, moderation_api.router)
    routers += (notify.router, notify.api_router, feeds.router, data_requests.router)
    routers += (data_requests.api_router,)
    routers += (bans_api.router, site_settings_api.router, reader.pages, reader.router)
    routers += DASHBOARD_ROUTERS
    if with_demo:
        routers += (demo.router,)
    for router in routers:
        app.include_router(router)
    # The envelope (security headers, request id, metrics, log line) goes around every answer, outside
    # the framework's own layers, and sends cached reads and likes itself. Of the middleware, added last
    # runs first: CORS wraps the rest, refusals repeated at the door, and writes that reach the router
    # start on a slice of each turn of the loop.
    # One for the app: the comments the envelope answers keep to it too.
    slices = WriteSlices(writes_slice(backend_of(settings.database_url)))
    app.add_middleware(WriteTurns, slices=slices)
    app.add_middleware(RefusedAgain)
    app.add_middleware(RequestSizeLimit)
    app.add_middleware(SiteCORS)
    app.add_middleware(ClientAddressRequired)
    app.envelope = Envelope(app._framework, routers=routers, slices=slices)
    return app


def serve_demo_origin(settings: Settings, article: str) -> str | None:
    """Serve the demo's cross-origin twin on the next port, from a background thread; its address, or None
    if that port is taken."""
    elsewhere = cross_origin_url(settings.host, settings.port)
    if demo.serve_cross_origin_page(settings.host, settings.port + 1, settings.base_url, article):
        return elsewhere
    return None


def run(settings: Settings, workers: int = 1, *, with_demo: bool = False) -> bool:
    """Serve until stopped (uvicorn); False if the server could not start. With several ``workers``, each
    process builds its app with ``create_app_from_environment``."""
    configure_malloc()  # for callers other than the CLI, which did so before it started any thread
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # its records go through our handler (rejoinder/logs.py)
        "log_level": settings.log_level,
        "access_log": False,  # replaced by one line per request of our own, with route and request id
        "server_header": False,
        "proxy_headers": False,  # client addresses come from the trusted_proxies setting, nowhere else
        "http": HTTP_PROTOCOL,  # an answer's head and body in one write (web/wire.py)
    }
    if settings.unix_socket:
        options["uds"] = settings.unix_socket
    if workers > 1:
        # Open live streams would hold a stop forever: uvicorn's workers close them after this long.
        uvicorn.run(
            "rejoinder.asgi:create", factory=True, workers=workers, timeout_graceful_shutdown=5, **options
        )
        return True
    server = StreamClosingServer(uvicorn.Config(create_app(settings, with_demo=with_demo), **options))
    server.run()  # uvicorn.run, but open live streams end on a stop
    return bool(server.started)
