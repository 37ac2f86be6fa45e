"""``/api/v1/moderation/bans`` and ``/api/v1/moderation/lists/{kind}``: bans with reason and expiry, and
the lists the spam filter reads, for the sites the moderator may see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from rejoinder import bans, blocklists
from rejoinder.context import Context
from rejoinder.model import Ban, Moderator
from rejoinder.web import schemas
from rejoinder.web.auth import current_user
from rejoinder.web.serialize import dumps

router = APIRouter(
    prefix="/api/v1/moderation",
    tags=["moderation"],
    responses={status: {"model": schemas.ErrorOut} for status in (401, 403, 404, 422)},
)
User = Annotated[Moderator, Depends(current_user)]
ListKind = Literal["words", "domains", "emails", "ips"]


class BanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = Field(max_length=64)
    kind: Literal["email", "ip", "network", "domain", "identity"]
    value: str = Field(max_length=320)
    reason: str = Field("", max_length=bans.MAX_REASON)
    expires_at: datetime | None = Field(
        None, description="When the ban ends (with its time zone); none: never."
    )
    mark_held_as_spam: bool = Field(False, description="Mark the author's held comments as spam as well.")


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[Annotated[str, Field(max_length=blocklists.MAX_ENTRY)]] = Field(
        max_length=blocklists.MAX_ENTRIES
    )


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _json(data: object, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def ban_json(site: str, ban: Ban) -> dict[str, Any]:
    return {
        "id": ban.id,
        "site": site,
        "kind": ban.kind,
        "value": ban.value,
        "reason": ban.reason,
        "created_at": ban.created_at,
        "created_by": ban.created_by,
        "expires_at": ban.expires_at,
    }


@router.get("/bans", summary="Bans (moderators)")
def list_bans(
    request: Request, user: User, site: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    return _json({"bans": [ban_json(key, ban) for key, ban in bans.list_bans(_ctx(request), user, site)]})


@router.post(
    "/bans", status_code=201, summary="Ban an e-mail address, address, network or domain (moderators)"
)
def create_ban(request: Request, body: BanIn, user: User) -> Response:
    """Comments the ban covers are refused (403 `banned`) from now on; `mark_held_as_spam` also marks the
    site's held comments it covers as spam (`marked_as_spam` lists them)."""
    made = bans.create_ban(
        _ctx(request), user, body.site, body.kind, body.value, reason=body.reason, expires_at=body.expires_at,
        mark_held_as_spam=body.mark_held_as_spam,
    )  # fmt: skip
    return _json({"ban": ban_json(body.site, made.ban), "marked_as_spam": made.marked_as_spam}, status=201)


@router.delete("/bans/{ban_id}", status_code=204, summary="Lift a ban (moderators)")
def lift_ban(request: Request, ban_id: Annotated[int, Path(ge=1, le=schemas.MAX_ID)], user: User) -> Response:
    bans.lift_ban(_ctx(request), user, ban_id)
    return Response(status_code=204)


@router.get("/lists/{kind}", summary="A list the spam filter reads (moderators)")
def get_list(
    request: Request, kind: ListKind, user: User, site: Annotated[str, Query(max_length=64)]
) -> Response:
    return _json(
        {"site": site, "kind": kind, "entries": blocklists.get_list(_ctx(request), user, site, kind)}
    )


@router.put("/lists/{kind}", summary="Replace a list the spam filter reads (moderators)")
def put_list(
    request: Request, kind: ListKind, body: ListIn, user: User, site: Annotated[str, Query(max_length=64)]
) -> Response:
    """Words (whole words, any case), link domains (subdomains included), e-mail addresses, and client
    addresses or networks (CIDR). A comment matching any is spam."""
    entries = blocklists.set_list(_ctx(request), user, site, kind, body.entries)
    return _json({"site": site, "kind": kind, "entries": entries})
