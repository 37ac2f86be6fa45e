"""Plain ASGI middleware for what every API request goes through: size limit, CORS, refusals repeated at
the door (cached reads are answered before any of them: ``web/fastreads.py``).

Written against raw ASGI because these run on every request.
"""

from __future__ import annotations

import logging
import re
import time

import orjson
from anyio.to_thread import run_sync as to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rejoinder.addresses import UNIX_PEER
from rejoinder.context import Context
from rejoinder.errors import (
    BadRequest,
    NoClientAddress,
    OriginNotAllowed,
    PayloadTooLarge,
    RateLimited,
    RejoinderError,
)
from rejoinder.settings import Settings
from rejoinder.sites import any_site_allows, any_site_allows_in_memory
from rejoinder.web.client import client_of
from rejoinder.web.telemetry import ROUTE_KEY

log = logging.getLogger(__name__)

JSON = b"application/json"
JSON_TYPE = (b"content-type", JSON)  # the header of the answers the fast paths send themselves
# Headers that send a request past the fast paths (web/fastlikes.py, web/fastposts.py) to the framework: a
# reader's token, or a body of no declared length.
FOR_THE_FRAMEWORK = frozenset({b"authorization", b"transfer-encoding"})
BODY_METHODS = {"POST", "PUT", "PATCH"}
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = "Content-Type, Authorization, X-Rejoinder-Liker"
READ_PATH = "/api/v1/comments"
COUNTS_PATH = "/api/v1/counts"
UPLOAD_PATH = "/dashboard/import"  # an export file: bounded by import_max_bytes, not max_request_bytes
API_PREFIXES = ("/api/", "/1.")  # the JSON API and the Akismet-compatible one (/1.1/…)


def context_of(scope: Scope) -> Context:
    return scope["app"].state.ctx


def header_of(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def _send_error(send: Send, error: RejoinderError) -> None:
    """The same answer the app's error handler gives, for refusals made before the app is reached."""
    body = orjson.dumps({"error": {"code": error.code, "message": error.message, "fields": error.fields}})
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
    if isinstance(error, RateLimited):
        headers.append((b"retry-after", str(error.retry_after).encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestSizeLimit:
    """Refuse request bodies over the limit with 413 before anything parses them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        if scope["path"] == UPLOAD_PATH:
            return await self.app(scope, _bounded(scope, receive), send)
        limit = context_of(scope).settings.max_request_bytes
        declared = header_of(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _send_error(
                    send, BadRequest("invalid Content-Length", {"Content-Length": "must be a number"})
                )
            if int(declared) > limit:
                return await _send_error(send, _too_large(limit))
        # Read the (small) body here, so a chunked upload cannot slip past the limit.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await _send_error(send, _too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        await self.app(scope, _replaying(b"".join(chunks), receive), send)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("request body too large", {"body": f"must be at most {limit:,} bytes"})


def _bounded(scope: Scope, receive: Receive) -> Receive:
    """The body of an export file's upload, streamed to the app (which spools it to disk) rather than held
    here, and bounded by ``import_max_bytes``: over it, the app's read fails with 413, answered as a page."""
    limit = context_of(scope).settings.import_max_bytes
    declared = header_of(scope, b"content-length")
    size = 0

    async def counted() -> Message:
        nonlocal size
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise PayloadTooLarge("the file is too large", {"file": f"must be at most {limit:,} bytes"})
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise PayloadTooLarge("the file is too large", {"file": f"must be at most {limit:,} bytes"})
        return message

    return counted


# Every API answer varies on Origin, with or without one: shared caches must not mix them up.
VARY_ORIGIN = (b"vary", b"Origin")


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """What an answer to an allowed origin carries besides ``VARY_ORIGIN`` (``SiteCORS``, and the reads
    answered from memory before it, ``web/fastreads.py``)."""
    return [(b"access-control-allow-origin", origin), (b"access-control-expose-headers", b"ETag")]


class SiteCORS:
    """CORS for the API: only origins that some site allows get an answer they can read.

    Whether a given site accepts the origin is checked again by the services on every write.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            return await self.app(scope, receive, send)
        origin_bytes = header_of(scope, b"origin")
        allowed = False
        if origin_bytes is not None:
            origin = origin_bytes.decode("latin-1")
            ctx = context_of(scope)
            remembered = any_site_allows_in_memory(ctx, origin)
            # Off the loop only when the sites must be read: nearly always they are remembered.
            allowed = remembered if remembered is not None else await to_thread(any_site_allows, ctx, origin)
            if scope["method"] == "OPTIONS" and header_of(scope, b"access-control-request-method"):
                return await self._preflight(send, origin_bytes, allowed)

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Vary on every API answer, with or without Origin: shared caches must not mix them up.
                headers = [*message.get("headers", []), VARY_ORIGIN]
                if allowed and origin_bytes is not None:
                    headers += cors_headers(origin_bytes)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: bytes, allowed: bool) -> None:
        if not allowed:
            return await _send_error(
                send,
                OriginNotAllowed(
                    f"{origin.decode('latin-1')} is not allowed",
                    {"Origin": "is not an allowed origin of any site"},
                ),
            )
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin),
                    (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                    (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                    (b"access-control-max-age", b"600"),
                    VARY_ORIGIN,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


class ClientAddressRequired:
    """Refuse requests that carry no client address unless ``trusted_proxies`` includes ``unix``.

    An ASGI server listening on a Unix socket (``uvicorn --uds`` with ``rejoinder.asgi:create``) passes no
    client address, and per-address rate limits and bans would silently count nobody. ``rejoinder serve
    --unix-socket`` refuses to start in that case; a server started some other way learns it only here,
    from its first request, and answers 503 naming the setting (``/healthz`` excepted, so the process is
    seen alive while its operator reads why).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._told = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("client") is not None or scope["path"] == "/healthz":
            return await self.app(scope, receive, send)
        settings: Settings = scope["app"].state.settings
        if UNIX_PEER in settings.trusted_proxies:
            return await self.app(scope, receive, send)
        message = (
            "requests carry no client address (a Unix socket?): add 'unix' to trusted_proxies and have the "
            f"proxy name the client in {settings.client_address_header}"
        )
        if not self._told:
            self._told = True
            log.error("refusing requests: %s", message)
        await _send_error(send, NoClientAddress(message, {"trusted_proxies": "must include 'unix'"}))


LIKE_PATH = re.compile(r"/api/v1/comments/[0-9]+/like")
# What the service refused or failed with on a fast path (web/fastlikes.py, web/fastposts.py): the route
# raises it (``refused_before``) for the app's error handlers to answer, rather than trying again.
REFUSED_KEY = "rejoinder.refused_before"
LIKE_ROUTE = "/api/v1/comments/{comment_id}/like"
PREVIEW_PATH = "/api/v1/preview"


class RefusedAgain:
    """Refuse likes, previews and comments at once from an address still inside the ``Retry-After`` it was
    given.

    The rate limits decided the first refusal (``Context.refusals`` remembers it); asking again sooner is
    answered the same way without routing, parsing or counting, so an address flooding these endpoints
    costs about what a cached read does. A comment's limit is its site's, which only the body names: the
    body of a comment from an address refused for comments is read for its ``site`` (and nothing else),
    and the comment goes on to the app unless that is the site that refused it. It still counts toward
    the address's recent volume, which sets its proof-of-work.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A like or comment the service refused just now (on a fast path): the route answers why, not this.
        if scope["type"] != "http" or REFUSED_KEY in scope:
            return await self.app(scope, receive, send)
        if scope["method"] == "POST" and scope["path"] == PREVIEW_PATH:
            kind, route = "preview", PREVIEW_PATH
        elif scope["method"] in ("PUT", "DELETE") and LIKE_PATH.fullmatch(scope["path"]):
            kind, route = "like", LIKE_ROUTE
        elif scope["method"] == "POST" and scope["path"] == READ_PATH:
            kind, route = "comment", READ_PATH
        else:
            return await self.app(scope, receive, send)
        ctx = context_of(scope)
        address = client_of(scope, ctx.proxies)
        refusal = ctx.refusals.active(address, kind) if address else None
        if refusal is None:
            return await self.app(scope, receive, send)
        if refusal.within:
            body = await _whole_body(receive)
            if body is None:
                return None
            site = _site_named(body)
            if site != refusal.within:
                return await self.app(scope, _replaying(body, receive), send)
            known = ctx.sites.get(site)
            if known is not None:
                ctx.spam.rate_limits.count_recent(known.id, address)
        scope[ROUTE_KEY] = route
        retry_after = refusal.retry_after(time.monotonic())
        message = f"{refusal.what}; try again in {retry_after} s"
        await _send_error(send, RateLimited(message, refusal.fields, retry_after=retry_after))


def refused_before(scope: Scope) -> None:
    """Raise what the service refused or failed with on a fast path, if it did."""
    refused = scope.pop(REFUSED_KEY, None)
    if refused is not None:
        raise refused


async def _whole_body(receive: Receive) -> bytes | None:
    """The request's body (``RequestSizeLimit`` has bounded it); None if the client went away."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _site_named(body: bytes) -> str | None:
    """The ``site`` of a comment's JSON body, or None when it names none the app could accept: the app
    then answers the body, errors included, as usual."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    site = parsed.get("site") if isinstance(parsed, dict) else None
    return site if isinstance(site, str) else None
