"""Who is asking: the client address behind trusted reverse proxies.

A peer on a Unix socket has no address (ASGI's ``client`` is None): it is a proxy on the same machine,
believed when ``trusted_proxies`` includes ``unix``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.types import Scope

from rejoinder.settings import UNIX_PEER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip() != UNIX_PEER
    )


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(scope: Scope, trusted_proxies: Sequence[str]) -> str:
    """The peer address, or the first untrusted ``X-Forwarded-For`` hop when the peer is a trusted proxy."""
    peer = scope["client"][0] if scope.get("client") else ""
    if not trusted_proxies:
        return peer
    networks = parse_networks(tuple(trusted_proxies))
    if scope.get("client") is None:  # a Unix-socket peer
        if UNIX_PEER not in trusted_proxies:
            return peer
    elif not _trusted(peer, networks):
        return peer
    forwarded = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]
    hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a forged or garbled entry: trust nothing beyond the proxy
        if not _trusted(address, networks):
            return address
    return peer
