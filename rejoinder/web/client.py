"""Who is asking: the client address behind trusted reverse proxies.

A peer on a Unix socket has no address (ASGI's ``client`` is None): it is a proxy on the same machine,
believed when ``trusted_proxies`` includes ``unix``. Which header names the client is
``client_address_header``.
"""

from __future__ import annotations

from starlette.types import Scope

from rejoinder.addresses import TrustedProxies, canonical, parse

# Where a request keeps its client address once found: several layers ask (refusals at the door, the
# like or the comment, the log line), and parsing the addresses each time was a tenth of a like's CPU.
_CLIENT_KEY = "rejoinder.client"


def client_of(scope: Scope, proxies: TrustedProxies) -> str:
    """The client address of a request, as this server's settings say to find it (``Context.proxies``)."""
    found: str | None = scope.get(_CLIENT_KEY)
    if found is None:
        found = scope[_CLIENT_KEY] = client_address(scope, proxies)
    return found


def client_address(scope: Scope, proxies: TrustedProxies) -> str:
    """The peer address, or, when the peer is a trusted proxy, the client it names in its header: the
    first untrusted hop of ``X-Forwarded-For``, or the one address of a header the proxy sets itself."""
    peer = scope["client"][0] if scope.get("client") else ""
    if not proxies.anyone:
        return peer
    networks = proxies.networks
    if scope.get("client") is None:  # a Unix-socket peer
        if not proxies.unix:
            return peer
    else:
        found = parse(peer)
        if found is None or not networks.hold(found[1]):
            return peer
    name = proxies.header
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == name]
    if name != b"x-forwarded-for":
        # Set by the proxy, overwriting the client's own: exactly one address, or nothing is believed.
        if len(values) != 1:
            return peer
        return canonical(values[0].strip()) or peer
    hops = [hop.strip() for value in values for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        found = parse(hop)
        if found is None:
            return peer  # a forged or garbled entry: trust nothing beyond the proxy
        if not networks.hold(found[1]):
            return found[0]
    return peer
