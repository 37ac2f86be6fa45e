"""Atom feeds of comments: the whole site's and one thread's (``rejoinder.feeds`` builds them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder import feeds
from rejoinder.sites import SITE_KEY

router = APIRouter(prefix="/feeds", tags=["feeds"])
ATOM_TYPE = "application/atom+xml; charset=utf-8"
# Feed readers poll: a minute's staleness spares the database most of their requests.
HEADERS = {"Cache-Control": "public, max-age=60"}
SiteKey = Annotated[str, Path(pattern=SITE_KEY.pattern, description="Key of the site.", examples=["demo"])]


@router.get("/{site}.atom", summary="Atom feed of a site's newest comments", response_class=Response)
async def site_feed(request: Request, site: SiteKey) -> Response:
    body = await run_in_threadpool(feeds.site_feed, request.app.state.ctx, site)
    return Response(body, media_type=ATOM_TYPE, headers=HEADERS)


@router.get("/{site}/thread.atom", summary="Atom feed of a thread's newest comments", response_class=Response)
async def thread_feed(
    request: Request, site: SiteKey, url: Annotated[str, Query(description="Address of the article page.")]
) -> Response:
    body = await run_in_threadpool(feeds.thread_feed, request.app.state.ctx, site, url)
    return Response(body, media_type=ATOM_TYPE, headers=HEADERS)
