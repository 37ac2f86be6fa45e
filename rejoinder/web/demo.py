"""The demo's pages, mounted only by ``rejoinder demo``: the demo article and its cross-origin twin.

The demo article embeds the widget like any blog would, with the server-rendered thread and form kept
as a ``<noscript>`` fallback; the twin is another origin's page embedding the same thread.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from urllib.parse import parse_qs, quote

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rejoinder import comments, likes
from rejoinder.comments import Client, NewComment
from rejoinder.context import Context
from rejoinder.demo import ARTICLE_TITLE, PRIVACY_PATH, SITE_KEY, article_url, cross_origin_url
from rejoinder.errors import NotFound, RejoinderError
from rejoinder.model import Author
from rejoinder.threads import read_page
from rejoinder.web.client import client_of
from rejoinder.web.pages import templates

router = APIRouter(include_in_schema=False)
LIKER_COOKIE = "rejoinder_demo_liker"
WIDGET_LANGUAGES = {"en": "English", "uk": "Українська", "de": "Deutsch"}
WIDGET_THEMES = ("auto", "light", "dark")
log = logging.getLogger(__name__)


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _demo_url(request: Request) -> str:
    return article_url(_ctx(request).settings.base_url)


def _render_demo(
    request: Request,
    status: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    ctx = _ctx(request)
    try:
        page = read_page(ctx, SITE_KEY, _demo_url(request), limit=1000)
    except NotFound:
        return HTMLResponse(
            "<p>The demo is not installed: start the server with <code>rejoinder demo</code>.</p>",
            status_code=404,
        )
    settings = ctx.settings
    lang = request.query_params.get("lang", "")
    theme = request.query_params.get("theme", "")
    feeds = f"{settings.base_url}/feeds"
    return request.app.state.templates.TemplateResponse(
        request,
        "demo.html",
        {
            "title": ARTICLE_TITLE,
            "page": page,
            "form": form or {},
            "errors": errors or {},
            "article_url": _demo_url(request),
            "privacy_url": settings.base_url + PRIVACY_PATH,
            "thread_feed": f"{feeds}/{SITE_KEY}/thread.atom?url={quote(_demo_url(request), safe='')}",
            "site_feed": f"{feeds}/{SITE_KEY}.atom",
            "elsewhere": cross_origin_url(settings.host, settings.port),
            "languages": WIDGET_LANGUAGES,
            "themes": WIDGET_THEMES,
            "lang": lang if lang in WIDGET_LANGUAGES else "",
            "theme": theme if theme in WIDGET_THEMES else "",
        },
        status_code=status,
    )


@router.get("/demo/")
def demo_article(request: Request) -> Response:
    return _render_demo(request)


@router.get(PRIVACY_PATH)
def demo_privacy(request: Request) -> Response:
    settings = _ctx(request).settings
    return request.app.state.templates.TemplateResponse(
        request, "privacy.html", {"article_url": _demo_url(request), "settings": settings}
    )


@router.post("/demo/comment")
async def demo_comment(request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    ctx = _ctx(request)
    parent = form.get("parent_id", "")
    try:
        posted = await comments.post_comment_async(
            ctx,
            NewComment(
                site=SITE_KEY,
                url=_demo_url(request),
                title=ARTICLE_TITLE,
                body=form.get("body", ""),
                parent_id=int(parent) if parent.isdigit() else None,
                author=Author(form.get("name", ""), form.get("email", ""), form.get("website", "")),
            ),
            Client(
                remote_addr=client_of(request.scope, ctx.proxies),
                user_agent=request.headers.get("user-agent", ""),
            ),
        )
    except RejoinderError as exc:
        return _render_demo(request, 422, form, exc.fields or {"body": exc.message})
    return RedirectResponse(f"/demo/#comment-{posted.comment.id}", status_code=303)


@router.post("/demo/like/{comment_id}")
def demo_like(request: Request, comment_id: int) -> Response:
    liker = request.cookies.get(LIKER_COOKIE) or secrets.token_urlsafe(16)
    ctx = _ctx(request)
    likes.set_like(ctx, comment_id, liker, True, client_of(request.scope, ctx.proxies))
    response = RedirectResponse(f"/demo/#comment-{comment_id}", status_code=303)
    response.set_cookie(LIKER_COOKIE, liker, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


def cross_origin_app(server_url: str, article: str) -> FastAPI:
    """Another site's page, embedding the demo thread from ``server_url``: a cross-origin embed to try."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    pages = templates()

    @app.get("/")
    def elsewhere(request: Request) -> Response:
        return pages.TemplateResponse(
            request,
            "elsewhere.html",
            {"server_url": server_url, "article_url": article, "title": ARTICLE_TITLE},
        )

    return app


def serve_cross_origin_page(host: str, port: int, server_url: str, article: str) -> bool:
    """Serve ``cross_origin_app`` on ``host:port`` from a background thread; False if the port is taken.

    The socket is bound here, so a busy port is known at once; the thread dies with the process.
    """
    try:
        sock = socket.create_server((host, port))
    except (OSError, OverflowError) as exc:  # taken, not allowed, or past 65535
        log.warning("the cross-origin demo page is off: %s:%s: %s", host, port, exc)
        return False
    server = uvicorn.Server(
        uvicorn.Config(
            cross_origin_app(server_url, article),
            log_config=None,  # the main server configures logging
            access_log=False,
            server_header=False,
            lifespan="off",
        )
    )
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="demo-origin").start()
    return True
