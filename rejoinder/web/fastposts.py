"""New comments without the framework's layers: ``POST /api/v1/comments`` answered by the envelope
(``web/envelope.py``) before any other layer.

Under a read load the event loop's CPU is what limits writes, and a post's trip through the layers around
the router (client-address check, CORS, size limit, refusals at the door, write turns) and FastAPI's
routing, body parsing and dependency handling cost about as much CPU as the post's own work. This answers
only an anonymous comment whose body the route would accept as it is — no ``Authorization`` (a logged-in
reader's comment goes the usual way), a declared length within ``max_request_bytes``, a ``Content-Type``
of ``application/json``, a body that ``NewCommentIn`` validates — and only when those layers
would let it through unchanged: a client address, an ``Origin`` that is absent or remembered, no refusal
at the door for the address. The body is parsed and validated as FastAPI does (``json.loads``, then the
model), and the comment starts on a slice of the loop's turn as every write does (``WriteSlices``).

Anything else goes on to the framework with the body replayed as it came, so every 4xx is the one the
app gives, naming the field and the rule. The service's refusals (a ``RejoinderError``: a proof of work
wanted, a reply to a held comment, a rate limit) are answered here as the app's error handler answers them
(``errors.refusal_response``): through the spam filter a fifth of the posts are refused once for a proof of
work, and their trip through the framework had cost more than the refusal. Any other failure of the
service travels in the scope (``middleware.REFUSED_KEY``) and the route raises it
(``middleware.refused_before``) for the app's handlers; the comment is not attempted twice. The route
stays, and with it the OpenAPI schema.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.types import Message, Receive, Scope

from rejoinder import comments
from rejoinder.comments import Client
from rejoinder.context import Context
from rejoinder.errors import RejoinderError
from rejoinder.web.api import new_comment_of, posted_body
from rejoinder.web.client import client_of
from rejoinder.web.errors import refusal_response
from rejoinder.web.fastreads import Answer, cors_or_none
from rejoinder.web.headers import JSON_HEADERS, with_security_headers
from rejoinder.web.middleware import FOR_THE_FRAMEWORK, JSON, JSON_TYPE, READ_PATH, REFUSED_KEY, VARY_ORIGIN
from rejoinder.web.schemas import NewCommentIn
from rejoinder.web.telemetry import ROUTE_KEY
from rejoinder.web.turns import WriteSlices

POST_PATH = READ_PATH  # the same path: GET reads a thread, POST adds to it
# Headers this path reads; any of them twice, or one it does not take, and the request goes the long way.
_READ = frozenset({b"content-length", b"content-type", b"user-agent", b"origin"})


async def answer_post(scope: Scope, receive: Receive, slices: WriteSlices) -> tuple[Answer | None, Receive]:
    """The answer to a new comment the framework would have answered the same way, or None; and what the
    app should receive from then on (the body again, once this has read it)."""
    if scope["path"] != POST_PATH or scope.get("root_path") or scope.get("client") is None:
        return None, receive
    ctx: Context = scope["app"].state.ctx
    headers = _headers(scope, ctx.settings.max_request_bytes)
    if headers is None:
        return None, receive
    cors = cors_or_none(scope)
    if cors is None:
        return None, receive
    address = client_of(scope, ctx.proxies)
    if address and ctx.refusals.active(address, "comment") is not None:
        return None, receive  # refused at the door again (``RefusedAgain``), which reads the body itself
    messages = await _messages(receive)
    replay = _replaying(messages, receive)
    body = b"".join(message.get("body", b"") for message in messages)
    if messages[-1]["type"] != "http.request" or len(body) > ctx.settings.max_request_bytes:
        return None, replay
    new = _valid(body)
    if new is None:
        return None, replay  # the framework names what is wrong with it
    await slices.start()
    client = Client(
        remote_addr=address,
        user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
        origin=headers[b"origin"].decode("latin-1") if b"origin" in headers else None,
    )
    try:
        posted = await comments.post_comment_async(ctx, new_comment_of(new, None), client)
    except RejoinderError as refused:  # the service's refusal: answered as the app's error handler does
        scope[ROUTE_KEY] = POST_PATH
        return _refusal(refused, cors), replay
    except Exception as failed:  # answered by the route, through the app's error handlers
        scope[REFUSED_KEY] = failed
        return None, replay
    scope[ROUTE_KEY] = POST_PATH  # for the request log and metrics, as the route would be named
    answer = posted_body(posted)
    # What the route's Response sends, in its order, then what CORS and the security headers add.
    length = (b"content-length", b"%d" % len(answer))
    sent = [length, JSON_TYPE, VARY_ORIGIN, *cors, *JSON_HEADERS]
    return Answer(201, sent, answer, POST_PATH), replay


def _refusal(refused: RejoinderError, cors: list[tuple[bytes, bytes]]) -> Answer:
    """The answer the route gives when the service refuses the comment (a proof of work wanted, a reply to
    a held comment): the app's error handler's, then what CORS and the security headers add."""
    response = refusal_response(refused)
    headers = with_security_headers(POST_PATH, [*response.raw_headers, VARY_ORIGIN, *cors])
    return Answer(response.status_code, headers, bytes(response.body), POST_PATH)


def _headers(scope: Scope, limit: int) -> dict[bytes, bytes] | None:
    """The headers this path reads, if the request is one it answers: a JSON body of a declared length
    within the limit, and no reader's token; None otherwise."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _READ:
            if name in found:
                return None
            found[name] = value
        elif name in FOR_THE_FRAMEWORK:
            return None
    length = found.get(b"content-length", b"")
    if not length.isdigit() or not 0 < int(length) <= limit:
        return None
    if found.get(b"content-type") != JSON:  # the route reads JSON only from a body declared to be JSON
        return None
    return found


async def _messages(receive: Receive) -> list[Message]:
    """The request's messages up to its body's last or a disconnect (the length is declared and bounded)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` as the app would have met it: the messages read here first, as they came."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _valid(body: bytes) -> NewCommentIn | None:
    """The body as the route would take it: ``json.loads`` (as Starlette's ``Request.json``), then the
    model (as FastAPI validates a body); None if either refuses it."""
    try:
        parsed = json.loads(body)
    except Exception:  # the framework answers each kind of unreadable body in its own way
        return None
    try:
        return NewCommentIn.model_validate(parsed)
    except ValidationError:
        return None
