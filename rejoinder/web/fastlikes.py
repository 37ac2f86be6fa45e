"""Likes without the framework: ``PUT``/``DELETE /api/v1/comments/{id}/like`` answered by the envelope
(``web/envelope.py``) before any other layer.

A like is small and frequent, and the layers around the router (client-address check, CORS, size limit,
refusals at the door) and FastAPI's routing, parameter handling and dependency resolution cost more CPU
than the like's own work. This answers only the well-formed request — a comment id the route accepts,
exactly one liker id the service accepts, no ``Authorization`` (a logged-in reader's like goes the usual
way), no body — and only when those layers would let it through unchanged: a client address, an
``Origin`` that is absent or remembered (``SiteCORS`` would look it up), no refusal at the door for the
address. It sends the bytes the route sends with the headers those layers add. Anything else goes on to
the framework untouched, and so does every refusal or failure of the service: the exception travels in
the scope (``middleware.REFUSED_KEY``) and the route raises it (``middleware.refused_before``), so the
app's error handlers answer it as usual and the like is not attempted twice. The route stays, and with it
the OpenAPI schema.
"""

from __future__ import annotations

import re

from starlette.types import Scope

from rejoinder import likes
from rejoinder.context import Context
from rejoinder.web.client import client_of
from rejoinder.web.fastreads import Answer, cors_or_none
from rejoinder.web.headers import JSON_HEADERS
from rejoinder.web.middleware import FOR_THE_FRAMEWORK, JSON_TYPE, LIKE_ROUTE, REFUSED_KEY, VARY_ORIGIN
from rejoinder.web.schemas import MAX_ID
from rejoinder.web.serialize import dumps
from rejoinder.web.telemetry import ROUTE_KEY

# Ids as a client writes them: no sign, no leading zero (the route would accept those too; they go there).
_LIKE_PATH = re.compile(r"/api/v1/comments/([1-9][0-9]{0,18})/like")
_LIKER = likes.LIKER_HEADER.lower().encode()
# A body is for ``RequestSizeLimit`` to read and bound: a like with one (even an empty chunked one) goes
# there. Browsers send ``Content-Length: 0`` with a bodiless ``PUT``.
_CONTENT_LENGTH = b"content-length"
METHODS = frozenset({"PUT", "DELETE"})


async def answer_like(scope: Scope) -> Answer | None:
    """The answer to a like the framework would have answered the same way, or None: it goes there."""
    found = _LIKE_PATH.fullmatch(scope["path"])
    if found is None or scope.get("root_path") or scope.get("client") is None:
        return None
    liker = _liker_id(scope)
    comment_id = int(found[1])
    if liker is None or comment_id > MAX_ID:
        return None
    cors = cors_or_none(scope)
    if cors is None:
        return None
    ctx: Context = scope["app"].state.ctx
    address = client_of(scope, ctx.proxies)
    if address and ctx.refusals.active(address, "like") is not None:
        return None  # refused at the door again, with its Retry-After (``RefusedAgain``)
    try:
        state = await likes.set_like_async(ctx, comment_id, liker, scope["method"] == "PUT", address)
    except Exception as refused:  # answered by the route, through the app's error handlers
        scope[REFUSED_KEY] = refused
        return None
    scope[ROUTE_KEY] = LIKE_ROUTE  # for the request log and metrics, as the route would be named
    body = dumps({"likes": state.likes, "liked": state.liked})
    # What the route's Response sends, in its order, then what CORS and the security headers add.
    length = (b"content-length", b"%d" % len(body))
    return Answer(200, [length, JSON_TYPE, VARY_ORIGIN, *cors, *JSON_HEADERS], body, LIKE_ROUTE)


def _liker_id(scope: Scope) -> str | None:
    """The one liker id of an anonymous like without a body, if the service would accept it; None
    otherwise."""
    liker = None
    for name, value in scope["headers"]:
        if name == _LIKER:
            if liker is not None:
                return None
            liker = value.decode("latin-1")  # as Starlette decodes headers
        elif name in FOR_THE_FRAMEWORK or (name == _CONTENT_LENGTH and value != b"0"):
            return None
    return liker if liker is not None and likes.is_liker_id(liker.strip()) else None
