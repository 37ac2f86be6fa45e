"""The moderators' dashboard at ``/dashboard/``: server-rendered pages over the moderation API."""

from __future__ import annotations

from fastapi import APIRouter

from rejoinder.web.dashboard import account_page, assets, site_pages

ROUTERS: tuple[APIRouter, ...] = (assets.router, account_page.router, site_pages.router)
