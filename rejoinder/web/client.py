"""Who is asking: the client address behind trusted reverse proxies.

A peer on a Unix socket has no address (ASGI's ``client`` is None): it is a proxy on the same machine,
believed when ``trusted_proxies`` includes ``unix``. Which header names the client is
``client_address_header``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.types import Scope

from rejoinder.addresses import Networks, canonical, parse
from rejoinder.settings import UNIX_PEER, Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "X-Forwarded-For"


@lru_cache(maxsize=16)
def parse_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip() != UNIX_PEER
    )


@lru_cache(maxsize=16)
def _trusted_networks(entries: tuple[str, ...]) -> Networks:
    return Networks.of(parse_networks(entries))


def _trusted(address: str, networks: Networks) -> bool:
    found = parse(address)
    return found is not None and networks.hold(found[1])


# Where a request keeps its client address once found: several layers ask (refusals at the door, the
# like or the comment, the log line), and parsing the addresses each time was a tenth of a like's CPU.
_CLIENT_KEY = "rejoinder.client"


def client_of(scope: Scope, settings: Settings) -> str:
    """The client address of a request, as this server's settings say to find it."""
    found: str | None = scope.get(_CLIENT_KEY)
    if found is None:
        found = scope[_CLIENT_KEY] = client_address(
            scope, settings.trusted_proxies, settings.client_address_header
        )
    return found


def client_address(scope: Scope, trusted_proxies: Sequence[str], header: str = FORWARDED_FOR) -> str:
    """The peer address, or, when the peer is a trusted proxy, the client it names in ``header``: the
    first untrusted hop of ``X-Forwarded-For``, or the one address of a header the proxy sets itself."""
    peer = scope["client"][0] if scope.get("client") else ""
    if not trusted_proxies:
        return peer
    networks = _trusted_networks(tuple(trusted_proxies))
    if scope.get("client") is None:  # a Unix-socket peer
        if UNIX_PEER not in trusted_proxies:
            return peer
    elif not _trusted(peer, networks):
        return peer
    name = header.lower().encode("latin-1")
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
