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
from typing import NamedTuple
from urllib.parse import parse_qsl

from starlette.types import Scope

from rejoinder.context import Context
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
# Whole counts answers remembered, by query: the same page asks the same question on every view. A site's
# index and a few lists of posts; each holds a query of a kilobyte or two and an answer as large, and at 256
# of them a server answering only new questions (the shared harness) ended 2 MiB larger.
MAX_COUNTS_ANSWERS = 64
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


class CountsAnswer(NamedTuple):
    """A counts answer's body, made of the counts of ``site`` at ``version`` (see
    ``ReadCache.counts_version``)."""

    site: str
    version: int
    body: bytes


class MemoryAnswers:
    """The answer memory holds for a request, or None. Called on the event loop only."""

    def __init__(self) -> None:
        self._fields: dict[bytes, Field] = {}
        self._counts_answers: dict[bytes, CountsAnswer] = {}

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
        body = self._counts(context_of(scope), scope["query_string"])
        if body is None:
            return None
        headers = [JSON_TYPE, (b"content-length", b"%d" % len(body)), *_VARY, *cors, *RESOURCE_HEADERS]
        return Answer(200, headers, body, COUNTS_PATH)

    def _counts(self, ctx: Context, query: bytes) -> bytes | None:
        """The body of the answer to a counts query, from memory: the one made for the same query if no
        count of its site changed since, or one made of the counts memory holds now."""
        answers = self._counts_answers
        known = answers.get(query)
        if known is not None and known.version == ctx.cache.counts_version(known.site):
            return known.body
        asked = self._asked(query)
        if asked is None:
            return None
        site, given, urls = asked
        if site is None or not given or len(given) > MAX_COUNT_URLS:
            return None
        version = ctx.cache.counts_version(site)  # before the counts: a write in between changes it
        found = remembered_counts(ctx, site, given, urls)
        if version is None or found is None:
            return None
        body = dumps({"counts": found})
        if len(answers) >= MAX_COUNTS_ANSWERS:
            answers.clear()  # as the fields: cheap to fill again
        answers[query] = CountsAnswer(site, version, body)
        return body

    def _asked(self, query: bytes) -> tuple[str | None, list[str], list[str]] | None:
        """The site, the URLs as given and the thread URLs they name, or None if the router would refuse
        the query (a URL naming no thread, the site twice)."""
        site, given, thread_urls = None, [], []
        fields = self._fields
        for piece in query.split(b"&"):
            if not piece:
                continue
            name, value, url = fields.get(piece) or self._read_field(piece)
            if name == "url":
                if url is None:
                    return None
                given.append(value)
                thread_urls.append(url)
            elif name == "site":
                if site is not None:
                    return None
                site = value
        return site, given, thread_urls

    def _read_field(self, piece: bytes) -> Field:
        """A query field as Starlette reads it (``parse_qsl``, one field at a time), remembered."""
        field = _field(piece)
        if len(self._fields) >= MAX_FIELDS:
            self._fields.clear()  # cheap to fill again, and a bound without bookkeeping per hit
        self._fields[piece] = field
        return field


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
