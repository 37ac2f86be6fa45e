"""The dashboard's pages. Each reads through the same services as the moderation API and renders on the
server; every change is made by the page's script through the JSON API, with the session's CSRF token.
A moderator sees only the sites they have a role on: every page filters by ``Moderator.may``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import FileResponse, Response

from rejoinder import sessions
from rejoinder.context import Context
from rejoinder.errors import NotFound
from rejoinder.model import Moderator, Role, Site
from rejoinder.sites import list_sites
from rejoinder.web.auth import page_user, require_site, session_token
from rejoinder.web.dashboard import chart, sources
from rejoinder.web.dashboard.queues import ACTION_LABELS, ACTIONS, KEYS, STATUSES
from rejoinder.web.dashboard.frame import frame, query_string, remember_language

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parents[1] / "static"
FILES = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
User = Annotated[Moderator, Depends(page_user)]

FILTERS = ("q", "author", "email", "ip", "url")
BAN_DAYS = (1, 7, 30, 365, 0)  # 0: never expires
OVERVIEW_DAYS = 30


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _render(request: Request, user: Moderator, template: str, section: str, **extra: Any) -> Response:
    ctx = _ctx(request)
    token = session_token(request)
    context = frame(
        request,
        user=user,
        section=section,
        csrf_token=sessions.csrf_token(ctx, token) if token else "",
        **extra,
    )
    response = request.app.state.templates.TemplateResponse(
        request, f"dashboard/{template}", context, headers={"Cache-Control": "no-store"}
    )
    return remember_language(request, response)


def visible_sites(ctx: Context, user: Moderator, role: Role = Role.MODERATOR) -> list[Site]:
    return [site for site in list_sites(ctx) if user.may(site.key, role)]


def _choices(sites: list[Site]) -> list[tuple[str, str]]:
    return [(site.key, site.name) for site in sites]


def _one_site(ctx: Context, user: Moderator, asked: str, role: Role = Role.MODERATOR) -> tuple[str, list[Site]]:
    """The site a one-site page is about (the one asked for, else the user's first) and the choices."""
    sites = visible_sites(ctx, user, role)
    if asked:
        require_site(user, asked, role)
        return asked, sites
    if not sites:
        raise NotFound("you have no site with this role", {"site": f"needs the {role.value} role on a site"})
    return sites[0].key, sites


@router.get("/dashboard/static/{name}")
def static_file(name: str) -> Response:
    if name not in FILES:
        raise NotFound(f"no dashboard file {name!r}", {"name": "is not a file of the dashboard"})
    return FileResponse(STATIC / name, media_type=FILES[name], headers={"Cache-Control": "no-cache"})


@router.get("/dashboard/")
def queue_page(
    request: Request,
    user: User,
    status: Annotated[str, Query(pattern="^(pending|spam|reported|published|deleted)$")] = "pending",
    site: Annotated[str, Query(max_length=64)] = "",
    sort: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    q: Annotated[str, Query(max_length=200)] = "",
    author: Annotated[str, Query(max_length=200)] = "",
    email: Annotated[str, Query(max_length=320)] = "",
    ip: Annotated[str, Query(max_length=64)] = "",
    url: Annotated[str, Query(max_length=2000)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    ctx = _ctx(request)
    query = {"status": status, "site": site, "sort": sort, "q": q, "author": author, "email": email}
    query |= {"ip": ip, "url": url, "cursor": cursor}
    if site:
        require_site(user, site)
    found = sources.queue(ctx, user, query)
    the_filter = {k: v for k, v in query.items() if v and k not in ("sort", "cursor")}
    return _render(
        request,
        user,
        "queue.html",
        "queue",
        query=query,
        statuses=STATUSES,
        sites=_choices(visible_sites(ctx, user)),
        comments=found["comments"],
        next_cursor=found.get("next_cursor") or "",
        actions=ACTIONS[status],
        action_labels=ACTION_LABELS,
        keys_json=json.dumps(KEYS[status]),
        filter_json=json.dumps(the_filter),
        filtered=any(query[name] for name in FILTERS),
        query_with=lambda **changes: query_string(
            {k: v for k, v in query.items() if k != "cursor"}, **changes
        ),
    )


@router.get("/dashboard/overview")
def overview_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    ctx = _ctx(request)
    if site:
        require_site(user, site)
    sites = visible_sites(ctx, user)
    days = sources.stats(ctx, user, site or None, OVERVIEW_DAYS)
    totals = chart.totals(days)
    t = frame(request)["t"]
    labels = chart.Labels(
        title=t["per_day"],
        summary=t["chart_summary"].format(days=len(days), **totals),
        comments=t["comments"],
        held=t["held"],
        spam=t["spam_caught"],
        approved=t["approved"],
    )
    return _render(
        request,
        user,
        "overview.html",
        "overview",
        site=site,
        sites=_choices(sites),
        roles={s.key: (user.role_on(s.key) or Role.MODERATOR).value for s in sites},
        days=days,
        totals=totals,
        chart=chart.draw(days, labels),
        new_sites=_choices([s for s in sites if not sources.has_threads(ctx, s)]),
    )


@router.get("/dashboard/sites/{site_key}/welcome")
def welcome_page(request: Request, user: User, site_key: str) -> Response:
    ctx = _ctx(request)
    require_site(user, site_key)
    site = next(s for s in list_sites(ctx) if s.key == site_key)
    server = ctx.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    snippet = (
        '<div id="rejoinder-thread"></div>\n'
        f'<script src="{server}/embed.js" data-site="{site.key}" async></script>'
    )
    count_snippet = '<a href="https://your.site/a-post/" data-rejoinder-count>Comments</a>'
    return _render(
        request,
        user,
        "welcome.html",
        "overview",
        site=site,
        snippet=snippet,
        count_snippet=count_snippet,
        is_admin=user.may(site.key, Role.ADMIN),
    )


@router.get("/dashboard/settings")
def settings_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    ctx = _ctx(request)
    key, sites = _one_site(ctx, user, site, Role.ADMIN)
    chosen = next(s for s in list_sites(ctx) if s.key == key)
    return _render(
        request,
        user,
        "settings.html",
        "settings",
        site=chosen,
        admin_sites=_choices(sites),
        fields=sources.setting_fields(ctx, user, key),
    )


@router.get("/dashboard/bans")
def bans_page(
    request: Request,
    user: User,
    site: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(pattern="^(email|ip|network|domain)?$")] = "",
    value: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    ctx = _ctx(request)
    key, sites = _one_site(ctx, user, site)
    t = frame(request)["t"]
    return _render(
        request,
        user,
        "bans.html",
        "bans",
        site=key,
        site_choices=_choices(sites),
        bans=sources.bans(ctx, user, key),
        prefill={"kind": kind or "email", "value": value},
        durations=[(days, t[f"days_{days}"]) for days in BAN_DAYS],
    )


@router.get("/dashboard/lists")
def lists_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    ctx = _ctx(request)
    key, sites = _one_site(ctx, user, site)
    return _render(
        request,
        user,
        "lists.html",
        "lists",
        site=key,
        site_choices=_choices(sites),
        lists=sources.lists(ctx, user, key),
    )


@router.get("/dashboard/account")
def account_page(request: Request, user: User) -> Response:
    ctx = _ctx(request)
    return _render(
        request,
        user,
        "account.html",
        "account",
        sessions=sources.sessions(ctx, user, session_token(request)),
        tokens=sources.tokens(ctx, user),
    )
