"""Server-rendered pages: the front page (the demo and the health checks have modules of their own)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from rejoinder import __version__, data_requests, datapage, identity, providers
from rejoinder.sites import cached_site, site_settings
from rejoinder.web.dashboard.frame import add_filters

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

router = APIRouter(include_in_schema=False)


class Templates:
    """The server's page templates, loaded when the first page is rendered: Jinja costs about 2 MiB
    resident, and a server that only answers the widget's API never renders a page."""

    def __init__(self) -> None:
        self._loaded: Jinja2Templates | None = None
        self._lock = threading.Lock()

    def TemplateResponse(self, *args: Any, **kwargs: Any) -> Response:  # noqa: N802 (Starlette's name)
        return self.loaded().TemplateResponse(*args, **kwargs)

    def loaded(self) -> Jinja2Templates:
        if self._loaded is None:
            with self._lock:  # pages render in worker threads
                if self._loaded is None:
                    self._loaded = templates()
        return self._loaded


def templates() -> Jinja2Templates:
    from fastapi.templating import Jinja2Templates

    found = Jinja2Templates(directory=Path(__file__).parent / "templates")
    add_filters(found.env)
    return found


@router.get("/")
def front_page(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "index.html", {"version": __version__})


@router.get("/privacy/{site_key}")
def data_page(request: Request, site_key: str, lang: str | None = None) -> Response:
    """The site's *How your comment data is processed*, generated from its settings."""
    ctx = request.app.state.ctx
    site = cached_site(ctx, site_key)
    rules = site_settings(ctx, site)
    code = datapage.language(lang or request.headers.get("accept-language"))
    offered = ", ".join(p.display_name for p in providers.for_site(ctx, site))
    logins = ", ".join(filter(None, [offered, "e-mail" if identity.email_login(ctx) else ""]))
    return request.app.state.templates.TemplateResponse(
        request,
        "data-page.html",
        {
            "site": site,
            "rules": rules,
            "logins": logins,
            "login_providers": offered,
            "avatars": offered if rules.provider_avatars else "",
            "session_days": ctx.settings.reader_session_days,
            "facts": datapage.facts(ctx, site, rules),
            "lang": code,
            "t": datapage.TEXTS[code],
            "languages": datapage.LANGUAGES,
            "self_service": data_requests.offered(ctx),
            "request_hours": data_requests.LINK_SECONDS // 3600,
        },
    )


@router.get("/data-page.css")
def data_page_style() -> Response:
    return FileResponse(Path(__file__).parent / "static" / "data-page.css", media_type="text/css")


@router.get("/pages.css")
def pages_style() -> Response:
    """The style of the front page and the demo: a file, so their CSP needs no ``unsafe-inline``."""
    return FileResponse(Path(__file__).parent / "static" / "pages.css", media_type="text/css")
