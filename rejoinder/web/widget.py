"""The embed widget's files, ``/embed.js`` and ``/embed.css`` (and the server's icon, ``web/icon.py``):
readable by any origin, revalidated by ETag.

Each file is read (and gzipped once) when first asked for, and again when it changes on disk, so an
edited widget shows on the next reload during development.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The snippet names an unversioned address: caches keep a copy for an hour, then revalidate (304) —
# serving the stale copy meanwhile for a day — so a new release reaches readers within the hour.
CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=86400"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


class Assets:
    """The widget's files as one application serves them (``app.state.assets``)."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[int, Asset]] = {}

    def get(self, name: str) -> Asset:
        """The file ``static/<name>``, kept in memory until its modification time changes."""
        path = STATIC / name
        mtime = path.stat().st_mtime_ns
        kept = self._loaded.get(name)
        if kept is None or kept[0] != mtime:
            kept = (mtime, _load(path))
            self._loaded[name] = kept
        return kept[1]


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    return Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        etag=hashlib.sha256(body).hexdigest()[:20],
        media_type=MEDIA_TYPES[path.suffix],
    )


def accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() == "gzip":
            q = params.strip().removeprefix("q=").strip()
            return not q or _quality(q) > 0
    return False


def _quality(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def serve(request: Request, name: str) -> Response:
    found: Asset = request.app.state.assets.get(name)
    gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
    # The two encodings are different bytes, so they carry different validators.
    etag = f'"{found.etag}-gz"' if gzipped else f'"{found.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(found.gzipped if gzipped else found.body, media_type=found.media_type, headers=headers)


@router.api_route("/embed.js", methods=["GET", "HEAD"])
def embed_js(request: Request) -> Response:
    return serve(request, "embed.js")


@router.api_route("/embed.css", methods=["GET", "HEAD"])
def embed_css(request: Request) -> Response:
    return serve(request, "embed.css")
