"""Readers' log-in over HTTP: the popup's pages (``/auth/NAME/start`` and ``/callback``), its script, the
mailed link's page (``/auth/email/verify``), and ``/api/v1/reader*`` where the widget exchanges a code for
a token, asks who it is, logs out and asks for a mailed link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from rejoinder import identity, oauth
from rejoinder.context import Context
from rejoinder.errors import RateLimited, RejoinderError, Unauthorized
from rejoinder.notify.letters import WORDS, Letters
from rejoinder.sites import cached_site
from rejoinder.web import schemas
from rejoinder.web.client import client_of
from rejoinder.web.headers import PAGE_POLICY
from rejoinder.web.serialize import dumps
from rejoinder.web.widget import serve

pages = APIRouter(prefix="/auth", include_in_schema=False)
router = APIRouter(
    prefix="/api/v1/reader",
    tags=["readers"],
    responses={status: {"model": schemas.ErrorOut} for status in (401, 404, 422)},
)
# The popup page talks to the window that opened it (another site's page): it must stay in that
# window's browsing context group, which the pages' default same-origin opener policy would leave.
POPUP_HEADERS = {
    "Cross-Origin-Opener-Policy": "unsafe-none",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _letters(request: Request) -> Letters:
    letters: Letters | None = getattr(request.app.state, "letters", None)
    if letters is None:
        letters = request.app.state.letters = Letters()
    return letters


def _page(request: Request, status: int = 200, language: str = "en", **values: Any) -> Response:
    words = WORDS[language if language in WORDS else "en"]
    context = {"heading": "", "lead": "", "origin": "", "state": "", "code": "", "error": "", "action": ""}
    context |= {"lang": language, "button": words["login_button"], "close": words["page_login_close"]}
    context |= values
    response: Response = request.app.state.templates.TemplateResponse(
        request, "login.html", context, status_code=status
    )
    response.headers.update(POPUP_HEADERS)
    return response


def _refused(request: Request, exc: RejoinderError) -> Response:
    response = _page(request, exc.status, heading=WORDS["en"]["page_login_failed"], lead=exc.message)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@pages.get("/popup.js")
def popup_js(request: Request) -> Response:
    return serve(request, "popup.js")


@pages.get("/email/verify")
def link_page(request: Request, t: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The mailed link's page: one button, so a mail scanner opening the link does not use it up."""
    try:
        found = identity.pending_link(_ctx(request), t)
    except RejoinderError as exc:
        return _refused(request, exc)
    words = WORDS[found.language if found.language in WORDS else "en"]
    page = _page(
        request,
        language=found.language,
        heading=words["page_login_link"].format(site=found.site_name),
        lead=words["page_login_as"].format(email=found.email),
        action=f"/auth/email/verify?t={t}",
    )
    # The button's POST is redirected to the site's page: browsers hold form-action to redirects too.
    page.headers["Content-Security-Policy"] = PAGE_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {found.return_origin}"
    )
    return page


@pages.post("/email/verify")
def use_link(request: Request, t: Annotated[str, Query(max_length=200)] = "") -> Response:
    try:
        target = identity.use_link(_ctx(request), t)
    except RejoinderError as exc:
        return _refused(request, exc)
    return RedirectResponse(target, status_code=303, headers={"Referrer-Policy": "no-referrer"})


@pages.get("/{name}/start")
def start(
    request: Request,
    name: str,
    site: Annotated[str, Query(max_length=64)] = "",
    origin: Annotated[str, Query(max_length=2048)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Opened by the widget in a popup: record the log-in under way, then off to the provider."""
    try:
        ctx = _ctx(request)
        target = oauth.start(ctx, name, site, origin, state, client_of(request.scope, ctx.proxies))
    except RejoinderError as exc:
        return _refused(request, exc)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


@pages.get("/{name}/callback")
def callback(request: Request, name: str) -> Response:
    """Where the provider sends the reader back: the page hands the code to the opener (``popup.js``)."""
    params = {k: v for k, v in request.query_params.items() if k in ("code", "state", "error")}
    try:
        done = oauth.finish(_ctx(request), name, params)
    except RejoinderError as exc:
        return _refused(request, exc)
    words = WORDS[done.language if done.language in WORDS else "en"]
    return _page(
        request,
        language=done.language,
        heading=words["page_login_done" if done.code else "page_login_declined"],
        origin=done.origin,
        state=done.widget_state,
        code=done.code,
        error=done.error,
        # Shown when the provider's page cut the popup off from the widget, which then claims the code.
        close=words["page_login_orphan" if done.code else "page_login_close"],
    )


def _token(authorization: str | None) -> str:
    token = identity.bearer_token(authorization)
    if token is None:
        raise Unauthorized("send the reader's token", {"Authorization": "must be 'Bearer rdr_…'"})
    return token


def _json(data: object, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


@router.post("/session", status_code=201, response_model=schemas.ReaderSessionOut, summary="Log a reader in")
def create_session(request: Request, body: schemas.ReaderSessionIn) -> Response:
    """Exchange the one-time code a log-in ended with (popup or mailed link) for the reader's token, or
    claim the code of the log-in the widget started with ``state`` when the popup could not hand it over."""
    ctx = _ctx(request)
    if body.code or not body.state:
        session = identity.exchange_code(ctx, body.site, body.code)
    else:
        address = client_of(request.scope, ctx.proxies)
        session = identity.claim_code(ctx, body.site, body.state, address)
    site = cached_site(ctx, body.site)
    return _json(
        {
            "token": session.token,
            "expires_at": session.expires_at,
            "identity": identity.public_identity(ctx, session.identity, site),
        },
        status=201,
    )


@router.get("", response_model=schemas.ReaderOut, summary="Who the reader is, and what they did in a thread")
def reader(
    request: Request,
    site: Annotated[str, Query(max_length=64, description="Key of the site.")],
    url: Annotated[str | None, Query(max_length=2048, description="Address of the article page.")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    state = identity.reader_state(_ctx(request), _token(authorization), site, url)
    return _json({"identity": state.identity, "liked": state.liked, "mine": state.mine})


@router.delete("/session", status_code=204, summary="Log the reader out")
def delete_session(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    identity.log_out(_ctx(request), _token(authorization))
    return Response(status_code=204)


@router.post(
    "/email",
    status_code=202,
    response_model=schemas.LoginLinkOut,
    summary="Mail a reader a log-in link",
    responses={429: {"model": schemas.ErrorOut}},
)
async def mail_link(request: Request, body: schemas.LoginLinkIn) -> Response:
    """The same answer whether or not the address is known; limited per client address and per address."""
    ctx = _ctx(request)
    address = client_of(request.scope, ctx.proxies)
    await run_in_threadpool(
        identity.request_link, ctx, _letters(request), body.site, body.email, body.return_url, address
    )
    return _json({"sent": True}, status=202)
