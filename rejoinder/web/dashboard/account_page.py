"""The moderator's own sessions and personal API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from rejoinder import apikeys, sessions
from rejoinder.apikeys import ApiKeyKind
from rejoinder.model import Moderator
from rejoinder.web.auth import page_user, session_token
from rejoinder.web.dashboard.frame import render

router = APIRouter(include_in_schema=False)
User = Annotated[Moderator, Depends(page_user)]


@router.get("/dashboard/account")
def account_page(request: Request, user: User) -> Response:
    ctx = request.app.state.ctx
    found = sessions.find_session(ctx, session_token(request))
    return render(
        request,
        user,
        "account.html",
        "account",
        sessions=sessions.list_sessions(ctx, user),
        current_session=found[0].id if found else None,
        tokens=apikeys.list_keys(ctx, ApiKeyKind.PERSONAL, owner=user),
    )
