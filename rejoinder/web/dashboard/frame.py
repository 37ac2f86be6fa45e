"""What every dashboard page is rendered with: the language and its words, who is signed in, the CSRF
token, and the Jinja filters the templates use for dates."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request
from markupsafe import Markup, escape
from starlette.responses import Response

from rejoinder import sessions
from rejoinder.context import Context
from rejoinder.errors import NotFound
from rejoinder.model import Moderator, Role, Site
from rejoinder.sites import list_sites
from rejoinder.web.auth import require_site, session_token
from rejoinder.web.dashboard.texts import LANGUAGE_COOKIE, LANGUAGES, language, texts

if TYPE_CHECKING:
    from jinja2 import Environment

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def page_language(request: Request) -> str:
    return language(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def frame(request: Request, **extra: Any) -> dict[str, Any]:
    """The template context every dashboard page shares, plus ``extra``."""
    lang = page_language(request)
    words = texts(lang)
    here = {k: v for k, v in request.query_params.items() if k != "lang"}
    return {
        "lang": lang,
        "t": words,
        "texts_json": json.dumps(words, ensure_ascii=False, separators=(",", ":")),
        "languages": LANGUAGES,
        "lang_query": lambda code: urlencode({**here, "lang": code}),
        **extra,
    }


def render(request: Request, user: Moderator, template: str, section: str, **extra: Any) -> Response:
    """The page ``dashboard/<template>`` for ``user``, with ``section`` marked in the navigation."""
    ctx: Context = request.app.state.ctx
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


def error_page(request: Request, status: int, message: str, fields: Mapping[str, str]) -> Response:
    """A refusal or failure on a dashboard page, as a page rather than JSON, with the same status."""
    context = frame(request, message=message, fields=dict(fields))
    return request.app.state.templates.TemplateResponse(
        request, "dashboard/error.html", context, status_code=status, headers={"Cache-Control": "no-store"}
    )


def wants_page(request: Request) -> bool:
    """A browser asking for a dashboard page (its script and API calls get JSON as everywhere else)."""
    path = request.url.path
    page = path.startswith("/dashboard/") and not path.startswith("/dashboard/static/")
    return page and "text/html" in request.headers.get("accept", "")


def visible_sites(ctx: Context, user: Moderator, role: Role = Role.MODERATOR) -> list[Site]:
    """The sites ``user`` has ``role`` (or admin) on: nothing of any other site is ever shown."""
    return [site for site in list_sites(ctx) if user.may(site.key, role)]


def choices(sites: list[Site]) -> list[tuple[str, str]]:
    return [(site.key, site.name) for site in sites]


def one_site(
    ctx: Context, user: Moderator, asked: str, role: Role = Role.MODERATOR
) -> tuple[Site, list[Site]]:
    """The site a one-site page is about (the one asked for, else the user's first) and the choices."""
    sites = visible_sites(ctx, user, role)
    if asked:
        require_site(user, asked, role)
    chosen = next((site for site in sites if site.key == asked or not asked), None)
    if chosen is None:
        rule = f"is not a site you are {role.value} of" if asked else f"needs the {role.value} role on a site"
        raise NotFound("no such site of yours", {"site": rule})
    return chosen, sites


def remember_language(request: Request, response: Response) -> Response:
    """A language chosen with ``?lang=`` stays chosen on the next pages."""
    asked = request.query_params.get("lang")
    if asked and asked == page_language(request) and request.cookies.get(LANGUAGE_COOKIE) != asked:
        response.set_cookie(
            LANGUAGE_COOKIE, asked, max_age=LANGUAGE_COOKIE_SECONDS, httponly=True, samesite="lax", path="/"
        )
    return response


def as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def when(value: object) -> str:
    """A moment as moderators read it in any of the three languages: ``2026-12-02 14:05 UTC``."""
    moment = as_datetime(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def iso(value: object) -> str:
    moment = as_datetime(value)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else ""


def web_url(value: object) -> str:
    """``value`` if it is an http(s) address, else nothing: a link never runs ``javascript:``."""
    text = str(value or "")
    return text if text.lower().startswith(("http://", "https://")) else ""


def ticks(text: object) -> Markup:
    """Help text as declared, with its `backticked` names as code (the rest escaped)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(str(text or "")))))


def add_filters(env: Environment) -> None:
    env.filters["when"] = when
    env.filters["iso"] = iso
    env.filters["web_url"] = web_url
    env.filters["ticks"] = ticks


def query_string(current: Mapping[str, str], **changes: str) -> str:
    """The query of ``current`` with ``changes`` applied; empty values are left out."""
    merged = {**current, **changes}
    return urlencode({k: v for k, v in merged.items() if v})
