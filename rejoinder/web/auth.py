"""Who is asking: a moderator's session cookie (state changes also need the session's CSRF token), a
personal token, or a server-wide admin token, as FastAPI dependencies for the API and the dashboard."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from rejoinder import apikeys, sessions
from rejoinder.accounts import moderator_by_id
from rejoinder.context import Context
from rejoinder.errors import Forbidden, Unauthorized
from rejoinder.model import Moderator, Role
from rejoinder.permissions import require_role
from rejoinder.sites import list_sites

__all__ = ["LoginRequired", "current_user", "page_user", "require_site", "session_token"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """A page asked for without a session: answered with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def session_token(request: Request) -> str:
    return request.cookies.get(sessions.COOKIE, "")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send a token", {"Authorization": "must be 'Bearer <token>'"})
    return token.strip()


def token_user(ctx: Context, token: str) -> Moderator:
    """The moderator a personal token belongs to, or everyone's admin for a server-wide admin token."""
    key = apikeys.find_key(ctx, apikeys.ApiKeyKind.PERSONAL, token)
    if key is not None and key.moderator_id is not None:
        found = moderator_by_id(ctx, key.moderator_id)
        if found is not None:
            return found
    key = apikeys.find_key(ctx, apikeys.ApiKeyKind.ADMIN, token)
    if key is None:
        raise Unauthorized("the token is not valid", {"Authorization": "is not a valid token"})
    # Tokens from before moderator accounts: every site, as its admin, until revoked.
    roles = {site.key: Role.ADMIN for site in list_sites(ctx)}
    return Moderator(id=0, email="", roles=roles, actor=f"token:{key.id}", everywhere=True)


def _session_user(ctx: Context, token: str) -> Moderator | None:
    found = sessions.find_session(ctx, token)
    return found[1] if found else None


async def _csrf_sent(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # kept by Starlette: the endpoint reads the same form again
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent


async def _check_csrf(request: Request, ctx: Context, token: str) -> None:
    if request.method in SAFE_METHODS:
        return
    if not sessions.csrf_matches(ctx, token, await _csrf_sent(request)):
        await request.close()  # a refused upload's spooled file goes now, not whenever it is collected
        raise Forbidden(
            "this request needs the session's CSRF token",
            {CSRF_FIELD: "must be the csrf-token of the page (header X-CSRF-Token or form field csrf_token)"},
        )


async def current_user(request: Request) -> Moderator:
    """The API's dependency: 401 unless a session cookie or a token names someone; 403 naming
    ``csrf_token`` for a state change made with the cookie but without the session's CSRF token."""
    ctx = _ctx(request)
    bearer = _bearer(request)
    if bearer is not None:
        return await run_in_threadpool(token_user, ctx, bearer)
    token = session_token(request)
    user = await run_in_threadpool(_session_user, ctx, token) if token else None
    if user is None:
        raise Unauthorized(
            "log in first, or send a personal token",
            {"Authorization": "must be 'Bearer <token>', or log in at /dashboard/login"},
        )
    await _check_csrf(request, ctx, token)
    return user


async def page_user(request: Request) -> Moderator:
    """The dashboard pages' dependency: a redirect to the login page without a session; state-changing
    forms need the session's CSRF token (403 naming ``csrf_token``)."""
    ctx = _ctx(request)
    token = session_token(request)
    user = await run_in_threadpool(_session_user, ctx, token) if token else None
    if user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(here)
    await _check_csrf(request, ctx, token)
    return user


def require_site(user: Moderator, site_key: str, role: Role | str = Role.MODERATOR) -> None:
    """403 naming ``site`` unless ``user`` has ``role`` (or admin) on the site."""
    require_role(user, site_key, Role(role))


async def login_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/dashboard/login?next={quote(exc.next_url, safe='/')}", status_code=303)
