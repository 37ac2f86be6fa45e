"""The outermost middleware: what every answer gets on its way out — security headers, a request id, a
sample in the metrics and a line in the log.

One plain ASGI layer around the whole application (``web/app.py``), so it sees every answer (those the
router gives, and those given before it: CORS preflights, oversized bodies, errors) and so a read
answered from memory or a like pays for one layer: it asks ``web/fastreads.py`` and ``web/fastlikes.py``
first, and sends their answers without going through the others; a new comment and a comment form
likewise (``web/fastposts.py``, ``web/fastforms.py``). Under ``rejoinder serve`` the server's protocol asks
``answer_now`` before it makes an ASGI cycle at all (``web/wire.py``), so most cached reads and forms never
reach ``__call__``. Measured with
``bench/cpu.py``, two separate middlewares for this had doubled the server's CPU time per cached read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import APIRouter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rejoinder.web.fastforms import FORM_PATH, answer_form
from rejoinder.web.fastlikes import METHODS as LIKE_METHODS
from rejoinder.web.fastlikes import answer_like
from rejoinder.web.fastposts import answer_post
from rejoinder.web.fastreads import Answer, MemoryAnswers
from rejoinder.web.headers import with_security_headers
from rejoinder.web.telemetry import RequestIds, RouteTemplates, record_request
from rejoinder.web.turns import WriteSlices
from rejoinder.web.wire import WriteAnswer

# Set in a scope whose ``GET`` the server's protocol asked memory for already, and memory had no answer.
MEMORY_ASKED = "rejoinder.memory_asked"


class Envelope:
    def __init__(self, app: ASGIApp, routers: Iterable[APIRouter], slices: WriteSlices) -> None:
        self.app = app
        self.slices = slices  # the write turns' (``WriteTurns``), which the posts answered here keep to
        self.route_template = RouteTemplates(routers)
        self.request_id = RequestIds()
        self.from_memory = MemoryAnswers()
        # False: every like, comment or form goes through the framework (the tests' way to compare)
        self.likes = True
        self.posts = True
        self.forms = True

    def answer_now(self, scope: Scope, write: WriteAnswer) -> bool:
        """Answer a ``GET`` memory holds the answer to through ``write``, as ``__call__`` would send it, for a
        server protocol that asks before it makes an ASGI cycle (``web/wire.py``); False for any other."""
        started = time.perf_counter()
        answer = self._get(scope)
        if answer is None:
            # The protocol goes on with this very scope: ``__call__`` need not ask memory a second time.
            scope[MEMORY_ASKED] = True
            return False
        rid = self.request_id(scope)
        write(answer.status, [*answer.headers, (b"x-request-id", rid)], answer.body)
        record_request(scope, answer.route, rid, answer.status, time.perf_counter() - started)
        return True

    def _get(self, scope: Scope) -> Answer | None:
        """The answer to a ``GET`` made without the framework: a read from memory, or a comment form."""
        if scope["path"] == FORM_PATH:
            return answer_form(scope) if self.forms else None
        return self.from_memory(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        rid = self.request_id(scope)
        answer: Answer | None = None
        if scope["method"] == "GET":
            answer = None if scope.get(MEMORY_ASKED) else self._get(scope)
        elif scope["method"] in LIKE_METHODS and self.likes:
            answer = await answer_like(scope)
        elif scope["method"] == "POST" and self.posts:
            answer, receive = await answer_post(scope, receive, self.slices)
        if answer is not None:  # complete, security headers included: sent as it is
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": [*answer.headers, (b"x-request-id", rid)],
                }
            )
            await send({"type": "http.response.body", "body": answer.body})
            return record_request(scope, answer.route, rid, answer.status, time.perf_counter() - started)
        # Unless an answer starts. Starlette's error layer, inside, answers an exception with a 500 through
        # this envelope and raises it on; one raised before any answer is answered 500 by the server.
        status = 500

        async def enveloped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = with_security_headers(scope["path"], message.get("headers", []))
                headers.append((b"x-request-id", rid))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, enveloped)
        finally:
            record_request(scope, self.route_template(scope), rid, status, time.perf_counter() - started)
