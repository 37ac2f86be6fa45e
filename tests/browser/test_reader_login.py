"""Readers' identity in Chromium, end to end: a real ``rejoinder serve`` process with a provider ``testid``
backed by a real OpenID Connect provider (tests/oidc_provider.py), mail through a real SMTP server
(tests/mailbox.py), and host pages on another origin. The reader clicks the provider's icon, logs in at
the provider in the popup, posts as a verified reader, reloads, logs out; the same with third-party
cookies blocked; forged login messages are ignored; the e-mail link logs in; likes follow the identity."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.support import (
    CHROMIUM,
    ENV,
    RELAXED_SPAM,
    STARTUP_SECONDS,
    HostPages,
    Rejoinder,
    artifact,
    cli,
    free_port,
    post_through_form,
    serve_host_pages,
    stored,
    wait_until_ready,
)
from tests.mailbox import Mailbox, text_of
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider

pytestmark = pytest.mark.browser

PROVIDER = "testid"  # the provider's name on the Rejoinder server; its button says "Log in with Test ID"
LOG_IN = "Log in with Test ID"
COOP_PROVIDER = "walled"  # a provider whose pages send Cross-Origin-Opener-Policy: same-origin
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]


@dataclass
class World:
    rejoinder: Rejoinder
    host: HostPages
    mailbox: Mailbox
    issuer: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server with the provider and mail, the OpenID Connect provider, host pages on another origin."""
    home = tmp_path_factory.mktemp("identity")
    database = f"sqlite:///{home / 'identity.db'}"
    host_port, port = free_port(), free_port()
    host_origin = f"http://localhost:{host_port}"
    base_url = f"http://127.0.0.1:{port}"
    relaxed = [f"--set={pair}" for pair in RELAXED_SPAM]
    cli("admin", "site", "create", "blog", "--origin", host_origin, *relaxed, "--database", database)
    cli("admin", "site", "create", "pics", "--origin", host_origin, *relaxed, "--database", database,
        "--set", "provider_avatars=true")  # fmt: skip
    cli("admin", "site", "create", "held", "--origin", host_origin, "--moderation", *relaxed,
        "--database", database)  # fmt: skip
    box = Mailbox().start()
    with (
        running_provider([f"{base_url}/auth/{PROVIDER}/callback"]) as provider,
        running_provider([f"{base_url}/auth/{COOP_PROVIDER}/callback"], opener_policy="same-origin") as coop,
    ):
        login_providers = [
            {
                "name": name,
                "preset": "oidc",
                "issuer": found.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "title": title,
            }
            for name, found, title in ((PROVIDER, provider, "Test ID"), (COOP_PROVIDER, coop, "Walled ID"))
        ]
        env = ENV | {
            "REJOINDER_PUBLIC_URL": base_url,
            "REJOINDER_LOGIN_PROVIDERS": json.dumps(login_providers),
            "REJOINDER_SMTP_HOST": "127.0.0.1",
            "REJOINDER_SMTP_PORT": str(box.port),
            "REJOINDER_SMTP_TLS": "none",
            "REJOINDER_MAIL_FROM": "comments@blog.example",
            "REJOINDER_JOBS_POLL_SECONDS": "0.2",
        }
        log = home / "serve.log"
        with log.open("wb") as sink, httpx.Client(base_url=base_url, timeout=10) as http:
            process = subprocess.Popen(
                [sys.executable, "-m", "rejoinder", "serve", "--port", str(port), "--database", database],
                cwd=home,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            pages = HostPages(host_origin, base_url)
            host = serve_host_pages(pages, host_port)
            try:
                wait_until_ready(process, base_url, log)
                yield World(Rejoinder(base_url, database, http), pages, box, provider.issuer)
            finally:
                host.shutdown()
                host.server_close()
                process.terminate()
                process.wait(timeout=STARTUP_SECONDS)
                box.stop()


def new_page(context: BrowserContext) -> Page:
    context.set_default_timeout(10000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.rj_errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture
def reader(browser: Browser) -> Iterator[Page]:
    """A fresh reader (no storage); JavaScript errors on the page fail the test."""
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="en-GB")
    page = new_page(context)
    yield page
    errors = page.rj_errors  # type: ignore[attr-defined]
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def token_of(page: Page, world: World, site: str = "blog") -> str:
    kept = stored(page, f"rejoinder.{site}.reader:{world.rejoinder.base_url}")
    assert kept, "no reader token in localStorage"
    return str(kept["t"])


def log_in(
    page: Page,
    login: str = "ada",
    icon: str = LOG_IN,
    connecting: str = "Connecting to Test ID…",
    using: str = "You are commenting using your Test ID account",
) -> None:
    """Click the provider's icon; log in at the provider in the popup, which then closes itself."""
    with page.expect_popup() as opened:
        page.get_by_role("button", name=icon).click()
    popup = opened.value
    expect(page.locator(".rj-connecting")).to_contain_text(connecting)
    popup.locator("input[name=login]").fill(login)
    popup.locator("input[name=password]").fill("any password")
    with popup.expect_event("close"):  # popup.js closes it (listening first: it can be quick)
        popup.get_by_role("button", name="Sign-in").click()
    expect(page.get_by_text(using)).to_be_visible()


def reader_status(world: World, token: str) -> int:
    response = world.rejoinder.http.get(
        "/api/v1/reader", params={"site": "blog"}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def test_a_reader_logs_in_in_the_popup_posts_as_verified_and_logs_out(
    reader: Page, world: World, request: pytest.FixtureRequest
) -> None:
    page = reader
    page.goto(world.host.page("/posts/identity-popup"))
    expect(page.get_by_text("Fill in your details below or click an icon to log in:")).to_be_visible()
    icon = page.get_by_role("button", name=LOG_IN)
    expect(icon.locator("svg")).to_be_visible()  # drawn here, not fetched
    log_in(page)
    expect(page.get_by_label("Name", exact=True)).to_be_hidden()
    expect(page.get_by_label("E-mail (never shown publicly)")).to_be_hidden()
    expect(page.get_by_label("Website", exact=True)).to_be_hidden()
    expect(page.locator(".rj-who strong")).to_have_text("Ada")
    page.locator(".rj-respond").screenshot(path=artifact("identity-logged-in.png"))
    token = token_of(page, world)
    assert token.startswith("rdr_")
    assert reader_status(world, token) == 200

    page.get_by_label("Comment", exact=True).fill("Written as a verified reader.")
    page.get_by_role("button", name="Post Comment").click()
    posted = page.locator(".rj-comment").first
    expect(posted.locator(".rj-author")).to_have_text("Ada")
    badge = posted.locator(".rj-verified")
    expect(badge).to_have_attribute("aria-label", "Verified Test ID account")
    expect(badge).to_contain_text("Test ID")
    page.locator(".rj-root").screenshot(path=artifact("identity-verified-comment.png"))

    page.reload()
    expect(page.get_by_text("You are commenting using your Test ID account")).to_be_visible()
    expect(page.locator(".rj-comment .rj-verified")).to_have_count(1)  # others see the badge too (the thread)
    page.get_by_role("button", name="Log Out").click()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=LOG_IN)).to_be_visible()
    assert stored(page, f"rejoinder.blog.reader:{world.rejoinder.base_url}") is None
    assert reader_status(world, token) == 401  # revoked on the server, not only forgotten here


def test_change_logs_out_and_offers_the_providers_again(reader: Page, world: World) -> None:
    page = reader
    page.goto(world.host.page("/posts/identity-change"))
    log_in(page, "grace")
    token = token_of(page, world)
    page.get_by_role("button", name="Change").click()
    icon = page.get_by_role("button", name=LOG_IN)
    expect(icon).to_be_focused()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    assert reader_status(world, token) == 401
    # The provider remembers the reader: the popup comes straight back, with a new token.
    with page.expect_popup():
        icon.click()
    expect(page.locator(".rj-who strong")).to_have_text("Grace")
    assert token_of(page, world) != token


def claims_of(page: Page) -> list[int]:
    """The statuses of the widget's claims of a log-in's code by its state, as they come."""
    claims: list[int] = []
    page.on(
        "response",
        lambda r: (
            r.url.endswith("/api/v1/reader/session")
            and '"state"' in (r.request.post_data or "")
            and claims.append(r.status)
        ),
    )
    return claims


def wait_for_claims(page: Page, claims: list[int], count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while len(claims) < count:
        assert time.monotonic() < deadline, "the widget did not claim the log-in's code"
        page.wait_for_timeout(100)


def test_a_closed_popup_is_said_in_words(reader: Page, world: World) -> None:
    page = reader
    claims = claims_of(page)
    page.goto(world.host.page("/posts/identity-closed"))
    with page.expect_popup() as opened:
        page.get_by_role("button", name=LOG_IN).click()
    opened.value.close()
    # A closed popup looks like one a provider's page cut off from this page: the widget keeps asking the
    # server for the log-in's code (for up to 10 minutes) until the reader cancels.
    wait_for_claims(page, claims)
    assert set(claims) == {401}
    expect(page.locator(".rj-connecting")).to_contain_text("Connecting to Test ID…")
    page.locator(".rj-connecting").get_by_role("button", name="Cancel").click()
    expect(page.locator(".rj-connecting")).to_have_text("The login window was closed before you logged in.")
    expect(page.get_by_label("Name", exact=True)).to_be_visible()

    with page.expect_popup() as opened:  # the form's Cancel closes the popup and forgets the login
        page.get_by_role("button", name=LOG_IN).click()
    with opened.value.expect_event("close"):
        page.locator(".rj-connecting").get_by_role("button", name="Cancel").click()
    expect(page.locator(".rj-connecting")).to_be_hidden()
    expect(page.get_by_role("button", name=LOG_IN)).to_be_focused()


# Keeps the window the widget opens, to look at it from the page.
KEEP_POPUP = "const open = window.open; window.open = (...a) => (window.rjPopup = open.apply(window, a));"


def test_a_provider_that_cuts_the_popup_off_from_the_page_still_logs_the_reader_in(
    reader: Page, world: World
) -> None:
    page = reader
    claims = claims_of(page)
    page.add_init_script(KEEP_POPUP)
    page.goto(world.host.page("/posts/identity-walled"))
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Log in with Walled ID").click()
    popup = opened.value
    popup.locator("input[name=login]").wait_for()
    # The provider's Cross-Origin-Opener-Policy really cut the popup off: the page sees it closed although
    # it is open, and the popup has no opener.
    assert page.evaluate("() => window.rjPopup.closed") is True
    assert popup.evaluate("() => window.opener") is None
    assert not popup.is_closed()
    expect(page.locator(".rj-connecting")).to_contain_text("Connecting to Walled ID…")
    wait_for_claims(page, claims)
    assert set(claims) == {401}  # asked while the reader is at the provider: nothing yet

    popup.locator("input[name=login]").fill("hedy")
    popup.locator("input[name=password]").fill("any password")
    popup.get_by_role("button", name="Sign-in").click()
    expect(popup.locator("#rejoinder-login-orphan")).to_have_text(
        "Done. You can close this window: the page you came from finishes logging you in."
    )
    expect(page.get_by_text("You are commenting using your Walled ID account")).to_be_visible()
    expect(page.locator(".rj-who strong")).to_have_text("Hedy")
    assert claims[-1] == 201
    token = token_of(page, world)
    assert reader_status(world, token) == 200
    popup.close()

    page.get_by_label("Comment", exact=True).fill("Logged in through a popup cut off from this page.")
    page.get_by_role("button", name="Post Comment").click()
    posted = page.locator(".rj-comment").first
    expect(posted.locator(".rj-author")).to_have_text("Hedy")
    expect(posted.locator(".rj-verified")).to_have_attribute("aria-label", "Verified Walled ID account")


def test_a_refusal_at_the_provider_and_a_blocked_popup_are_said_in_words(reader: Page, world: World) -> None:
    page = reader
    asked: list[str] = []
    page.context.on(
        "request", lambda r: r.url.startswith(world.issuer) and "state=" in r.url and asked.append(r.url)
    )
    page.goto(world.host.page("/posts/identity-refused"))
    with page.expect_popup() as opened:
        page.get_by_role("button", name=LOG_IN).click()
    popup = opened.value
    popup.locator("input[name=login]").wait_for()
    # The reader says no at the provider, which sends them back as OAuth 2 says (RFC 6749, 4.1.2.1).
    authorize = parse_qs(urlsplit(asked[0]).query)
    refusal = f"{authorize['redirect_uri'][0]}?error=access_denied&state={authorize['state'][0]}"
    with popup.expect_event("close"):  # popup.js passes the error on, then closes
        popup.evaluate("(url) => { location.href = url }", refusal)
    refused = "The login did not work (access_denied). Please try again."
    expect(page.locator(".rj-connecting")).to_have_text(refused)
    expect(page.get_by_label("Name", exact=True)).to_be_visible()

    page.add_init_script("window.open = () => null")  # as a browser that blocks pop-ups answers
    page.reload()
    page.get_by_role("button", name=LOG_IN).click()
    expect(page.locator(".rj-connecting")).to_have_text(
        "The browser blocked the login window: allow pop-ups for this site and try again."
    )


def test_an_expired_or_revoked_token_is_forgotten_on_load(reader: Page, world: World) -> None:
    page = reader
    page.goto(world.host.page("/posts/identity-revoked"))
    log_in(page)
    token = token_of(page, world)
    revoked = world.rejoinder.http.delete(
        "/api/v1/reader/session", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoked.status_code == 204
    page.reload()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    expect(page.get_by_text("You are commenting using")).to_have_count(0)
    assert stored(page, f"rejoinder.blog.reader:{world.rejoinder.base_url}") is None


# ---------------------------------------------------------------------------------- forged messages

FORGE = "(state) => opener.postMessage({type: 'rejoinder:login', state, code: 'forged-code'}, '*')"
FORGER = """<!doctype html><title>forger</title><script>
const state = new URLSearchParams(location.search).get('state');
opener.postMessage({type: 'rejoinder:login', state, code: 'forged-code'}, '*');
document.title = 'sent';
</script>"""


def test_login_messages_from_another_origin_or_window_are_ignored(reader: Page, world: World) -> None:
    page = reader
    forger_port = free_port()
    forger_pages = HostPages(f"http://127.0.0.1:{forger_port}", world.rejoinder.base_url)
    forger_pages.pages["/forge"] = FORGER
    forger = serve_host_pages(forger_pages, forger_port)
    starts: list[str] = []
    exchanges: list[str] = []
    page.context.on("request", lambda r: f"/auth/{PROVIDER}/start" in r.url and starts.append(r.url))
    page.on("request", lambda r: "/api/v1/reader/session" in r.url and exchanges.append(r.url))
    try:
        page.goto(world.host.page("/posts/identity-forged"))
        with page.expect_popup() as opened:
            page.get_by_role("button", name=LOG_IN).click()
        popup = opened.value
        popup.locator("input[name=login]").wait_for()
        [start] = starts
        state = parse_qs(urlsplit(start).query)["state"][0]
        assert len(state) >= 16
        assert parse_qs(urlsplit(start).query)["origin"] == [world.host.origin]

        # Another origin, in a window the page opened, with the right type and state.
        with page.expect_popup() as forged_opened:
            page.evaluate(
                "(url) => { window.open(url, 'forger') }", f"{forger_pages.origin}/forge?state={state}"
            )
        expect(forged_opened.value).to_have_title("sent")
        # The login popup itself, but while it shows the provider's origin.
        popup.evaluate(FORGE, state)
        # The Rejoinder server's own origin, from a window that is not the login popup (a log-in page:
        # the server's other pages keep no opener).
        with page.expect_popup() as other_opened:
            page.evaluate(
                "(url) => { window.open(url, 'other') }", f"{world.rejoinder.base_url}/auth/email/verify?t=x"
            )
        other = other_opened.value
        other.wait_for_load_state()
        other.evaluate(FORGE, state)

        page.wait_for_timeout(500)
        assert exchanges == []
        expect(page.locator(".rj-connecting")).to_contain_text("Connecting to Test ID…")
        # The real login still completes, and only it is exchanged.
        popup.locator("input[name=login]").fill("ada")
        popup.locator("input[name=password]").fill("any password")
        popup.get_by_role("button", name="Sign-in").click()
        expect(page.get_by_text("You are commenting using your Test ID account")).to_be_visible()
        assert len(exchanges) == 1
    finally:
        forger.shutdown()
        forger.server_close()


# ---------------------------------------------------------------------------------- third parties


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_nothing_but_the_page_and_the_server_is_asked_before_a_click(reader: Page, world: World) -> None:
    page = reader
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(world.host.page("/posts/identity-quiet"), wait_until="networkidle")
    expect(page.get_by_role("button", name=LOG_IN)).to_be_visible()
    expect(page.get_by_role("button", name="Log in by e-mail")).to_be_visible()
    page.wait_for_load_state("networkidle")
    allowed = {world.host.origin, origin_of(world.rejoinder.base_url)}
    fetched = {origin_of(u) for u in requested if not u.startswith(("blob:", "data:"))}
    assert sorted(fetched - allowed) == []
    assert not any(u.startswith(world.issuer) for u in requested)

    log_in(page)  # the provider's picture is not shown: this site did not enable it
    page.wait_for_load_state("networkidle")
    expect(page.locator(".rj-who svg.rj-avatar")).to_be_visible()
    assert not any("people.example.org" in u for u in requested)


# ---------------------------------------------------------------------------------- third-party cookies

COOKIE_FRAME = b"<!doctype html><title>cookie frame</title><p>a third party</p>"


def serve_cookie_setter(port: int) -> ThreadingHTTPServer:
    """A third site whose every page sets a cookie meant for third-party use (SameSite=None)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Set-Cookie", "probe=1; SameSite=None; Secure; Path=/")
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(COOKIE_FRAME)))
            self.end_headers()
            self.wfile.write(COOKIE_FRAME)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def keeps_third_party_cookies(context: BrowserContext, top_url: str) -> bool:
    """Whether a framed third site can set a cookie, by header or by script, in this browser."""
    page = context.new_page()
    page.goto(top_url)
    frame = page.frame_locator("iframe").locator("p")
    expect(frame).to_have_text("a third party")
    [framed] = [f for f in page.frames if f.url.endswith("/frame")]
    seen = str(
        framed.evaluate("() => (document.cookie = 'js=1; SameSite=None; Secure; path=/', document.cookie)")
    )
    page.close()
    return "probe=1" in seen or "js=1" in seen


def chromium_with_cookie_mode(browser: Browser, profile: Path, mode: int, *args: str) -> BrowserContext:
    """Chromium with the cookie setting readers pick: 0 allows third-party cookies, 1 blocks them."""
    (profile / "Default").mkdir(parents=True)
    prefs = {"profile": {"cookie_controls_mode": mode, "block_third_party_cookies": mode == 1}}
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    return browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args], locale="en-GB",
        viewport={"width": 900, "height": 1000},
    )  # fmt: skip


def test_logging_in_works_with_third_party_cookies_blocked(browser: Browser, world: World) -> None:
    setter_port = free_port()
    setter = serve_cookie_setter(setter_port)
    probe = world.host.page(
        "/posts/identity-cookie-probe",
        thread=False,
        body=f'<iframe src="http://127.0.0.1:{setter_port}/frame"></iframe>',
    )
    try:
        with tempfile.TemporaryDirectory() as allowing, tempfile.TemporaryDirectory() as blocking:
            # The check can tell: a browser that allows them keeps the framed site's cookie.
            control = chromium_with_cookie_mode(browser, Path(allowing), 0)
            assert keeps_third_party_cookies(control, probe)
            control.close()

            context = chromium_with_cookie_mode(
                browser, Path(blocking), 1, "--test-third-party-cookie-phaseout"
            )
            try:
                assert not keeps_third_party_cookies(context, probe)
                server = origin_of(world.rejoinder.base_url)
                answers: list[tuple[str, str | None]] = []  # read at once: the popup's go with it
                context.on(
                    "response",
                    lambda r: (
                        origin_of(r.url) == server and answers.append((r.url, r.header_value("set-cookie")))
                    ),
                )
                asked: list[str] = []
                context.on("request", lambda r: origin_of(r.url) == server and asked.append(r.url))
                page = new_page(context)
                page.goto(world.host.page("/posts/identity-no-cookies"))
                log_in(page)
                page.get_by_label("Comment", exact=True).fill("No third-party cookie needed.")
                page.get_by_role("button", name="Post Comment").click()
                expect(page.locator(".rj-comment .rj-verified")).to_have_count(1)
                page.reload()
                expect(page.get_by_text("You are commenting using your Test ID account")).to_be_visible()
                # The Rejoinder server set no cookie on the way, the popup's pages included.
                assert len(answers) > 10
                assert [url for url, cookie in answers if cookie] == []
                # The popup's last page closes itself as soon as it runs: the event of its answer may go
                # with the popup, while its request's event comes before the page exists.
                assert any("/callback" in url for url in asked)
                assert page.rj_errors == []  # type: ignore[attr-defined]
            finally:
                context.close()
    finally:
        setter.shutdown()
        setter.server_close()


# ---------------------------------------------------------------------------------- the e-mail link


def mail_to(box: Mailbox, address: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := box.to(address):
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address}")


def test_the_e_mail_link_logs_in_back_on_the_article(reader: Page, world: World) -> None:
    page = reader
    article = world.host.page("/posts/identity-mail")
    page.goto(article)
    page.get_by_role("button", name="Log in by e-mail").click()
    page.get_by_label("Your e-mail address").fill("lin@example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator(".rj-mail-note")).to_have_text(
        "Check your mail: a link to log in is on its way to lin@example.org."
    )
    found = re.search(r"\S+/auth/email/verify\?t=\S+", text_of(mail_to(world.mailbox, "lin@example.org")))
    assert found, "no link in the mail"
    link = found.group(0)

    using = "You are commenting using your e-mail address l…@example.org"
    mail_tab = page.context.new_page()  # as a mail client opens links: another tab of the same browser
    mail_tab.goto(link)  # a page with one button: a mail scanner fetching the link does not use it up
    mail_tab.get_by_role("button").click()
    expect(mail_tab.get_by_text(using)).to_be_visible()
    expect(mail_tab).to_have_url(article)  # the code came in the fragment and was taken off the address bar
    expect(page.get_by_text(using)).to_be_visible()  # the first tab hears of it through localStorage
    mail_tab.get_by_label("Comment", exact=True).fill("Logged in by mail.")
    mail_tab.get_by_role("button", name="Post Comment").click()
    expect(mail_tab.locator(".rj-comment .rj-verified")).to_have_count(1)

    mail_tab.goto(link)  # single use: the page says so, with no button to press
    expect(mail_tab.get_by_role("heading", level=1)).to_have_text("You could not be logged in")
    expect(mail_tab.get_by_role("button")).to_have_count(0)


def test_a_used_or_made_up_code_in_the_address_is_refused_in_words(reader: Page, world: World) -> None:
    page = reader
    article = world.host.page("/posts/identity-bad-code")
    page.goto(article + "#rejoinder-login=made-up-code")
    expect(page.locator(".rj-connecting")).to_contain_text("The login did not work (")
    expect(page).to_have_url(article)  # taken off the address bar all the same
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    assert stored(page, f"rejoinder.blog.reader:{world.rejoinder.base_url}") is None


# ---------------------------------------------------------------------------------- across devices


def test_a_verified_readers_like_and_comments_follow_them_across_browsers(
    browser: Browser, world: World
) -> None:
    url = world.host.page("/posts/identity-devices")
    first_context = browser.new_context(locale="en-GB")
    second_context = browser.new_context(locale="en-GB")
    try:
        first, second = new_page(first_context), new_page(second_context)
        first.goto(url)
        post_through_form(first, "Anemones in the tide pools open at low tide, as it says.", name="Guest")
        liked = int(first.locator(".rj-comment").first.get_attribute("data-id") or 0)
        log_in(first, "bea")
        first.get_by_label("Comment", exact=True).fill("Mine, from the *first* browser.")
        first.get_by_role("button", name="Post Comment").click()
        expect(first.locator(".rj-comment")).to_have_count(2)
        like = first.locator(f"#rj-comment-{liked} .rj-like")
        like.click()
        expect(first.locator(f"#rj-comment-{liked} .rj-likes")).to_have_text("Liked by 1 person")

        second.goto(url)
        log_in(second, "bea")
        expect(second.locator(f"#rj-comment-{liked} .rj-like")).to_have_attribute("aria-pressed", "true")
        expect(second.locator(f"#rj-comment-{liked} .rj-likes")).to_have_text("Liked by 1 person")
        token = token_of(second, world)
        again = world.rejoinder.http.put(
            f"/api/v1/comments/{liked}/like",
            headers={"Authorization": f"Bearer {token}", "X-Rejoinder-Liker": "another-browser"},
        )
        assert again.json()["likes"] == 1  # the identity likes it once, whichever browser asks

        written = second.locator(".rj-comment", has_text="Mine, from the first browser.")
        mine = second.locator(f"#rj-comment-{written.get_attribute('data-id')} > .rj-main")
        mine.locator(".rj-edit").click()
        editor = mine.locator("textarea")
        expect(editor).to_have_value("Mine, from the *first* browser.")  # its Markdown, from the server
        editor.fill("Mine, edited from the second browser.")
        mine.get_by_role("button", name="Save").click()
        expect(mine.locator(".rj-body")).to_have_text("Mine, edited from the second browser.")
        bodies = [c["html"] for c in world.rejoinder.thread("blog", url)["comments"]]
        assert any("edited from the second browser" in html for html in bodies)
        for page in (first, second):
            assert page.rj_errors == []  # type: ignore[attr-defined]
    finally:
        first_context.close()
        second_context.close()


# ---------------------------------------------------------------------------------- languages, pictures


@pytest.mark.parametrize(
    ("lang", "icon", "connecting", "using", "badge"),
    [
        ("de", "Mit Test ID anmelden", "Verbindung zu Test ID wird hergestellt…",
         "Du kommentierst mit deinem Test ID-Konto", "Bestätigtes Test ID-Konto"),
        ("uk", "Увійти через Test ID", "З'єднання з Test ID…",
         "Ви коментуєте через обліковий запис Test ID", "Підтверджений обліковий запис Test ID"),
    ],
)  # fmt: skip
def test_the_log_in_speaks_the_pages_language(
    reader: Page, world: World, lang: str, icon: str, connecting: str, using: str, badge: str
) -> None:
    page = reader
    page.goto(world.host.page(f"/posts/identity-{lang}", html_lang=lang))
    log_in(page, "ada", icon, connecting, using)
    page.get_by_role("textbox").first.fill("Seeanemonen, wunderbar / Актинії, чудово.")
    page.locator(".rj-submit").click()
    expect(page.locator(".rj-comment .rj-verified")).to_have_attribute("aria-label", badge)


PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2c1f5a50000000049454e44ae426082"
)


def test_a_site_that_shows_providers_pictures_shows_them(reader: Page, world: World) -> None:
    page = reader
    pictures: list[str] = []

    def picture(route: Any) -> None:  # the provider's picture host, answered here: no real third party
        pictures.append(route.request.url)
        route.fulfill(body=PIXEL, content_type="image/png")

    page.route("https://people.example.org/**", picture)
    page.goto(world.host.page("/posts/identity-pictures", site="pics"))
    log_in(page, "cleo")
    picture_of_reader = page.locator(".rj-who img.rj-avatar")
    expect(picture_of_reader).to_have_attribute("src", "https://people.example.org/cleo.png")
    expect(picture_of_reader).to_have_attribute("referrerpolicy", "no-referrer")
    page.get_by_label("Comment", exact=True).fill("With my picture.")
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".rj-comment img.rj-avatar")).to_have_attribute(
        "src", "https://people.example.org/cleo.png"
    )
    assert pictures and set(pictures) == {"https://people.example.org/cleo.png"}


def test_a_held_comment_is_shown_to_its_author_in_their_other_browser(browser: Browser, world: World) -> None:
    url = world.host.page("/posts/identity-held", site="held")
    contexts = [browser.new_context(locale="en-GB") for _ in range(3)]
    try:
        first, second, stranger = (new_page(context) for context in contexts)
        first.goto(url)
        log_in(first, "dan")
        first.get_by_label("Comment", exact=True).fill("Held until a moderator looks.")
        first.get_by_role("button", name="Post Comment").click()
        expect(first.locator(".rj-status")).to_have_text("Your comment was sent and is awaiting moderation.")

        second.goto(url)
        log_in(second, "dan")
        held = second.locator(".rj-comment.rj-held")
        expect(held.locator(".rj-body")).to_have_text("Held until a moderator looks.")
        expect(held.locator(".rj-notice")).to_have_text("Your comment is awaiting moderation.")
        expect(held.locator(".rj-edit")).to_be_visible()
        held.evaluate("(el) => el.classList.add('was-there')")
        second.get_by_label("Sort by").select_option("newest")  # the thread is drawn again: still there
        again = second.locator(".rj-comment.rj-held:not(.was-there)")
        expect(again.locator(".rj-notice")).to_have_text("Your comment is awaiting moderation.")

        stranger.goto(url)
        expect(stranger.locator(".rj-count")).to_have_text("0 comments")
        expect(stranger.locator(".rj-comment")).to_have_count(0)
        for page in (first, second, stranger):
            assert page.rj_errors == []  # type: ignore[attr-defined]
    finally:
        for context in contexts:
            context.close()


def test_a_reader_whose_provider_verified_the_address_can_subscribe(reader: Page, world: World) -> None:
    page = reader
    page.goto(world.host.page("/posts/identity-notify"))
    log_in(page, "nia")  # the test provider says nia@example.org is verified
    thread_box = page.get_by_label("Notify me of new comments via email.")
    thread_box.check()
    page.get_by_label("Comment", exact=True).fill("Tell me when someone answers.")
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".rj-status")).to_contain_text("a new address gets a mail to confirm first")
    assert "/notify/confirm/" in text_of(mail_to(world.mailbox, "nia@example.org"))
