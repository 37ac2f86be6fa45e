"""Commenters' own export and erasure over HTTP: the data page's form (``POST /privacy/SITE/request``, or
``POST /api/v1/privacy/requests`` for a script) and the mailed link's page (``/privacy/SITE/confirm``),
whose GET only shows one button (mail scanners open links) and whose POST downloads the export or erases.

The form is for readers nobody knows, so it has no session to tie a CSRF token to: it is protected by an
``Origin`` check instead (the browser's ``Origin`` must be this server's own), the same-origin form post
being the only way a browser sends it. The confirmation needs no such check: only the link's holder can
make it. The JSON API needs none either: a cross-site JSON post needs a CORS preflight, answered only for
sites' own origins.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder import data_requests, datapage
from rejoinder.context import Context
from rejoinder.errors import Forbidden, RateLimited, RejoinderError
from rejoinder.notify.letters import Letters
from rejoinder.sites import cached_site, site_settings
from rejoinder.web import schemas
from rejoinder.web.client import client_of
from rejoinder.web.serialize import dumps

router = APIRouter(prefix="/privacy", include_in_schema=False)
api_router = APIRouter(
    prefix="/api/v1/privacy",
    tags=["privacy"],
    responses={status: {"model": schemas.ErrorOut} for status in (404, 422, 429)},
)
# The pages show an address and carry a secret link: never cached, never sent on as a referrer.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _letters(request: Request) -> Letters:
    letters: Letters | None = getattr(request.app.state, "letters", None)
    if letters is None:
        letters = request.app.state.letters = Letters()
    return letters


def _page(request: Request, site_key: str, language: str, status: int = 200, **values: Any) -> Response:
    code = datapage.language(language)
    context = {"heading": "", "lead": "", "note": "", "action": "", "button": "", "problems": {}}
    context |= {"lang": code, "t": datapage.TEXTS[code], "site_key": site_key, **values}
    response: Response = request.app.state.templates.TemplateResponse(
        request, "data-request.html", context, status_code=status
    )
    response.headers.update(PRIVATE)
    return response


def _refused(request: Request, site_key: str, language: str, exc: RejoinderError) -> Response:
    words = datapage.TEXTS[datapage.language(language)]
    response = _page(
        request, site_key, language, exc.status, heading=words["request_failed"], lead=exc.message,
        problems=exc.fields or {},
    )  # fmt: skip
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _check_origin(request: Request, ctx: Context) -> None:
    """Refuse a form posted from anywhere but this server's own pages (a cross-site form post)."""
    ours = {request.headers.get("host", "").lower(), urlsplit(ctx.settings.base_url).netloc.lower()} - {""}
    try:
        sent = urlsplit(request.headers.get("origin", "")).netloc.lower()
    except ValueError:  # "http://[" and the like: not an origin at all
        sent = ""
    if sent not in ours:
        raise Forbidden(
            "the form must be sent from this server's data page",
            {"Origin": "must be this server's own origin"},
        )


@router.post("/{site_key}/request")
def ask(
    request: Request,
    site_key: str,
    email: Annotated[str, Form(max_length=320)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    lang: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The data page's form: the same page whether or not anything is kept under the address."""
    ctx = _ctx(request)
    language = lang
    try:
        language = lang or site_settings(ctx, cached_site(ctx, site_key)).language
        _check_origin(request, ctx)
        address = client_of(request.scope, ctx.proxies)
        data_requests.request(ctx, _letters(request), site_key, email, action, address)
    except RejoinderError as exc:
        return _refused(request, site_key, language, exc)
    words = datapage.TEXTS[datapage.language(language)]
    return _page(
        request, site_key, language, 202, heading=words["sent_heading"],
        lead=words["sent_lead"].format(email=email.strip(), minutes=data_requests.LINK_SECONDS // 60),
    )  # fmt: skip


@router.get("/{site_key}/confirm")
def confirm_page(request: Request, site_key: str, t: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The mailed link's page: what pressing its one button will do, and the button."""
    try:
        found = data_requests.pending(_ctx(request), site_key, t)
    except RejoinderError as exc:
        return _refused(request, site_key, "en", exc)
    words = datapage.TEXTS[datapage.language(found.language)]
    return _page(
        request,
        site_key,
        found.language,
        heading=words[f"confirm_{found.action}_heading"].format(site=found.site_name),
        lead=words["confirm_as"].format(email=found.email),
        note=words["erase_warning"] if found.action is data_requests.Action.ERASE else "",
        action=f"/privacy/{site_key}/confirm?t={t}",
        button=words[f"confirm_{found.action}_button"],
    )


@router.post("/{site_key}/confirm")
def confirm(request: Request, site_key: str, t: Annotated[str, Query(max_length=200)] = "") -> Response:
    """Use up the link: the export as a JSON download, or a page saying what was erased."""
    try:
        done = data_requests.carry_out(_ctx(request), site_key, t)
    except RejoinderError as exc:
        return _refused(request, site_key, "en", exc)
    if done.export is not None:
        return Response(
            dumps(done.export),
            media_type="application/json",
            headers={**PRIVATE, "Content-Disposition": 'attachment; filename="comment-data.json"'},
        )
    assert done.erased is not None
    words = datapage.TEXTS[datapage.language(done.language)]
    return _page(
        request,
        site_key,
        done.language,
        heading=words["erased_heading"],
        lead=words["erased_lead"].format(
            comments=done.erased.comments, subscriptions=done.erased.subscriptions
        ),
    )


@api_router.post(
    "/requests",
    status_code=202,
    response_model=schemas.PrivacyRequestOut,
    summary="Mail a commenter a link to export or erase their data",
)
async def request_by_api(request: Request, body: schemas.PrivacyRequestIn) -> Response:
    """The same answer whether or not anything is kept under the address (only then is a link mailed);
    limited per client address and per address."""
    ctx = _ctx(request)
    address = client_of(request.scope, ctx.proxies)
    await run_in_threadpool(
        data_requests.request, ctx, _letters(request), body.site, body.email, body.action, address
    )
    return Response(dumps({"sent": True}), status_code=202, media_type="application/json")
