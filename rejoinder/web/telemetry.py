"""What every request leaves behind: a request id, a line in the log and a sample in the metrics
(``web/envelope.py`` calls these for every answer). Metrics are labelled with the route's template
(``/api/v1/comments/{comment_id}/like``), never the raw path, so a scraper's series stay few.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Iterable

from fastapi import APIRouter
from starlette.routing import Route
from starlette.types import Scope

from rejoinder.context import Context
from rejoinder.logs import FIELDS, REQUEST_LOGGER, JsonFormatter, direct_json_handler
from rejoinder.web.client import client_of

log = logging.getLogger(REQUEST_LOGGER)

# Set by middleware that answers before the router (likes, refusals at the door), which has no route object.
ROUTE_KEY = "rejoinder.route"
UNMATCHED = "(unmatched)"  # 404s for any path would otherwise make a series per scanner probe
# Probes and scrapes come every few seconds: their lines are for debugging, not the daily log.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# A proxy's id (nginx's $request_id) is kept when it looks like one; anything else is replaced.
INCOMING_ID = re.compile(rb"[A-Za-z0-9._:-]{8,64}")


class RouteTemplates:
    """The template of the route a request went to, or would have gone to had nothing answered first."""

    def __init__(self, routers: Iterable[APIRouter]) -> None:
        self.patterns = [
            (route.path_regex, route.path)
            for router in routers
            for route in router.routes
            if isinstance(route, Route)
        ]

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None and hasattr(route, "path"):
            return str(route.path)
        if ROUTE_KEY in scope:
            return str(scope[ROUTE_KEY])
        # Answered before the router (a CORS preflight, a body too large) or by no route at all.
        path = scope["path"]
        for pattern, template in self.patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


class RequestIds:
    """A proxy's request id when it looks like one; otherwise this process's random prefix and a counter:
    unique enough to find a request's line, without a call for random bytes on every request."""

    def __init__(self) -> None:
        self.prefix = os.urandom(4).hex().encode()
        self.counter = itertools.count()

    def __call__(self, scope: Scope) -> bytes:
        for name, value in scope["headers"]:
            if name == b"x-request-id" and INCOMING_ID.fullmatch(value):
                return value
        return b"%s%08x" % (self.prefix, next(self.counter) & 0xFFFFFFFF)


def record_request(scope: Scope, route: str, request_id: bytes, status: int, seconds: float) -> None:
    """Count the request in the metrics and write its line to the log."""
    ctx: Context | None = getattr(scope["app"].state, "ctx", None)
    if ctx is None:  # the lifespan failed or has not run: nothing to count into
        return
    method, path = scope["method"], scope["path"]
    ctx.metrics.observe_request(method, route, status, seconds)
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    if not ctx.settings.log_requests or not log.isEnabledFor(level):
        return
    fields = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "request_id": request_id.decode(),
    }
    if ctx.settings.log_client_addresses:
        fields["client"] = client_of(scope, ctx.proxies)
    handler = direct_json_handler(log, level)
    if handler is None:
        log.handle(_record(level, (method, path, status), fields))
        return
    formatter: JsonFormatter = handler.formatter  # type: ignore[assignment]
    message = f"{method} {path} {status}"
    handler.write_line(formatter.line(time.time(), level, REQUEST_LOGGER, message, fields), level)


# What every request line's record has in common. ``log.info`` would look up the caller's frame, and
# LogRecord's constructor the file name and module of this one, every time: a fifth of a line's cost.
_COMMON = vars(logging.LogRecord(REQUEST_LOGGER, logging.INFO, __file__, 0, "%s %s %s", None, None)) | {
    "thread": None,  # no line shows them (logs.configure_logging stops the lookups for the others too)
    "threadName": None,
    "process": None,
    "processName": None,
    "taskName": None,
}


def _record(level: int, args: tuple[object, ...], fields: dict[str, object]) -> logging.LogRecord:
    """A request line's record, as ``log.makeRecord`` would make it."""
    record = logging.LogRecord.__new__(logging.LogRecord)
    now = time.time()
    record.__dict__.update(_COMMON)
    record.__dict__.update(
        args=args,
        levelno=level,
        levelname=logging.getLevelName(level),
        created=now,
        msecs=int((now - int(now)) * 1000) + 0.0,
        relativeCreated=_COMMON["relativeCreated"] + (now - _COMMON["created"]) * 1000,
    )
    setattr(record, FIELDS, fields)
    return record
