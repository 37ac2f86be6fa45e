"""Security headers for every answer: a strict CSP on Rejoinder's own pages, fitting ones elsewhere
(``web/envelope.py`` adds them).

Three kinds of answer, told apart by what they are rather than by route, so a page added later is covered
without being listed here:

- **pages** (any HTML): scripts, styles, images, fonts and requests only from this server, never inline;
  forms post only here; never framed. The widget on the demo pages builds its proof-of-work worker from a
  ``blob:`` address, hence ``worker-src blob:``; Swagger UI's stylesheet draws its icons from ``data:``.
- **the widget's files** (``/embed.js``, ``/embed.css``): loaded by other sites' pages, whose own CSP governs
  them; they get ``nosniff`` (a script must be served as one) and no policy of their own.
- **JSON** (the API's answers, its errors, the schema): ``nosniff`` and ``default-src 'none'`` with
  ``frame-ancestors 'none'``, nothing else. ``X-Frame-Options`` only repeats ``frame-ancestors`` for
  browsers older than CSP 2, which render a framed JSON answer as inert text anyway (there is nothing in it
  to click for someone who frames it); ``Referrer-Policy`` governs the requests a document makes and the
  links followed from it, and a JSON answer makes none (``default-src 'none'`` forbids them) and has no
  links. Both cost every reader's client something on the hottest answer, the thread read.
- **everything else** (health checks, metrics, assets): the same policy, ``X-Frame-Options`` and
  ``Referrer-Policy: no-referrer`` too, since a stylesheet's or an SVG's own requests follow its answer's.
"""

from __future__ import annotations

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; worker-src 'self' blob:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
RESOURCE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
WIDGET_FILES = frozenset({"/embed.js", "/embed.css"})

_COMMON = [(b"x-content-type-options", b"nosniff")]
PAGE_HEADERS = [
    *_COMMON,
    (b"content-security-policy", PAGE_POLICY.encode()),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    # Same-origin requests keep their Referer (and their Origin on form posts); links out send none.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
WIDGET_HEADERS = [*_COMMON, (b"referrer-policy", b"no-referrer")]
JSON_HEADERS = [*_COMMON, (b"content-security-policy", RESOURCE_POLICY.encode())]
RESOURCE_HEADERS = [*JSON_HEADERS, (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
# For JSON answers built where this middleware cannot reach (the last-resort 500 handler).
JSON_HEADER_MAP = {name.decode(): value.decode() for name, value in JSON_HEADERS}


SECURITY_NAMES = frozenset(name for name, _ in PAGE_HEADERS + WIDGET_HEADERS + RESOURCE_HEADERS)


def security_headers(path: str, content_type: bytes) -> list[tuple[bytes, bytes]]:
    """The headers an answer at ``path`` with this ``Content-Type`` gets."""
    if b"html" in content_type and content_type.split(b";")[0].strip().lower() == b"text/html":
        return PAGE_HEADERS
    if path in WIDGET_FILES:
        return WIDGET_HEADERS
    if b"json" in content_type and _is_json(content_type):
        return JSON_HEADERS
    return RESOURCE_HEADERS


def _is_json(content_type: bytes) -> bool:
    """``application/json`` or a ``+json`` type (``application/problem+json``), parameters aside."""
    essence = content_type.split(b";")[0].strip().lower()
    if essence == b"application/json":
        return True
    return essence.startswith(b"application/") and essence.endswith(b"+json")


def with_security_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` (an answer's, with lower-case names as ASGI has them) and the security headers, except
    any the answer set itself: one pass over the few headers it has."""
    content_type, own = b"", None
    for name, value in headers:
        if name == b"content-type":
            content_type = value
        elif name in SECURITY_NAMES:
            own = own or set()
            own.add(name)
    added = security_headers(path, content_type)
    if own:
        added = [(name, value) for name, value in added if name not in own]
    return [*headers, *added]
