"""The queue page: one of the five queues, of one site or all, searched and sorted, a page at a time."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from rejoinder import queue
from rejoinder.model import Moderator
from rejoinder.queue import QueueFilter
from rejoinder.web.auth import page_user, require_site
from rejoinder.web.dashboard.frame import choices, query_string, render, visible_sites
from rejoinder.web.dashboard.queues import ACTION_LABELS, ACTIONS, FILTERS, KEYS, PIN_ACTIONS, STATUSES
from rejoinder.web.moderation_api import item_json

router = APIRouter(include_in_schema=False)
User = Annotated[Moderator, Depends(page_user)]
Filter = Annotated[str, Query(max_length=queue.MAX_FILTER)]
PAGE_SIZE = 25


@router.get("/dashboard/")
def queue_page(
    request: Request,
    user: User,
    status: Annotated[str, Query(pattern="^(pending|spam|reported|published|deleted)$")] = "pending",
    site: Annotated[str, Query(max_length=64)] = "",
    sort: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    q: Filter = "",
    author: Filter = "",
    email: Filter = "",
    ip: Filter = "",
    url: Filter = "",
    cursor: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    ctx = request.app.state.ctx
    if site:
        require_site(user, site)
    filters = QueueFilter(site or None, status, q, author, email, ip, url, sort)
    items, next_cursor = queue.list_queue(ctx, user, filters, cursor or None, PAGE_SIZE)
    query = {"status": status, "site": site, "sort": sort, "q": q, "author": author, "email": email}
    query |= {"ip": ip, "url": url}
    # "Everything matching" acts on what the list query finds: the same keys, without order or page.
    matching = {k: v for k, v in query.items() if v and k != "sort"}
    return render(
        request,
        user,
        "queue.html",
        "queue",
        query={**query, "cursor": cursor},
        statuses=STATUSES,
        sites=choices(visible_sites(ctx, user)),
        comments=[item_json(item) for item in items],
        next_cursor=next_cursor or "",
        actions=ACTIONS[status],
        pin_actions=PIN_ACTIONS.get(status, ()),
        action_labels=ACTION_LABELS,
        keys_json=json.dumps(KEYS[status]),
        filter_json=json.dumps(matching),
        filtered=any(query[name] for name in FILTERS),
        query_with=lambda **changes: query_string(query, **changes),
    )
