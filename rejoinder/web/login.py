"""The login page (password, then the TOTP code when the account has one) and logging out.

The login form carries a CSRF token of its own (a cookie set with the page, sent back in the form), so
another site cannot log a browser into an account of its choosing."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from rejoinder import accounts, sessions
from rejoinder.context import Context
from rejoinder.errors import RateLimited, Unauthorized
from rejoinder.model import Moderator
from rejoinder.web.auth import page_user, session_token
from rejoinder.web.client import client_of
from rejoinder.web.dashboard.frame import frame, remember_language

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "rejoinder_login"
SECOND_STEP_SECONDS = 300  # time to type the code once the password was right
HOME = "/dashboard/"


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or _ctx(request).settings.public_url.startswith("https://")


def _safe_next(next_url: str | None) -> str:
    # Only a path on this server: "//evil.example" or "https://evil.example" would send the moderator away.
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return HOME
    return next_url


def _page(
    request: Request,
    status: int = 200,
    *,
    error: str = "",
    email: str = "",
    pending: str = "",
    next_url: str = "",
) -> Response:
    login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    context: dict[str, Any] = {
        **frame(request),
        "error": error,
        "email": email,
        "pending": pending,
        "next_url": _safe_next(next_url),
        "login_csrf": login_csrf,
    }
    response = request.app.state.templates.TemplateResponse(
        request, "dashboard/login.html", context, status_code=status, headers={"Cache-Control": "no-store"}
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, login_csrf, httponly=True, samesite="lax", secure=_secure(request),
        path="/dashboard/login",
    )  # fmt: skip
    return remember_language(request, response)


@router.get("/dashboard/login")
def login_page(request: Request, next: str = "") -> Response:
    return _page(request, next_url=next)


@router.post("/dashboard/login")
async def log_in(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    pending: Annotated[str, Form(max_length=500)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    ctx = _ctx(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _page(request, 403, error="The form had expired: please try again.", next_url=next)
    remote_addr = client_of(request.scope, ctx.proxies)
    try:
        if pending:
            user = await run_in_threadpool(_second_step, ctx, pending, code, remote_addr)
        else:
            user = await run_in_threadpool(accounts.check_password, ctx, email, password, remote_addr)
            if user.totp:
                return _page(request, pending=ctx.signer.second_step(user.id), next_url=next)
    except RateLimited as exc:
        response = _page(request, 429, error=exc.message, email=email, next_url=next)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized as exc:
        return _page(request, 401, error=_sentence(exc.message), email=email, pending=pending, next_url=next)
    token = await run_in_threadpool(
        sessions.open_session,
        ctx,
        user,
        user_agent=request.headers.get("user-agent", ""),
        remote_addr=remote_addr,
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/",
        max_age=int(ctx.settings.session_days * 86400),
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dashboard/login")
    return response


def _second_step(ctx: Context, pending: str, code: str, remote_addr: str) -> Moderator:
    moderator_id = ctx.signer.check_second_step(pending, SECOND_STEP_SECONDS)
    user = accounts.moderator_by_id(ctx, moderator_id) if moderator_id is not None else None
    if user is None:
        raise Unauthorized("the login took too long; start again", {"pending": "has expired"})
    accounts.check_second_factor(ctx, user, code, remote_addr)
    return user


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


@router.post("/dashboard/logout")
async def log_out(request: Request, user: Annotated[Moderator, Depends(page_user)]) -> Response:
    """Ends this session (``page_user`` checked its CSRF token) and goes back to the login page."""
    await run_in_threadpool(sessions.close_session, _ctx(request), session_token(request))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
