"""Reads answered from memory before any middleware or routing: ``GET /api/v1/comments`` and
``GET /api/v1/counts`` when the read cache holds the answer, and a thread's page a write dropped from it
when memory holds the thread's snapshot (the page is cut from it as the route would: ``snapshot_pages``).

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

from rejoinder.cache import CachedResponse, ThreadKey
from rejoinder.context import Context
from rejoinder.errors import RejoinderError
from rejoinder.model import SortOrder
from rejoinder.sites import any_site_allows_in_memory
from rejoinder.threads import DEFAULT_PAGE, MAX_COUNT_URLS, MAX_PAGE, remembered_counts, thread_url
from rejoinder.web.headers import JSON_HEADERS
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
from rejoinder.web.snapshot_pages import page_from_snapshot

Headers = list[tuple[bytes, bytes]]
# A query field as the router reads it (name, value) and, for a ``url``, the thread URL it names (None
# if it names none: the router then refuses the query).
Field = tuple[str, str, str | None]
# A page's query as the route reads it: the thread, the order, the page's size and its cursor.
PageQuery = tuple[ThreadKey, SortOrder, int, str | None]
PAGE_FIELDS = frozenset({"site", "url", "sort", "limit", "cursor"})
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
        # False: a page a write dropped from the read cache is rebuilt by the route (the tests' way to
        # compare the two)
        self.rebuilds = True

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
            return self._thread_page(scope, cors)
        body = self._counts(context_of(scope), scope["query_string"])
        if body is None:
            return None
        headers = [JSON_TYPE, (b"content-length", b"%d" % len(body)), *_VARY, *cors, *JSON_HEADERS]
        return Answer(200, headers, body, COUNTS_PATH)

    def _thread_page(self, scope: Scope, cors: Headers) -> Answer | None:
        ctx = context_of(scope)
        entry = ctx.cache.get(scope["query_string"])
        if entry is None and self.rebuilds:
            entry = self._rebuilt(scope)
        if entry is None:
            return None
        etag = entry.etag.encode()
        if header_of(scope, b"if-none-match") == etag:
            headers = [JSON_TYPE, (b"etag", etag), _NO_CACHE, *_VARY, *cors, *JSON_HEADERS]
            return Answer(304, headers, b"", READ_PATH)
        length = (b"content-length", b"%d" % len(entry.body))
        headers = [JSON_TYPE, (b"etag", etag), _NO_CACHE, length, *_VARY, *cors, *JSON_HEADERS]
        return Answer(200, headers, entry.body, READ_PATH)

    def _rebuilt(self, scope: Scope) -> CachedResponse | None:
        """The page cut from the thread's snapshot, as the route cuts it: after a write to a busy thread,
        its readers would otherwise all go through the framework until one of them had rebuilt the page."""
        query = self._page_query(scope["query_string"])
        if query is None:
            return None
        key, sort, limit, cursor = query
        ctx, parts, variant = context_of(scope), scope["app"].state.page_parts, scope["query_string"]
        try:
            return page_from_snapshot(ctx, parts, variant, key, sort, limit, cursor)
        except RejoinderError:  # a cursor that does not decode, say: the route refuses it, naming the field
            return None

    def _page_query(self, query: bytes) -> PageQuery | None:
        """The query as the route reads it, or None for one the route should read itself: a field missing,
        repeated, unknown or out of range, or written some way the route may read otherwise."""
        given: dict[str, tuple[str, str | None]] = {}
        for name, value, url in self._query(query):
            if name in given or name not in PAGE_FIELDS:
                return None
            given[name] = (value, url)
        if "site" not in given or "url" not in given:
            return None
        url = given["url"][1]
        if url is None:
            return None
        try:
            sort = SortOrder(given["sort"][0]) if "sort" in given else SortOrder.OLDEST
        except ValueError:
            return None
        limit = DEFAULT_PAGE
        if "limit" in given:
            written = given["limit"][0]
            # Plain digits only ("50", not "050" or " 50"): the route's parsing of anything else is its own.
            if not (written.isascii() and written.isdigit() and str(int(written)) == written):
                return None
            limit = int(written)
            if not 1 <= limit <= MAX_PAGE:
                return None
        cursor = given["cursor"][0] if "cursor" in given else None
        if cursor == "":
            return None
        return (given["site"][0], url), sort, limit, cursor

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

    def _query(self, query: bytes) -> list[Field]:
        """The query's fields, each read as Starlette reads it (``parse_qsl``, one field at a time)."""
        fields = self._fields
        return [fields.get(piece) or self._read_field(piece) for piece in query.split(b"&") if piece]

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
