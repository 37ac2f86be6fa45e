"""Pages about one site: the first-run page (the snippet to paste), its settings, bans and lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from rejoinder.model import Moderator, Role
from rejoinder.web.auth import page_user
from rejoinder.web.dashboard.frame import one_site, render

router = APIRouter(include_in_schema=False)
User = Annotated[Moderator, Depends(page_user)]
COUNT_SNIPPET = '<a href="https://blog.example/a-post/" data-rejoinder-count>Comments</a>'


@router.get("/dashboard/sites/{site_key}/welcome")
def welcome_page(request: Request, user: User, site_key: str) -> Response:
    """What a new site needs: the embed snippet (naming this server as readers reach it), its origins."""
    ctx = request.app.state.ctx
    site, _ = one_site(ctx, user, site_key)
    server = ctx.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    snippet = (
        '<div id="rejoinder-thread"></div>\n'
        f'<script src="{server}/embed.js" data-site="{site.key}" async></script>'
    )
    return render(
        request,
        user,
        "welcome.html",
        "overview",
        site=site,
        snippet=snippet,
        count_snippet=COUNT_SNIPPET,
        is_admin=user.may(site.key, Role.ADMIN),
    )
