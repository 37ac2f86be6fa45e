"""Readers' log-in through a real ``rejoinder serve`` process, with ``--workers 2`` (settings travel to
the workers through the environment): the provider comes from ``REJOINDER_LOGIN_PROVIDERS``, the reader
logs in at the real OpenID Connect provider, posts with the token and logs out."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import comment_payload
from tests.oidc_provider import log_in_at_provider, provider_settings, running_provider
from tests.test_process import ENV, database, free_port, running  # noqa: F401 (database is a fixture)

pytestmark = pytest.mark.slow
ORIGIN = "https://blog.example"


def test_a_reader_logs_in_posts_and_logs_out_on_a_served_process(tmp_path: Path, database: str) -> None:  # noqa: F811
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with running_provider([f"{base_url}/auth/oidc/callback"]) as provider:
        env = ENV | {
            "REJOINDER_PUBLIC_URL": base_url,
            "REJOINDER_LOGIN_PROVIDERS": json.dumps(provider_settings(provider, title="Test ID")),
        }
        args = ["serve", "--database", database, "--workers", "2"]
        with running(tmp_path, args, port, env, "serve.log") as server:
            http = server.http
            form = http.get("/api/v1/form", params={"site": "smoke"}).json()
            [offered] = form["site"]["providers"]
            assert offered["name"] == "Test ID"
            # As the widget opens it: the login URL with the page's origin and its own state appended.
            started = http.get(f"{offered['login_url']}&origin={quote(ORIGIN, safe='')}&state={'w' * 24}")
            assert started.status_code == 302, started.text
            callback = log_in_at_provider(started.headers["location"], "grace")
            page = http.get(callback.removeprefix(base_url))
            assert page.status_code == 200, page.text
            data = dict(re.findall(r'data-(origin|state|code)="([^"]*)"', page.text))
            assert data["origin"] == ORIGIN and data["state"] == "w" * 24
            session = http.post(
                "/api/v1/reader/session", json={"site": "smoke", "code": unescape(data["code"])}
            )
            assert session.status_code == 201, session.text
            token = session.json()["token"]
            posted = http.post(
                "/api/v1/comments",
                json=comment_payload("Signed by Grace", site="smoke"),
                headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN},
            )
            assert posted.status_code == 201, posted.text
            assert posted.json()["comment"]["author"]["name"] == "Grace"
            assert posted.json()["comment"]["verified"]["provider_name"] == "Test ID"
            bearer = {"Authorization": f"Bearer {token}"}
            assert http.delete("/api/v1/reader/session", headers=bearer).status_code == 204
            assert http.get("/api/v1/reader", params={"site": "smoke"}, headers=bearer).status_code == 401
