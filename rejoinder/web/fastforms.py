"""The comment form without the framework: ``GET /api/v1/form`` answered by the envelope
(``web/envelope.py``), and under ``rejoinder serve`` by the server's protocol itself (``web/wire.py``),
before any other layer.

Through the spam filter every attempt at a comment fetches a form first, a comment asked for a proof of
work a second one: as many forms as posts. The form's own work is a few HMACs (its token, its challenge),
and the layers around the router (client-address check, CORS, size limit, refusals at the door, write
turns), FastAPI's routing and query validation and uvicorn's ASGI cycle had cost more CPU than that.

This answers only a query the route reads the same way — ``site`` once, ``difficulty`` at most once and
written as plain digits within the route's range (other fields the route ignores; so does this) — and
only when those layers would let it through unchanged: a client address, an ``Origin`` that is absent or
remembered. The form is made by the route's own function, and only from memory
(``forms.form_in_memory``): a site or login providers to be read from the database, and the request goes
on to the route, which reads them (and answers an unknown site with its error). The route stays, and with
it the OpenAPI schema.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Scope

from rejoinder import forms
from rejoinder.errors import RejoinderError
from rejoinder.spam import pow
from rejoinder.web.client import client_of
from rejoinder.web.fastreads import Answer, cors_or_none
from rejoinder.web.headers import JSON_HEADERS
from rejoinder.web.middleware import JSON_TYPE, VARY_ORIGIN, context_of
from rejoinder.web.serialize import dumps

FORM_PATH = "/api/v1/form"
# The route's ``Cache-Control`` (a form token is single-use: no cache may hand it out twice).
_NO_STORE = (b"cache-control", b"no-store")
# The difficulties the route takes, written as a client writes them: plain digits (the route reads "05" or
# " 5" too; those go there).
_LEVELS = {str(level): level for level in range(pow.MAX_LEVEL + 1)}


def answer_form(scope: Scope) -> Answer | None:
    """The answer to a form request the route would have answered the same way, or None: it goes there."""
    if scope["path"] != FORM_PATH or scope.get("root_path") or scope.get("client") is None:
        return None
    asked = _asked(scope["query_string"])
    if asked is None:
        return None
    cors = cors_or_none(scope)
    if cors is None:
        return None
    ctx = context_of(scope)
    site, difficulty = asked
    try:
        found = forms.form_in_memory(ctx, site, difficulty, client_of(scope, ctx.proxies))
    except RejoinderError:  # the route meets it too, and answers it through the app's error handlers
        return None
    if found is None:
        return None
    body = dumps(found)
    # What the route's Response sends, in its order, then what CORS and the security headers add.
    length = (b"content-length", b"%d" % len(body))
    return Answer(200, [_NO_STORE, length, JSON_TYPE, VARY_ORIGIN, *cors, *JSON_HEADERS], body, FORM_PATH)


def _asked(query: bytes) -> tuple[str, int] | None:
    """The site and the difficulty as the route reads them (Starlette's ``parse_qsl``), or None for a query
    the route should read itself: a field repeated, no ``site``, a difficulty out of range or not written
    as plain digits."""
    given: dict[str, str] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in given:
            return None
        given[name] = value
    site = given.get("site")
    difficulty = _LEVELS.get(given.get("difficulty", "0"))
    if site is None or difficulty is None:
        return None
    return site, difficulty
