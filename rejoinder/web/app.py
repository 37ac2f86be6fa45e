"""``create_app(settings)``: the ASGI application, with the database opened in its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from rejoinder import __version__
from rejoinder.context import Context
from rejoinder.settings import Settings
from rejoinder.spam.retention import purge_periodically
from rejoinder.web import akismet, api, errors, pages, sse, widget
from rejoinder.web.middleware import CachedReads, RequestSizeLimit, SiteCORS
from rejoinder.web.serialize import Fragments

DESCRIPTION = """Rejoinder's public API: threads, comments, likes and counts.

Every error answers `{"error": {"code", "message", "fields"}}`, where `fields` names each offending
field with the rule it broke. No response ever contains an e-mail or IP address."""


def create_app(settings: Settings, context: Context | None = None) -> FastAPI:
    """Build the application; ``context`` lets a caller share an already opened one (the demo does)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or Context.open(settings)
        app.state.ctx = ctx
        purging = asyncio.create_task(purge_periodically(ctx)) if context is None else None
        try:
            yield
        finally:
            if purging is not None:
                purging.cancel()
            if context is None:
                ctx.close()

    app = FastAPI(
        title="Rejoinder",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    if context is not None:
        app.state.ctx = context  # usable before (or without) the lifespan, as in-process tests do
    app.state.templates = pages.templates()
    app.state.fragments = Fragments()
    errors.install(app)
    app.include_router(api.router)
    app.include_router(sse.router)
    app.include_router(pages.router)
    app.include_router(widget.router)
    app.include_router(akismet.router)
    # Added last runs first: CORS wraps everything, cached reads answer before the router.
    app.add_middleware(CachedReads)
    app.add_middleware(RequestSizeLimit)
    app.add_middleware(SiteCORS)
    return app
