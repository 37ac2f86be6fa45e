"""The moderators' dashboard at ``/dashboard/``: server-rendered pages over the moderation API."""

from __future__ import annotations

from fastapi import APIRouter

from rejoinder.web.dashboard import account_page, assets

ROUTERS: tuple[APIRouter, ...] = (assets.router, account_page.router)
