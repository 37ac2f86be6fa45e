"""``/api/v1/me``: the moderator asking, their sessions and their personal tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from rejoinder import apikeys, sessions
from rejoinder.apikeys import ApiKeyKind
from rejoinder.context import Context
from rejoinder.errors import Forbidden
from rejoinder.model import Moderator
from rejoinder.web import schemas
from rejoinder.web.auth import current_user, session_token
from rejoinder.web.serialize import dumps

router = APIRouter(
    prefix="/api/v1/me",
    tags=["moderators"],
    responses={status: {"model": schemas.ErrorOut} for status in (401, 403, 404, 422)},
)
User = Annotated[Moderator, Depends(current_user)]
Id = Annotated[int, Path(ge=1, le=schemas.MAX_ID)]


class NewTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field("", max_length=apikeys.MAX_LABEL)


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _json(data: object, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def _account(user: Moderator) -> Moderator:
    if not user.id:
        rule = {"Authorization": "must be a moderator's token or session"}
        raise Forbidden("a server-wide admin token is not an account", rule)
    return user


def me_json(user: Moderator) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "roles": {site: role.value for site, role in sorted(user.roles.items())},
        "totp": user.totp,
        "actor": user.actor,
    }


@router.get("", summary="Who am I (moderators)")
def me(request: Request, user: User) -> Response:
    """The account asking; with a session cookie, also the session's CSRF token for state changes."""
    token = session_token(request)
    found = me_json(user)
    if token and request.headers.get("authorization") is None:
        found["csrf_token"] = sessions.csrf_token(_ctx(request), token)
    return _json(found)


@router.get("/sessions", summary="My sessions (moderators)")
def my_sessions(request: Request, user: User) -> Response:
    ctx = _ctx(request)
    found = sessions.find_session(ctx, session_token(request))
    current = found[0].id if found else None
    listed = sessions.list_sessions(ctx, _account(user))
    return _json(
        {
            "sessions": [
                {
                    "id": s.id,
                    "created_at": s.created_at,
                    "last_seen_at": s.last_seen_at,
                    "expires_at": s.expires_at,
                    "user_agent": s.user_agent,
                    "current": s.id == current,
                }
                for s in listed
            ]
        }
    )


@router.delete("/sessions/{session_id}", status_code=204, summary="End one of my sessions (moderators)")
def revoke_session(request: Request, session_id: Id, user: User) -> Response:
    sessions.revoke_session(_ctx(request), _account(user), session_id)
    return Response(status_code=204)


def _token_json(key: apikeys.ApiKey) -> dict[str, Any]:
    return {"id": key.id, "label": key.label, "created_at": key.created_at, "calls": key.calls}


@router.get("/tokens", summary="My personal tokens (moderators)")
def my_tokens(request: Request, user: User) -> Response:
    keys = apikeys.list_keys(_ctx(request), ApiKeyKind.PERSONAL, owner=_account(user))
    return _json({"tokens": [_token_json(key) for key in keys]})


@router.post("/tokens", status_code=201, summary="A new personal token, shown once (moderators)")
def new_token(request: Request, user: User, body: NewTokenIn | None = None) -> Response:
    ctx = _ctx(request)
    owner = _account(user)
    token = apikeys.create_key(
        ctx, ApiKeyKind.PERSONAL, None, body.label if body else "", actor=owner, owner=owner
    )
    key = apikeys.find_key(ctx, ApiKeyKind.PERSONAL, token)
    assert key is not None
    return _json({**_token_json(key), "token": token}, status=201)


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of my tokens (moderators)")
def revoke_token(request: Request, token_id: Id, user: User) -> Response:
    owner = _account(user)
    apikeys.revoke_key(_ctx(request), token_id, ApiKeyKind.PERSONAL, actor=owner, owner=owner)
    return Response(status_code=204)
