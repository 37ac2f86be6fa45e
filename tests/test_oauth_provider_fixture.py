"""The OpenID Connect provider the log-in tests stand on behaves like a real one."""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.oidc_provider import OidcProvider, log_in_at_provider


def test_the_provider_publishes_its_discovery_document(oidc_provider: OidcProvider) -> None:
    document = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration").json()
    assert document["issuer"] == oidc_provider.issuer
    assert "S256" in document["code_challenge_methods_supported"]


def test_logging_in_at_the_provider_returns_a_code_for_the_callback(oidc_provider: OidcProvider) -> None:
    verifier = "v" * 50
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "client_id": oidc_provider.client_id,
        "response_type": "code",
        "scope": "openid profile email",
        "redirect_uri": "http://testserver/auth/oidc/callback",
        "state": "state-" + "x" * 20,
        "nonce": "nonce-" + "y" * 20,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    callback = log_in_at_provider(f"{oidc_provider.issuer}/auth?{urlencode(query)}")
    parts = urlsplit(callback)
    assert parts.netloc == "testserver" and parts.path == "/auth/oidc/callback"
    returned = parse_qs(parts.query)
    assert returned["state"] == [query["state"]]
    token = httpx.post(
        f"{oidc_provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": returned["code"][0],
            "redirect_uri": query["redirect_uri"],
            "code_verifier": verifier,
        },
        auth=(oidc_provider.client_id, oidc_provider.client_secret),
    )
    assert token.status_code == 200, token.text
    assert "id_token" in token.json()
