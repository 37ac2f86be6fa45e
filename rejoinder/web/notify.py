"""The pages that links in mails open: confirming notifications, unsubscribing, and an address's list
of subscriptions. A GET only shows what a button would do (mail scanners open links); the POST acts,
and the unsubscribe address also takes RFC 8058's one-click POST from the mail client itself."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from rejoinder.context import Context
from rejoinder.errors import Conflict, InvalidInput, InvalidLink
from rejoinder.model import Moderator
from rejoinder.notify import moderators, subscriptions
from rejoinder.notify.letters import WORDS, describe
from rejoinder.store.notify import Subscription
from rejoinder.web import schemas
from rejoinder.web.auth import current_user
from rejoinder.web.serialize import dumps

router = APIRouter(prefix="/notify", include_in_schema=False)
api_router = APIRouter(
    prefix="/api/v1/me",
    tags=["moderators"],
    responses={status: {"model": schemas.ErrorOut} for status in (401, 403, 422)},
)


def _words(language: str) -> dict[str, str]:
    return WORDS[language if language in WORDS else "en"]


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _page(request: Request, language: str, status: int = 200, **values: Any) -> Response:
    words = _words(language)

    def t(key: str, **fill: Any) -> str:
        return words[key].format(**fill)

    context = {"lang": language, "t": t, "lead": "", "items": [], "empty": "", "button": "", "action": ""}
    context |= {"button_value": "", **values}
    response: Response = request.app.state.templates.TemplateResponse(
        request, "notify.html", context, status_code=status
    )
    # The token in the address is the reader's key to these pages: no referrer may carry it elsewhere.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _bad_link(request: Request, exc: InvalidLink) -> Response:
    return _page(request, "en", exc.status, heading=_words("en")["page_bad_link"], lead=exc.message)


def _what(sub: Subscription) -> str:
    return describe(
        sub.kind, subscriptions.language_of(sub), sub.site_name, sub.thread_title or sub.thread_url
    )


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str) -> Response:
    return _confirmation(request, token, done=False)


@router.post("/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    return _confirmation(request, token, done=True)


def _confirmation(request: Request, token: str, *, done: bool) -> Response:
    """What the link confirms, with the button (GET); or confirm it, and say so (POST)."""
    ctx = _ctx(request)
    try:
        found = subscriptions.confirm(ctx, token) if done else subscriptions.pending_confirmation(ctx, token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    words = _words(found.language)
    return _page(
        request,
        found.language,
        heading=words["page_confirm"],
        lead=words["page_confirmed" if done else "page_confirm_lead"].format(email=found.email),
        items=[{"text": _what(sub), "cancel": None} for sub in found.subscriptions],
        button="" if done else words["confirm_button"],
        action=request.url.path,
    )


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    try:
        sub = subscriptions.subscription_of_link(_ctx(request), token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    if sub is None:
        return _page(request, "en", heading=_words("en")["page_unsubscribe"], lead=_gone("en"))
    language = subscriptions.language_of(sub)
    words = _words(language)
    return _page(
        request,
        language,
        heading=words["page_unsubscribe"],
        lead=words["page_unsubscribe_lead"].format(what=_what(sub)),
        button=words["unsubscribe"],
        action=request.url.path,
    )


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str) -> Response:
    """The page's button, and the mail client's one-click POST (``List-Unsubscribe=One-Click``)."""
    try:
        sub = subscriptions.unsubscribe(_ctx(request), token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    language = subscriptions.language_of(sub) if sub else "en"
    words = _words(language)
    lead = words["page_unsubscribed"].format(what=_what(sub)) if sub else _gone(language)
    return _page(request, language, heading=words["page_unsubscribe"], lead=lead)


@router.get("/manage/{token}")
def manage_page(request: Request, token: str) -> Response:
    ctx = _ctx(request)
    try:
        email = subscriptions.address_of_link(ctx, token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    subs = subscriptions.subscriptions_of(ctx, email)
    language = subscriptions.language_of(subs[0]) if subs else "en"
    words = _words(language)
    return _page(
        request,
        language,
        heading=words["page_manage"],
        lead=words["page_manage_lead"].format(email=email),
        items=[
            {
                "text": f"{sub.site_name}: {_what(sub)}" + ("" if sub.confirmed else " " + words["pending"]),
                "cancel": sub.id,
            }
            for sub in subs
        ],
        empty=words["page_none"],
        button=words["page_cancel_all"] if len(subs) > 1 else "",
        button_value="all",
        action=request.url.path,
    )


@router.post("/manage/{token}")
async def manage(request: Request, token: str) -> Response:
    ctx = _ctx(request)
    try:
        email = subscriptions.address_of_link(ctx, token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    choice = (form.get("cancel") or [""])[0]
    if choice != "all" and not choice.isdigit():
        raise InvalidInput("say what to cancel", {"cancel": "must be a subscription's id or 'all'"})
    subscriptions.cancel(ctx, email, None if choice == "all" else int(choice))
    return RedirectResponse(request.url.path, status_code=303)


def _gone(language: str) -> str:
    return _words(language)["page_gone"]


# -- a moderator's links --------------------------------------------------------------------------------


def _moderation_page(request: Request, pending: moderators.PendingAction, **values: Any) -> Response:
    language = "en"
    words = _words(language)
    comment = pending.comment
    return _page(
        request,
        language,
        heading=words["page_moderate"],
        items=[
            {"text": f"{comment.author.name or words['anonymous']}: {comment.body}", "cancel": None},
            {
                "text": f"{pending.thread_url}#rj-comment-{comment.id} · {comment.status.value}",
                "cancel": None,
            },
        ],
        **values,
    )


@router.get("/moderate/{token}")
def moderate_page(request: Request, token: str) -> Response:
    """What the link would do, and the button that does it."""
    try:
        pending = moderators.pending_action(_ctx(request), token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    return _moderation_page(request, pending, button=_words("en")[pending.action], action=request.url.path)


@router.post("/moderate/{token}")
def moderate(request: Request, token: str) -> Response:
    try:
        pending = moderators.act(_ctx(request), token)
    except InvalidLink as exc:
        return _bad_link(request, exc)
    except Conflict as exc:
        return _page(request, "en", exc.status, heading=_words("en")["page_bad_link"], lead=exc.message)
    return _moderation_page(request, pending, lead=_words("en")[f"page_done_{pending.action}"])


class MailPreferenceIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["instant", "hourly", "daily", "off"] = Field(
        description="When held and reported comments are mailed: instant, hourly or daily (a digest), or off."
    )
    all_comments: bool = Field(False, description="Also mail every new published comment.")


@api_router.get("/notifications", response_model=MailPreferenceIO, summary="Your mail about comments")
async def my_notifications(request: Request, user: Annotated[Moderator, Depends(current_user)]) -> Response:
    pref = await run_in_threadpool(moderators.preference, _ctx(request), user)
    return Response(
        dumps({"mode": pref.mode, "all_comments": pref.all_comments}), media_type="application/json"
    )


@api_router.put("/notifications", response_model=MailPreferenceIO, summary="Choose your mail about comments")
async def set_my_notifications(
    request: Request, chosen: MailPreferenceIO, user: Annotated[Moderator, Depends(current_user)]
) -> Response:
    pref = await run_in_threadpool(
        moderators.set_preference, _ctx(request), user, chosen.mode, chosen.all_comments
    )
    return Response(
        dumps({"mode": pref.mode, "all_comments": pref.all_comments}), media_type="application/json"
    )
