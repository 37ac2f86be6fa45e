"""The moderators' dashboard at ``/dashboard/``: server-rendered pages over the moderation API."""

from __future__ import annotations

from fastapi import APIRouter

from rejoinder.web.dashboard import (
    account_page,
    assets,
    import_page,
    overview_page,
    queue_page,
    site_pages,
)

ROUTERS: tuple[APIRouter, ...] = (
    assets.router,
    queue_page.router,
    overview_page.router,
    site_pages.router,
    import_page.router,
    account_page.router,
)
