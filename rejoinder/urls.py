"""Thread URLs: one article is one thread, however its address was spelled."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that mark how a reader arrived, not which page they read.
TRACKING_PARAMETERS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref", "_ga"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# The threads.url column holds 2,048 characters, and PostgreSQL's unique index on it about 2,700 bytes.
MAX_LENGTH = 2048
TOO_LONG = "must be an http(s) URL or a path of at most 2,048 bytes"


# Addresses that are already normal: lower-case http(s), no port, user, query or fragment, a path of
# plain characters. Most addresses a page sends look like this, and a count request brings twenty.
_NORMAL = re.compile(
    r"https?://[a-z0-9][a-z0-9.-]*/[A-Za-z0-9._~!$&()*+,;=:@/-]*"
    r"|/[A-Za-z0-9._~!$&()*+,;=@-][A-Za-z0-9._~!$&()*+,;=@/-]*"
)


class BadURL(ValueError):
    pass


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop default port, fragment and tracking parameters.

    Raises ``BadURL`` for anything but an absolute http(s) URL or a site-relative path.
    """
    if len(url) <= MAX_LENGTH and _NORMAL.fullmatch(url):
        return url  # what ``_normalise`` would give back unchanged, at a twentieth of the cost
    return _normalise(url)


def _normalise(url: str) -> str:
    url = url.strip()
    if not url or len(url) > MAX_LENGTH or any(ord(ch) < 32 for ch in url):
        raise BadURL(TOO_LONG)
    if url.startswith("/") and not url.startswith("//"):
        parts = urlsplit(url)
        return _fits(urlunsplit(("", "", parts.path or "/", _clean_query(parts.query), "")))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadURL("is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise BadURL("must be an http(s) URL or a path starting with /")
    netloc = parts.hostname.lower()
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return _fits(urlunsplit((scheme, netloc, parts.path or "/", _clean_query(parts.query), "")))


def _fits(normalised: str) -> str:
    """Re-encoding the query, or non-ASCII in the path, can take an address past what the store keeps."""
    if len(normalised.encode("utf-8", "surrogatepass")) > MAX_LENGTH:
        raise BadURL(TOO_LONG)
    return normalised


def _clean_query(query: str) -> str:
    pairs = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not k.startswith("utm_") and k not in TRACKING_PARAMETERS
    ]
    return urlencode(pairs)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, as browsers send it in the Origin header."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
