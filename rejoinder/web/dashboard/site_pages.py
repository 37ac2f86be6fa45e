"""Pages about one site: the first-run page (the snippet to paste), its settings, bans and lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from rejoinder import blocklists
from rejoinder.bans import list_bans
from rejoinder.model import Moderator, Role
from rejoinder.web.auth import page_user
from rejoinder.web.dashboard.frame import choices, frame, one_site, render
from rejoinder.web.site_settings_api import settings_json

router = APIRouter(include_in_schema=False)
User = Annotated[Moderator, Depends(page_user)]
BAN_DAYS = (0, 1, 7, 30, 365)  # how long a ban lasts; 0 (the first offered): until lifted
LIST_KINDS = ("words", "domains", "emails", "ips")
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


@router.get("/dashboard/settings")
def settings_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The site's settings as a form generated from their declaration: each with its help and default."""
    ctx = request.app.state.ctx
    chosen, sites = one_site(ctx, user, site, Role.ADMIN)
    declared = settings_json(ctx, chosen)
    fields = [
        {
            **field,
            "label": field["name"].replace("_", " ").capitalize(),
            "value": declared["settings"].get(field["name"]),
            "default_text": _shown(field["default"]),
        }
        for field in declared["fields"]
    ]
    return render(
        request, user, "settings.html", "settings", site=chosen, admin_sites=choices(sites), fields=fields
    )


def _shown(default: object) -> str:
    """A default as the page says it; nothing for an empty one."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return ", ".join(map(str, default))
    return "" if default is None else str(default)


@router.get("/dashboard/bans")
def bans_page(
    request: Request,
    user: User,
    site: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(pattern="^(email|ip|network|domain|identity)?$")] = "",
    value: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    """The site's bans, and a form to add one (filled in when the queue's "Ban the author" leads here)."""
    ctx = request.app.state.ctx
    chosen, sites = one_site(ctx, user, site)
    t = frame(request)["t"]
    return render(
        request,
        user,
        "bans.html",
        "bans",
        site=chosen.key,
        site_choices=choices(sites),
        bans=[ban for _, ban in list_bans(ctx, user, chosen.key)],
        prefill={"kind": kind or "email", "value": value},
        durations=[(days, t[f"days_{days}"]) for days in BAN_DAYS],
    )


@router.get("/dashboard/lists")
def lists_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The word, domain, e-mail and address lists the site's spam filter reads, one textarea each."""
    ctx = request.app.state.ctx
    chosen, sites = one_site(ctx, user, site)
    lists = [(kind, blocklists.get_list(ctx, user, chosen.key, kind)) for kind in LIST_KINDS]
    return render(
        request, user, "lists.html", "lists", site=chosen.key, site_choices=choices(sites), lists=lists
    )
