"""The overview: comments per day, held, spam caught and approved over the last 30 days, as a chart drawn
on the server, and the moderator's sites (a site without comments yet links to its first-run page)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from rejoinder import queue
from rejoinder.model import Moderator, Role
from rejoinder.threads import unused_sites
from rejoinder.web.auth import page_user, require_site
from rejoinder.web.dashboard import chart
from rejoinder.web.dashboard.frame import choices, frame, render, visible_sites

router = APIRouter(include_in_schema=False)
User = Annotated[Moderator, Depends(page_user)]
DAYS = 30


@router.get("/dashboard/overview")
def overview_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    ctx = request.app.state.ctx
    if site:
        require_site(user, site)
    sites = visible_sites(ctx, user)
    days = [asdict(day) for day in queue.stats(ctx, user, site or None, DAYS)]
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
    return render(
        request,
        user,
        "overview.html",
        "overview",
        site=site,
        sites=choices(sites),
        roles={s.key: (user.role_on(s.key) or Role.MODERATOR).value for s in sites},
        days=days,
        totals=totals,
        chart=chart.draw(days, labels),
        new_sites=choices(unused_sites(ctx, sites)),
    )
