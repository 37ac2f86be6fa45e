"""The Akismet-compatible API: existing Akismet clients ask, and teach, a site's spam filter here.

It speaks Akismet's REST protocol (https://akismet.com/developers/): form-encoded parameters in, plain
text out, and always HTTP 200, with problems told in the body and Akismet's ``X-akismet-*`` headers,
because that is what Akismet's clients look at. Keys come from ``rejoinder admin akismet-key create``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder import apikeys
from rejoinder.antispam import check_submission, teach
from rejoinder.apikeys import ApiKey, ApiKeyKind
from rejoinder.context import Context
from rejoinder.model import Author, Site
from rejoinder.spam.submission import Submission
from rejoinder.spam.verdict import Action, Verdict
from rejoinder.web.serialize import dumps

router = APIRouter(include_in_schema=False)  # described in docs/reference/akismet.md, not in OpenAPI

THANKS = "Thanks for making the web a better place."
# Akismet's documented test values: this author or e-mail is always spam, this role never is.
TEST_SPAM_AUTHOR = "akismet-guaranteed-spam"
TEST_SPAM_EMAIL = "akismet-guaranteed-spam@example.com"
TEST_HAM_ROLE = "administrator"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
DEBUG_HELP = "X-akismet-debug-help"
# What Akismet defines; a honeypot field can be any other name.
AKISMET_PARAMETERS = frozenset(
    [
        "api_key",
        "key",
        "blog",
        "blog_charset",
        "blog_lang",
        "user_ip",
        "user_agent",
        "user_role",
        "referrer",
        "permalink",
        "comment_type",
        "comment_author",
        "comment_author_email",
        "comment_author_url",
        "comment_content",
        "comment_context",
        "comment_date_gmt",
        "comment_post_modified_gmt",
        "comment_parent",
        "honeypot_field_name",
        "is_test",
        "recheck_reason",
    ]
) | {""}

Params = Mapping[str, str]


class Refusal(Exception):
    """An Akismet-style refusal: HTTP 200 all the same, with a body and headers saying what is wrong."""

    def __init__(self, body: str, debug_help: str, *, error: bool = False) -> None:
        super().__init__(debug_help)
        self.body = body
        self.headers = {DEBUG_HELP: debug_help}
        if error:
            # WordPress's plugin holds a comment for moderation when this header is present.
            self.headers["X-akismet-error"] = body

    def response(self) -> Response:
        return _text(self.body, self.headers)


def _invalid(debug_help: str) -> Refusal:
    """What Akismet answers for a key (or blog) it does not accept; clients take it as a bad key."""
    return Refusal("invalid", debug_help)


def _missing(name: str) -> Refusal:
    return Refusal(f"Missing required field: {name}.", f'Empty "{name}" value', error=True)


def _text(body: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, media_type="text/plain", headers=headers)


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


async def _params(request: Request) -> dict[str, str]:
    """Query-string parameters, overridden by those of a form-encoded body (Akismet's clients POST forms)."""
    params = _parse(request.scope["query_string"])
    content_type = request.headers.get("content-type", "application/x-www-form-urlencoded").lower()
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(_parse(await request.body()))
    return params


def _parse(raw: bytes) -> dict[str, str]:
    text = raw.decode("utf-8", "replace")
    # NUL is no character of any comment, and PostgreSQL refuses it in text.
    return {
        name.replace("\0", ""): value.replace("\0", "")
        for name, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    }


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


@dataclass(frozen=True)
class Caller:
    """Who is asking: a valid Akismet key, and the site whose filter it uses."""

    key: ApiKey
    site: Site


def _caller(ctx: Context, key: str | None, empty: str = "api_key") -> Caller:
    found = apikeys.find_key(ctx, ApiKeyKind.AKISMET, key) if key else None
    if found is None:
        raise _invalid(
            f'Empty "{empty}" value'
            if not key
            else "The API key is not valid on this server; issue one with rejoinder admin akismet-key"
        )
    return Caller(found, apikeys.key_site(ctx, found))


def _check_blog(site: Site, blog: str) -> None:
    """Refuse a blog that is not on the key's site: a key used by another site's blog would teach the wrong
    site's filter. A site with no allowed origins takes any blog."""
    origin = apikeys.origin_in(blog)
    if origin is None:
        raise _invalid("The blog must be a full URL, including http:// or https://")
    if site.allowed_origins and origin not in site.allowed_origins:
        raise _invalid("The blog is not on an allowed origin of the site this key belongs to")


def _authenticated(ctx: Context, params: Params) -> Caller:
    """The caller of comment-check, submit-spam and submit-ham, which all need a key, a blog and a user_ip."""
    caller = _caller(ctx, params.get("api_key") or params.get("key"))  # a bad key is told before the rest
    for name in ("blog", "user_ip"):
        if not params.get(name, "").strip():
            raise _missing(name)
    try:
        ipaddress.ip_address(params["user_ip"].strip())
    except ValueError:
        raise Refusal(
            "Invalid value for field: user_ip.", 'The "user_ip" value is not an IP address', error=True
        ) from None
    _check_blog(caller.site, params["blog"].strip())
    return caller


def submission(params: Params) -> Submission:
    """Akismet's parameters as the spam filter's submission."""
    return Submission(
        text=params.get("comment_content", ""),
        author=Author(
            params.get("comment_author", ""),
            params.get("comment_author_email", ""),
            params.get("comment_author_url", ""),
        ),
        remote_addr=params.get("user_ip", "").strip(),
        user_agent=params.get("user_agent", ""),
        url=params.get("permalink", ""),
    )


def item_key(params: Params) -> str:
    """What identifies one submitted item across submit-spam and submit-ham: its text and its author."""
    fields = [params.get(name, "") for name in ("comment_content", "comment_author", "comment_author_email")]
    digest = hashlib.sha256(json.dumps(fields).encode()).hexdigest()
    return f"akismet:{digest}"


def judge(ctx: Context, site: Site, params: Params) -> Verdict:
    """The filter's verdict, after Akismet's test values and the honeypot the client says it has."""
    if (
        params.get("comment_author") == TEST_SPAM_AUTHOR
        or params.get("comment_author_email") == TEST_SPAM_EMAIL
    ):
        return Verdict(Action.SPAM, 1.0, ("Akismet's test author, always spam",))
    if params.get("user_role", "").strip().lower() == TEST_HAM_ROLE:
        return Verdict(Action.PUBLISH, 0.0, ("written by an administrator of the site",))
    honeypot = params.get("honeypot_field_name", "")
    if honeypot not in AKISMET_PARAMETERS and params.get(honeypot, "").strip():
        return Verdict(Action.SPAM, 1.0, ("filled in the form's hidden honeypot field",))
    return check_submission(ctx, site, submission(params))


async def _answer(request: Request, work: Callable[[Context, dict[str, str]], Response]) -> Response:
    params = await _params(request)
    try:
        return await run_in_threadpool(work, _ctx(request), params)
    except Refusal as refusal:
        return refusal.response()


@router.post("/1.1/verify-key")
async def verify_key(request: Request) -> Response:
    def work(ctx: Context, params: dict[str, str]) -> Response:
        caller = _caller(ctx, params.get("key") or params.get("api_key"), empty="key")
        blog = params.get("blog", "").strip()
        if not blog:
            raise _invalid('Empty "blog" value')
        _check_blog(caller.site, blog)
        return _text("valid")

    return await _answer(request, work)


@router.post("/1.1/comment-check")
async def comment_check(request: Request) -> Response:
    def work(ctx: Context, params: dict[str, str]) -> Response:
        caller = _authenticated(ctx, params)
        verdict = judge(ctx, caller.site, params)
        apikeys.count_call(ctx, caller.key)
        headers = {"X-Rejoinder-Action": verdict.action.value, "X-Rejoinder-Score": f"{verdict.score:.4f}"}
        if verdict.action is Action.DISCARD:
            headers["X-akismet-pro-tip"] = "discard"
        return _text("true" if verdict.is_spam else "false", headers)

    return await _answer(request, work)


def _submit(is_spam: bool) -> Callable[[Context, dict[str, str]], Response]:
    def work(ctx: Context, params: dict[str, str]) -> Response:
        caller = _authenticated(ctx, params)
        if not _is_true(params.get("is_test")):  # test calls must leave the filter as it was
            # Judged before it is learned (by the filter alone, not Akismet's test values): the score it
            # would have had, for the site's learned spam threshold.
            sub = submission(params)
            before = check_submission(ctx, caller.site, sub)
            teach(ctx, caller.site, item_key(params), sub, is_spam, score=before.score)
        apikeys.count_call(ctx, caller.key)
        return _text(THANKS)

    return work


@router.post("/1.1/submit-spam")
async def submit_spam(request: Request) -> Response:
    return await _answer(request, _submit(is_spam=True))


@router.post("/1.1/submit-ham")
async def submit_ham(request: Request) -> Response:
    return await _answer(request, _submit(is_spam=False))


@router.api_route("/1.2/usage-limit", methods=["GET", "POST"])
async def usage_limit(request: Request) -> Response:
    def work(ctx: Context, params: dict[str, str]) -> Response:
        caller = _caller(ctx, params.get("api_key") or params.get("key"))
        body = {
            "limit": "none",  # what Akismet answers for an unlimited key
            "usage": apikeys.usage(ctx, caller.key),
            "percentage": "0.00",
            "throttled": False,
        }
        return Response(dumps(body), media_type="application/json")

    return await _answer(request, work)
