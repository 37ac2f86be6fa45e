"""Likes without the router: ``PUT``/``DELETE /api/v1/comments/{id}/like`` answered in plain ASGI.

A like is small and frequent, and FastAPI's routing, parameter handling and dependency resolution cost
more CPU than the like's own work. This answers only the well-formed request — a comment id the route
accepts, exactly one liker id the service accepts, no ``Authorization`` (a logged-in reader's like goes
the usual way) — with the same bytes the route answers. Anything else goes on to the router untouched, and
so does every refusal or failure of the service: the exception travels in the scope (``REFUSED_KEY``) and
the route raises it (``refused_before``), so the app's error handlers answer it as usual and the like is
not attempted twice. The route stays, and with it the OpenAPI schema.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from rejoinder import likes
from rejoinder.context import Context
from rejoinder.web.client import client_of
from rejoinder.web.middleware import LIKE_ROUTE
from rejoinder.web.schemas import MAX_ID
from rejoinder.web.serialize import dumps
from rejoinder.web.telemetry import ROUTE_KEY

# Ids as a client writes them: no sign, no leading zero (the route would accept those too; they go there).
_LIKE_PATH = re.compile(r"/api/v1/comments/([1-9][0-9]{0,18})/like")
_LIKER = likes.LIKER_HEADER.lower().encode()
_AUTHORIZATION = b"authorization"
REFUSED_KEY = "rejoinder.like_refused"


class FastLikes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "DELETE"):
            return await self.app(scope, receive, send)
        found = _LIKE_PATH.fullmatch(scope["path"])
        liker = _liker_id(scope) if found is not None and not scope.get("root_path") else None
        comment_id = int(found[1]) if found is not None else 0
        if liker is None or comment_id > MAX_ID:
            return await self.app(scope, receive, send)
        ctx: Context = scope["app"].state.ctx
        address = client_of(scope, ctx.settings)
        try:
            state = await likes.set_like_async(ctx, comment_id, liker, scope["method"] == "PUT", address)
        except Exception as refused:  # answered by the route, through the app's error handlers
            scope[REFUSED_KEY] = refused
            return await self.app(scope, receive, send)
        scope[ROUTE_KEY] = LIKE_ROUTE  # for the request log and metrics, as the route would be named
        body = dumps({"likes": state.likes, "liked": state.liked})
        # What the route's Response sends, in its order.
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _liker_id(scope: Scope) -> str | None:
    """The one liker id of an anonymous like, if the service would accept it; None otherwise."""
    liker = None
    for name, value in scope["headers"]:
        if name == _LIKER:
            if liker is not None:
                return None
            liker = value.decode("latin-1")  # as Starlette decodes headers
        elif name == _AUTHORIZATION:
            return None
    return liker if liker is not None and likes.is_liker_id(liker.strip()) else None


def refused_before(scope: Scope) -> None:
    """Raise what the service refused or failed with on the fast path, if it did."""
    refused = scope.pop(REFUSED_KEY, None)
    if refused is not None:
        raise refused
