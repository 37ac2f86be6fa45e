"""A real OpenID Connect provider for the readers' log-in tests: panva's ``oidc-provider`` on 127.0.0.1.

``tests/oidc/provider.mjs`` runs it with one confidential client (``rejoinder-test``) whose redirect URIs
the test passes in, and a log-in form of its own (fields ``login`` and ``password``, button
``.login-submit``; nothing loaded from elsewhere) that accepts any name and password: logging in as
``ada`` gives the account ``ada`` (name "Ada", verified address ``ada@example.org``).
``npm ci`` runs in ``tests/oidc`` when its ``node_modules`` is missing; without Node.js the tests that
need the provider are skipped, saying why.

For a real server process (the browser tests): start ``running_provider([f"{base_url}/auth/oidc/callback"])``
and give the server ``REJOINDER_PUBLIC_URL=base_url`` and ``REJOINDER_LOGIN_PROVIDERS`` as JSON, e.g.
``[{"name": "oidc", "preset": "oidc", "issuer": provider.issuer, "client_id": provider.client_id,
"client_secret": provider.client_secret}]``; ``provider_settings`` builds that list.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "rejoinder-test"
CLIENT_SECRET = "rejoinder-test-secret"
STARTUP_SECONDS = 20


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


def provider_settings(provider: OidcProvider, name: str = "oidc", title: str = "") -> list[dict[str, str]]:
    """The ``login_providers`` setting that offers ``provider`` under ``name``."""
    entry = {
        "name": name,
        "preset": "oidc",
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
    }
    return [entry | ({"title": title} if title else {})]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_installed() -> None:
    """Skips when Node.js is not there; installs the pinned provider when it is not installed yet."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run the OpenID Connect provider the log-in tests use")
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in {HERE} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def running_provider(redirect_uris: list[str], opener_policy: str = "") -> Iterator[OidcProvider]:
    """Starts the provider for a client allowed to return to ``redirect_uris``; stops it afterwards.
    Given ``opener_policy`` (e.g. ``"same-origin"``), its answers carry that Cross-Origin-Opener-Policy."""
    ensure_installed()
    port = free_port()
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_REDIRECT_URIS": " ".join(redirect_uris),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_COOP": opener_policy,
    }
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs")],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    ready = threading.Event()
    output: list[str] = []

    def drain() -> None:  # keeps reading so the provider never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith("listening "):
                ready.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not ready.wait(STARTUP_SECONDS):
            pytest.fail("the OpenID Connect provider did not start:\n" + "".join(output))
        yield OidcProvider(issuer=f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)
        process.stdout.close()


def log_in_at_provider(authorize_url: str, login: str = "ada") -> str:
    """Plays the reader at the provider: opens ``authorize_url``, fills in the log-in form and follows the
    provider's redirects until it sends the browser elsewhere; returns that address (the callback)."""
    with httpx.Client(timeout=10) as browser:
        response = browser.get(authorize_url)
        while response.is_redirect:
            response = browser.get(urljoin(str(response.url), response.headers["location"]))
        found = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        assert found, f"no log-in form at the provider: {response.text[:500]}"
        response = browser.post(
            urljoin(str(response.url), found.group(1)),
            data={"prompt": "login", "login": login, "password": "any password"},
        )
        provider_origin = httpx.URL(authorize_url).copy_with(path="/", query=None)
        while response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if not location.startswith(str(provider_origin)):
                return location
            response = browser.get(location)
        status = response.status_code
        raise AssertionError(f"the provider did not send the reader back: {status} {response.text[:300]}")
