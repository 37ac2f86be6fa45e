"""The moderators' dashboard in Chromium against a real server: logging in, clearing a queue from the
keyboard, bulk actions and undo, search, bans, edits, settings the widget follows, reader reports, what a
moderator of one site cannot see of another, and a phone-sized screen.

Each test gets a site and an admin of it of its own. The screenshots of docs/guides/moderating.md are
taken here: into docs/guides/img/ when ``REJOINDER_DOC_SCREENSHOTS=1``, else into test-artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from rejoinder.accounts import create_user, turn_on_totp
from rejoinder.audit import cli_actor
from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.wiring import open_context
from tests.browser.support import RELAXED_SPAM, ROOT, HostPages, Rejoinder, artifact, cli

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
DOC_IMAGES = ROOT / "docs" / "guides" / "img"


def screenshot(target: Any, name: str, **options: Any) -> None:
    """A picture for the moderating guide, regenerated only when asked, so test runs leave the tree clean."""
    if os.environ.get("REJOINDER_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(exist_ok=True)
        target.screenshot(path=DOC_IMAGES / name, **options)
    else:
        target.screenshot(path=artifact(f"dashboard-{name}"), **options)


@pytest.fixture(scope="module")
def accounts(rejoinder: Rejoinder) -> Iterator[Context]:
    """The server's database, for making accounts as ``rejoinder admin user create`` would."""
    settings = load_settings(environ={}, overrides={"database_url": rejoinder.database})
    ctx = open_context(settings)
    yield ctx
    ctx.close()


@dataclass
class Desk:
    """A site of one test's own, with an admin of it."""

    site: str
    email: str
    rejoinder: Rejoinder
    host: HostPages

    def article(self, path: str = "/article") -> str:
        return self.host.page(f"/{self.site}{path}", site=self.site)

    def post(self, body: str, name: str = "Ada", email: str = "ada@example.org", url: str = "") -> int:
        """A comment posted as a browser would (with a form token); its id."""
        url = url or self.article()
        http = self.rejoinder.http
        payload: dict[str, Any] = {
            "site": self.site,
            "url": url,
            "title": "A post about tide pools",
            "body": body,
            "author": {"name": name, "email": email},
        }
        form = http.get("/api/v1/form", params={"site": self.site, "url": url})
        if form.status_code == 200:
            payload["form_token"] = form.json()["form_token"]
        response = http.post("/api/v1/comments", json=payload)
        assert response.status_code == 201, response.text
        return int(response.json()["comment"]["id"])


def make_site(rejoinder: Rejoinder, origin: str, key: str, *flags: str) -> None:
    relaxed = [f"--set={pair}" for pair in RELAXED_SPAM]
    cli("admin", "site", "create", key, "--name", key.title(), "--origin", origin, *flags, *relaxed,
        "--database", rejoinder.database)  # fmt: skip


@pytest.fixture
def desk(request: pytest.FixtureRequest, rejoinder: Rejoinder, host: HostPages, accounts: Context) -> Desk:
    key = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))[:60].strip("-")
    make_site(rejoinder, host.origin, key, "--moderation")
    email = f"{key}@example.org"
    create_user(accounts, cli_actor(), email, PASSWORD, key, "admin")
    return Desk(key, email, rejoinder, host)


def log_in(page: Page, rejoinder: Rejoinder, email: str, then: str = "/dashboard/account") -> None:
    page.goto(f"{rejoinder.base_url}/dashboard/login?next={then}")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_log_in_with_a_password_and_out_again(page: Page, rejoinder: Rejoinder, desk: Desk) -> None:
    page.goto(f"{rejoinder.base_url}/dashboard/account")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next=/dashboard/account$"))
    page.get_by_label("E-mail address").fill(desk.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshot(page, "login.png")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{rejoinder.base_url}/dashboard/account")
    expect(page.get_by_text(f"Signed in as {desk.email}")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{rejoinder.base_url}/dashboard/account")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))


def test_log_in_with_a_code_from_an_authenticator(
    page: Page, rejoinder: Rejoinder, desk: Desk, accounts: Context
) -> None:
    factor = turn_on_totp(accounts, cli_actor(), desk.email)
    page.goto(f"{rejoinder.base_url}/dashboard/login?next=/dashboard/account")
    page.get_by_label("E-mail address").fill(desk.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code").fill("000000" if pyotp.TOTP(factor.secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()  # a wrong code: still outside
    page.get_by_label("Code").fill(pyotp.TOTP(factor.secret).now())
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_sessions_and_tokens(page: Page, browser: Any, rejoinder: Rejoinder, desk: Desk) -> None:
    log_in(page, rejoinder, desk.email)
    elsewhere = browser.new_context()
    other = elsewhere.new_page()
    log_in(other, rejoinder, desk.email)

    page.goto(f"{rejoinder.base_url}/dashboard/account")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Name of the new token").fill("backups")
    page.get_by_role("button", name="Create a token").click()
    secret = page.locator("#new-token-value")
    expect(secret).to_have_text(re.compile(r"\S{20,}"))
    token = secret.inner_text()
    expect(page.locator("#tokens tbody tr")).to_have_text(re.compile(r"backups"))
    screenshot(page.locator("main"), "account.png")
    me = rejoinder.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == desk.email

    # The other browser's session, revoked here, is refused there at once.
    rows.filter(has_not=page.get_by_text("this browser")).get_by_role("button", name="Revoke").click()
    expect(rows).to_have_count(1)
    other.goto(f"{rejoinder.base_url}/dashboard/account")
    expect(other).to_have_url(re.compile(r"/dashboard/login"))
    elsewhere.close()

    page.reload()
    page.get_by_role("button", name="Revoke: backups").click()
    expect(page.locator("#tokens tbody tr")).to_have_count(0)
    gone = rejoinder.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
