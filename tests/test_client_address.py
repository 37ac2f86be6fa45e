"""Who is asking: X-Forwarded-For is believed only as far as it was written by trusted proxies, as each
server's own settings name them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rejoinder.addresses import FORWARDED_FOR, TrustedProxies
from rejoinder.settings import Settings
from rejoinder.web import client
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context

PROXY = "10.0.0.1"
PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def client_address(request: dict[str, Any], trusted: list[str], header: str = FORWARDED_FOR) -> str:
    return client.client_address(request, TrustedProxies.of(trusted, header))


def scope(peer: str | None = PROXY, *forwarded_for: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 51000) if peer is not None else None,
        "headers": [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for],
    }


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    assert client_address(scope(PROXY, "198.51.100.7"), []) == PROXY
    assert client_address(scope("203.0.113.9", "198.51.100.7"), []) == "203.0.113.9"


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client() -> None:
    assert client_address(scope("203.0.113.9", "198.51.100.7"), PROXIES) == "203.0.113.9"


def test_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    # The leftmost entries were written by the client itself and may be forged.
    request = scope(PROXY, "192.0.2.66, 198.51.100.7, 10.0.0.2")
    assert client_address(request, PROXIES) == "198.51.100.7"


def test_repeated_forwarded_for_headers_read_as_one_list() -> None:
    request = scope(PROXY, "192.0.2.66", "198.51.100.7, 10.1.2.3")
    assert client_address(request, PROXIES) == "198.51.100.7"


def test_proxies_may_be_single_addresses_and_ipv6_networks() -> None:
    request = scope("2001:db8:ffff::1", "2001:DB8:1::5, 192.0.2.10")
    assert client_address(request, ["192.0.2.10", "2001:db8:ffff::/48"]) == "2001:db8:1::5"


def test_a_proxy_without_forwarded_for_is_the_client() -> None:
    assert client_address(scope(PROXY), PROXIES) == PROXY


@pytest.mark.parametrize(
    "garbage",
    ["unknown", "198.51.100.7:4711", "[2001:db8::1]:443", "999.1.1.1", "198.51.100.7 <script>", "_hidden"],
)
def test_a_garbled_hop_before_any_untrusted_one_falls_back_to_the_peer(garbage: str) -> None:
    assert client_address(scope(PROXY, f"198.51.100.7, {garbage}, 10.0.0.2"), PROXIES) == PROXY


def test_garbage_beyond_the_first_untrusted_hop_is_never_read() -> None:
    assert client_address(scope(PROXY, "not an address, 198.51.100.7"), PROXIES) == "198.51.100.7"


def test_no_peer_at_all_reads_as_an_empty_address() -> None:
    assert client_address(scope(None, "198.51.100.7"), PROXIES) == ""
    assert client_address(scope(None), []) == ""


def test_a_unix_socket_peer_is_a_proxy_only_when_trusted_proxies_says_unix() -> None:
    # On a Unix socket ASGI's client is None: the peer has no address.
    assert client_address(scope(None, "198.51.100.7"), []) == ""
    assert client_address(scope(None, "198.51.100.7"), PROXIES) == ""
    assert client_address(scope(None, "198.51.100.7"), ["unix"]) == "198.51.100.7"
    chain = scope(None, "192.0.2.66, 198.51.100.7, 10.0.0.2")
    assert client_address(chain, ["unix", *PROXIES]) == "198.51.100.7"
    assert client_address(scope(None), ["unix"]) == ""  # a proxy that says nothing: no address


def test_unix_in_trusted_proxies_does_not_make_tcp_peers_trusted() -> None:
    assert client_address(scope("203.0.113.9", "198.51.100.7"), ["unix"]) == "203.0.113.9"


def real_ip(peer: str | None, *values: str) -> dict[str, Any]:
    request = scope(peer)
    request["headers"] = [(b"x-real-ip", value.encode("latin-1")) for value in values]
    return request


def test_a_header_the_proxy_sets_names_the_client_when_the_peer_is_trusted() -> None:
    assert client_address(real_ip(PROXY, "198.51.100.7"), PROXIES, "X-Real-IP") == "198.51.100.7"
    assert client_address(real_ip(PROXY, " 2001:DB8::5 "), PROXIES, "x-real-ip") == "2001:db8::5"
    assert client_address(real_ip(None, "198.51.100.7"), ["unix"], "X-Real-IP") == "198.51.100.7"
    # From anyone else it is the client's own word: not believed.
    assert client_address(real_ip("203.0.113.9", "198.51.100.7"), PROXIES, "X-Real-IP") == "203.0.113.9"
    assert client_address(real_ip(None, "198.51.100.7"), PROXIES, "X-Real-IP") == ""


@pytest.mark.parametrize(
    "values", [(), ("198.51.100.7", "198.51.100.8"), ("198.51.100.7, 10.0.0.2",), ("x",)]
)
def test_a_proxy_set_header_that_is_missing_repeated_or_not_one_address_is_not_believed(
    values: tuple[str, ...],
) -> None:
    assert client_address(real_ip(PROXY, *values), PROXIES, "X-Real-IP") == PROXY


def test_with_another_header_chosen_forwarded_for_is_ignored() -> None:
    assert client_address(scope(PROXY, "198.51.100.7"), PROXIES, "X-Real-IP") == PROXY


async def test_each_server_believes_the_proxies_of_its_own_settings(settings: Settings) -> None:
    """Two apps in one process, each told of other proxies: the parsed networks are their contexts'."""
    peer, forwarded = "10.0.0.1", "198.51.100.7"
    seen = []
    for proxies in (["10.0.0.0/8"], ["192.0.2.0/24"], []):
        told = settings.model_copy(update={"trusted_proxies": proxies, "metrics_allow": ["127.0.0.1"]})
        context = open_context(told)
        assert context.proxies == TrustedProxies.of(proxies)
        transport = httpx.ASGITransport(app=create_app(told, context=context), client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            refused = await http.get("/metrics", headers={"X-Forwarded-For": forwarded})
        context.close()
        assert refused.status_code == 403, refused.text
        seen.append(refused.json()["error"]["message"].split()[0])  # "<client> may not read the metrics"
    assert seen == [forwarded, peer, peer]
