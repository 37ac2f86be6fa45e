"""Client addresses as text: read and written exactly as ``ipaddress`` reads and writes them, without making
its objects for the usual forms.

Every request behind a proxy names its client in a header, and every like, comment and refusal at the door
is counted by that address. ``ipaddress`` parses an IPv6 address and prints it again in pure Python, about
70 µs a request on a loaded machine: a tenth of a like's CPU (docs/benchmarks.md, "PostgreSQL likes: one
round trip a batch, and the client address"). The C library's ``inet_pton``/``inet_ntop`` do the same
work; where their forms differ from ``ipaddress``'s (IPv4-mapped and -compatible IPv6 addresses, which C
writes with a dotted tail, and scoped addresses, which C does not read), ``ipaddress`` decides, as before.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNIX_PEER = "unix"  # in trusted_proxies: a peer on a Unix socket (which has no address) is a trusted proxy
FORWARDED_FOR = "X-Forwarded-For"

# An IPv6 address whose first 80 bits are zero: ``::ffff:a.b.c.d`` or ``::a.b.c.d``, which ``inet_ntop``
# writes with a dotted tail and ``ipaddress`` (before Python 3.13) in hex.
_DOTTED_TAIL_PREFIX = bytes(10)
_IPV6_64 = bytes(8)


def parse(text: str) -> tuple[str, bytes] | None:
    """The address ``text`` names, as ``str(ipaddress.ip_address(text))`` writes it, and its bytes (those of
    ``.packed``); None where ``ip_address`` raises ``ValueError``."""
    if ":" in text:
        try:
            packed = socket.inet_pton(socket.AF_INET6, text)
        except (OSError, ValueError):  # a scope id, or not an address: ipaddress's to say
            return _by_ipaddress(text)
        if packed.startswith(_DOTTED_TAIL_PREFIX):
            return _by_ipaddress(text)
        return socket.inet_ntop(socket.AF_INET6, packed), packed
    try:
        # Only the dotted quad without leading zeros: exactly the text ``ipaddress`` accepts and writes.
        return text, socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        return _by_ipaddress(text)


def canonical(text: str) -> str | None:
    """``str(ipaddress.ip_address(text))``, or None where that raises ``ValueError``."""
    found = parse(text)
    return None if found is None else found[0]


def subscriber(text: str) -> str:
    """The address a subscriber is counted by: an IPv6 address by its /64 network (one subscriber usually
    has it whole), an IPv4-mapped one by its IPv4 address, an IPv4 address as written; ``text`` as it is
    when it is no address (as ``ipaddress``'s ``str(ip_network(f"{ip}/64", strict=False))`` and ``str(ip)``
    give)."""
    found = parse(text)
    if found is None:
        return text
    written, packed = found
    if len(packed) == 4:
        return written
    if packed.startswith(_DOTTED_TAIL_PREFIX) or "%" in written:
        ip = ipaddress.IPv6Address(text)
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    # The network's last four groups are zero, so no dotted tail: C and ipaddress write it alike.
    return socket.inet_ntop(socket.AF_INET6, packed[:8] + _IPV6_64) + "/64"


def _by_ipaddress(text: str) -> tuple[str, bytes] | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(ip), ip.packed


@dataclass(frozen=True)
class Networks:
    """Networks to test addresses against by their bytes (as ``address in network`` for any of them)."""

    # (address length in bytes, the network's first address, its mask), both as integers
    ranges: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, nets: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Networks:
        ranges = [(net.max_prefixlen // 8, int(net.network_address), int(net.netmask)) for net in nets]
        return cls(tuple(ranges))

    def hold(self, packed: bytes) -> bool:
        """Whether an address (its bytes) is in one of the networks: never one of the other version."""
        value = int.from_bytes(packed, "big")
        size = len(packed)
        for length, first, mask in self.ranges:  # noqa: SIM110 (``any`` makes a generator every request)
            if size == length and value & mask == first:
                return True
        return False


def networks_of(entries: Iterable[str]) -> Networks:
    """The networks (CIDR, or single addresses) written in ``entries``; ``ValueError`` for any other text."""
    return Networks.of(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


@dataclass(frozen=True)
class TrustedProxies:
    """Which peers may name a request's client, and in which header: the settings ``trusted_proxies`` and
    ``client_address_header`` as parsed once, when the process's context is built (``Context.proxies``),
    since every request asks (``web/client.py``)."""

    anyone: bool  # any proxy is trusted at all: without one, the peer is the client
    networks: Networks
    unix: bool  # a peer on a Unix socket, which has no address, is a proxy
    header: bytes  # the header's name as ASGI gives it: lower case, latin-1

    @classmethod
    def of(cls, entries: Sequence[str], header: str = FORWARDED_FOR) -> TrustedProxies:
        return cls(
            anyone=bool(entries),
            networks=networks_of(entry for entry in entries if entry.strip() != UNIX_PEER),
            unix=UNIX_PEER in entries,
            header=header.strip().lower().encode("latin-1"),
        )
