"""Client addresses as text: whatever ``ipaddress`` reads, ``addresses`` reads the same, writes the same and
places in the same networks; whatever it refuses, ``addresses`` refuses."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from rejoinder.addresses import Networks, canonical, parse, subscriber

FORMS = [
    "203.0.113.7",
    "0.0.0.0",
    "255.255.255.255",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:1",
    "2001:0db8:0000:0000:0001:0000:0000:0001",
    "2001:db8:0:0:1:0:0:1",
    "2001:db8::1:0:0:1",
    "1:0:0:2:0:0:0:3",
    "1:0:2:0:3:0:4:0",
    "::",
    "::1",
    "::ffff:203.0.113.7",
    "::ffff:cb00:7107",
    "::203.0.113.7",
    "::ffff:0:203.0.113.7",
    "64:ff9b::203.0.113.7",
    "2001:db8::203.0.113.7",
    "fe80::1%eth0",
    "fe80::1%1",
    "2001:db8:1a2b::9",
]
NOT_ADDRESSES = [
    "",
    " 203.0.113.7",
    "203.0.113.7 ",
    "203.0.113.07",
    "203.0.113",
    "203.0.113.256",
    "1.2.3.4.5",
    "2001:db8::1::2",
    "2001:db8:::1",
    "12345::1",
    "2001:db8::01.2.3.4",
    "2001:db8:0:0:0:0:0:0:1",
    ":::",
    "not an address",
    "1.2.3.4%eth0",
    "fe80::1%",
    "[::1]",
    "0x7f.0.0.1",
]


def _by_ipaddress(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _subscriber_by_ipaddress(text: str) -> str:
    """``liking_address`` as it was written with ``ipaddress``."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def test_the_forms_ipaddress_reads_are_written_as_it_writes_them() -> None:
    for text in FORMS:
        assert canonical(text) == _by_ipaddress(text) is not None, text
        found = parse(text)
        assert found is not None and found[1] == ipaddress.ip_address(text).packed, text
        assert subscriber(text) == _subscriber_by_ipaddress(text), text


def test_what_ipaddress_refuses_is_no_address() -> None:
    for text in NOT_ADDRESSES:
        assert _by_ipaddress(text) is None, text
        assert canonical(text) is None, text
        assert subscriber(text) == text


@given(st.binary(min_size=16, max_size=16), st.booleans())
def test_any_ipv6_address_is_written_as_ipaddress_writes_it(packed: bytes, exploded: bool) -> None:
    ip = ipaddress.IPv6Address(packed)
    for text in (ip.exploded if exploded else ip.compressed, str(ip).upper()):
        assert canonical(text) == str(ip)
        assert parse(text) == (str(ip), packed)
        assert subscriber(text) == _subscriber_by_ipaddress(text)


@given(st.binary(min_size=4, max_size=4))
def test_any_ipv4_address_is_itself(packed: bytes) -> None:
    text = str(ipaddress.IPv4Address(packed))
    assert parse(text) == (text, packed)
    assert subscriber(text) == text


@given(st.text(alphabet="0123456789abcdefABCDEF:.%x ", max_size=45))
def test_any_text_is_read_as_ipaddress_reads_it(text: str) -> None:
    assert canonical(text) == _by_ipaddress(text)
    assert subscriber(text) == _subscriber_by_ipaddress(text)


NETWORKS = ["10.0.0.0/8", "192.0.2.10", "2001:db8:ffff::/48", "::/0"]


@given(st.one_of(st.binary(min_size=4, max_size=4), st.binary(min_size=16, max_size=16)))
def test_networks_hold_what_ipaddress_says_they_contain(packed: bytes) -> None:
    ip = ipaddress.ip_address(packed)
    for entries in ([], NETWORKS[:1], NETWORKS[:3], NETWORKS):
        nets = [ipaddress.ip_network(entry) for entry in entries]
        assert Networks.of(nets).hold(packed) == any(ip in net for net in nets)


def test_an_ipv4_address_is_never_in_an_ipv6_network() -> None:
    everything_v6 = Networks.of([ipaddress.ip_network("::/0")])
    assert not everything_v6.hold(ipaddress.ip_address("10.0.0.1").packed)
    assert everything_v6.hold(ipaddress.ip_address("::a00:1").packed)
