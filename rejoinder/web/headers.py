"""Security headers on every answer: a strict CSP on Rejoinder's own pages, fitting ones elsewhere.

Three kinds of answer, told apart by what they are rather than by route, so a page added later is covered
without being listed here:

- **pages** (any HTML): scripts, styles, images, fonts and requests only from this server, never inline;
  forms post only here; never framed. The widget on the demo pages builds its proof-of-work worker from a
  ``blob:`` address, hence ``worker-src blob:``; Swagger UI's stylesheet draws its icons from ``data:``.
- **the widget's files** (``/embed.js``, ``/embed.css``): loaded by other sites' pages, whose own CSP governs
  them; they get ``nosniff`` (a script must be served as one) and no policy of their own.
- **everything else** (the JSON API, health checks, metrics, assets): ``default-src 'none'``, so an answer
  opened as a document cannot run or load anything, and no framing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
RESOURCE_HEADERS = [
    *_COMMON,
    (b"content-security-policy", RESOURCE_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# For answers built where this middleware cannot reach (the last-resort 500 handler).
RESOURCE_HEADER_MAP = {name.decode(): value.decode() for name, value in RESOURCE_HEADERS}


def security_headers(path: str, content_type: bytes) -> list[tuple[bytes, bytes]]:
    """The headers an answer at ``path`` with this ``Content-Type`` gets."""
    if content_type.split(b";")[0].strip().lower() == b"text/html":
        return PAGE_HEADERS
    if path in WIDGET_FILES:
        return WIDGET_HEADERS
    return RESOURCE_HEADERS


class SecurityHeaders:
    """Add the headers of ``security_headers`` to every HTTP answer, keeping any a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                added = security_headers(scope["path"], content_type)
                headers += [(name, value) for name, value in added if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
