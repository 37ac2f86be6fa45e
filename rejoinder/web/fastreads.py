"""Reads answered from memory before any middleware or routing: ``GET /api/v1/comments`` and
``GET /api/v1/counts`` when the read cache holds the answer.

``web/envelope.py`` asks this first, for every ``GET``, so a cached read pays for one ASGI layer instead of
eight. The layers it passes by change nothing for such a read, and what they would add is added here:
``Vary: Origin`` and, for an origin some site allows, the CORS headers (``SiteCORS``; an origin that is
not remembered yet goes the long way, which looks it up); a request without a client address goes the
long way too (``ClientAddressRequired``). The security headers of a JSON answer are constant, so the
answer's headers come out complete. Anything else — a miss, a malformed or unusual query — returns None
and goes through the whole stack to the router, which answers it (and its errors) the usual way: this only
ever sends what the endpoint would have sent.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import Scope

from rejoinder.errors import RejoinderError
from rejoinder.sites import any_site_allows_in_memory
from rejoinder.threads import MAX_COUNT_URLS, remembered_counts, thread_url
from rejoinder.web.headers import RESOURCE_HEADERS
from rejoinder.web.middleware import (
    COUNTS_PATH,
    JSON_TYPE,
    READ_PATH,
    VARY_ORIGIN,
    context_of,
    cors_headers,
    header_of,
)
from rejoinder.web.serialize import dumps

Headers = list[tuple[bytes, bytes]]
# A query field as the router reads it (name, value) and, for a ``url``, the thread URL it names (None
# if it names none: the router then refuses the query).
Field = tuple[str, str, str | None]
# Fields of counts queries remembered: a page asks for the same addresses on every view, and reading
# them (percent-decoding, normalising the URL) cost more than the rest of the answer.
MAX_FIELDS = 10_000
_VARY = [VARY_ORIGIN]
_NO_CACHE = (b"cache-control", b"no-cache")


@dataclass(slots=True)  # not frozen: a frozen dataclass's constructor costs a call per field
class Answer:
    """A whole answer: its status, every header but the request id, its body, and the route it stands for
    (for the request log and the metrics)."""

    status: int
    headers: Headers
    body: bytes
    route: str


class MemoryAnswers:
    """The answer memory holds for a request, or None. Called on the event loop only."""

    def __init__(self) -> None:
        self._fields: dict[bytes, Field] = {}

    def __call__(self, scope: Scope) -> Answer | None:
        path = scope["path"]
        if path != READ_PATH and path != COUNTS_PATH:
            return None
        if scope.get("client") is None:
            return None
        cors = cors_or_none(scope)
        if cors is None:
            return None
        if path == READ_PATH:
            return _thread_page(scope, cors)
        return self._counts(scope, cors)

    def _counts(self, scope: Scope, cors: Headers) -> Answer | None:
        site, given, keys = None, [], []
        for name, value, url in self._query(scope["query_string"]):
            if name == "url":
                if url is None:
                    return None
                given.append(value)
                keys.append(url)
            elif name == "site":
                if site is not None:
                    return None
                site = value
        if site is None or not given or len(given) > MAX_COUNT_URLS:
            return None
        found = remembered_counts(context_of(scope), site, given, keys)
        if found is None:
            return None
        body = dumps({"counts": found})
        headers = [JSON_TYPE, (b"content-length", b"%d" % len(body)), *_VARY, *cors, *RESOURCE_HEADERS]
        return Answer(200, headers, body, COUNTS_PATH)

    def _query(self, query: bytes) -> list[Field]:
        """The query's fields, each read as Starlette reads it (``parse_qsl``, one field at a time)."""
        fields = []
        known = self._fields
        for piece in query.split(b"&"):
            if not piece:
                continue
            field = known.get(piece)
            if field is None:
                field = _field(piece)
                if len(known) >= MAX_FIELDS:
                    known.clear()  # cheap to fill again, and a bound without bookkeeping per hit
                known[piece] = field
            fields.append(field)
        return fields


def _field(piece: bytes) -> Field:
    ((name, value),) = parse_qsl(piece.decode("latin-1"), keep_blank_values=True)
    url = None
    if name == "url":
        with contextlib.suppress(RejoinderError):  # the router refuses it, naming the field
            url = thread_url(value)
    return name, value, url


def cors_or_none(scope: Scope) -> Headers | None:
    """The CORS headers ``SiteCORS`` would add, or None when it would have to look the origin up."""
    origin = header_of(scope, b"origin")
    if origin is None:
        return []
    allowed = any_site_allows_in_memory(context_of(scope), origin.decode("latin-1"))
    if allowed is None:
        return None
    return cors_headers(origin) if allowed else []


def _thread_page(scope: Scope, cors: Headers) -> Answer | None:
    entry = context_of(scope).cache.get(scope["query_string"])
    if entry is None:
        return None
    etag = entry.etag.encode()
    if header_of(scope, b"if-none-match") == etag:
        headers = [JSON_TYPE, (b"etag", etag), _NO_CACHE, *_VARY, *cors, *RESOURCE_HEADERS]
        return Answer(304, headers, b"", READ_PATH)
    length = (b"content-length", b"%d" % len(entry.body))
    headers = [JSON_TYPE, (b"etag", etag), _NO_CACHE, length, *_VARY, *cors, *RESOURCE_HEADERS]
    return Answer(200, headers, entry.body, READ_PATH)
