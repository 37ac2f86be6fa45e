"""``/api/v1/moderation/sites/{site}/settings``: a site's settings with their declaration (type, default,
help, choices), so the settings page is generated from it; moderators read them, the site's admins change
them (each change audit-logged)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from rejoinder import sitesettings
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.model import Moderator, Role, Site
from rejoinder.permissions import require_role
from rejoinder.sites import get_site, site_settings, update_site
from rejoinder.web import schemas
from rejoinder.web.auth import current_user
from rejoinder.web.serialize import dumps

router = APIRouter(
    prefix="/api/v1/moderation/sites",
    tags=["moderation"],
    responses={status: {"model": schemas.ErrorOut} for status in (401, 403, 404, 422)},
)
User = Annotated[Moderator, Depends(current_user)]
SiteKey = Annotated[str, Path(max_length=64)]
# What a site has besides its settings, edited on the same page.
SITE_FIELDS = [
    {"name": "name", "type": "string", "default": None, "help": "The site's name, as pages show it.",
     "choices": None, "rule": "must be at most 200 characters"},
    {"name": "allowed_origins", "type": "list", "default": [], "help": "Browser origins allowed to embed "
     "the site's comments, like https://blog.example.", "choices": None, "rule": "must look like "
     "https://example.com"},
]  # fmt: skip


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    settings: dict[str, Any] = Field(description="Settings to change, by name; others stay as they are.")


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def settings_json(ctx: Context, site: Site) -> dict[str, Any]:
    """The site's settings and their declaration, as the API answers them and the settings page shows
    them."""
    defaults = site_settings(ctx, Site(site.id, site.key, site.name, site.allowed_origins, {}))
    values = {
        "name": site.name,
        "allowed_origins": list(site.allowed_origins),
        **sitesettings.values(site_settings(ctx, site)),
    }
    return {"site": site.key, "settings": values, "fields": SITE_FIELDS + sitesettings.describe(defaults)}


def _answer(ctx: Context, site: Site) -> Response:
    return Response(dumps(settings_json(ctx, site)), media_type="application/json")


@router.get("/{site}/settings", summary="A site's settings and their declaration (moderators)")
def read_settings(request: Request, site: SiteKey, user: User) -> Response:
    ctx = _ctx(request)
    found = get_site(ctx, site)
    require_role(user, found.key)
    return _answer(ctx, found)


@router.patch("/{site}/settings", summary="Change a site's settings (admins of the site)")
def change_settings(request: Request, site: SiteKey, body: SettingsIn, user: User) -> Response:
    """Each setting is checked against its declaration; a bad one is refused (422 naming it with its
    rule) and nothing changes."""
    ctx = _ctx(request)
    found = get_site(ctx, site)
    require_role(user, found.key, Role.ADMIN)
    changes = dict(body.settings)
    name = changes.pop("name", None)
    origins = changes.pop("allowed_origins", None)
    problems: dict[str, str] = {}
    if name is not None and not (isinstance(name, str) and 0 < len(name.strip()) <= 200):
        problems["name"] = "must be 1 to 200 characters"
    if origins is not None and not (isinstance(origins, list) and all(isinstance(o, str) for o in origins)):
        problems["allowed_origins"] = "must be a list of origins like https://example.com"
    if problems:
        raise InvalidInput("bad site settings", problems)
    updated = update_site(ctx, found.key, name=name, origins=origins, actor=user, **changes)
    return _answer(ctx, updated)
