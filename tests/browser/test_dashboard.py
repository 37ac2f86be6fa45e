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
from playwright.sync_api import Page, Route, expect

from rejoinder.accounts import create_user, turn_on_totp, update_user
from rejoinder.audit import cli_actor
from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.wiring import open_context
from tests.browser.support import RELAXED_SPAM, ROOT, HostPages, Rejoinder, artifact, cli, post_through_form

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


def make_site(rejoinder: Rejoinder, origin: str, key: str, *flags: str, name: str = "Tide pools") -> None:
    relaxed = [f"--set={pair}" for pair in [*RELAXED_SPAM, "pow=off", "report_threshold=1"]]
    cli("admin", "site", "create", key, "--name", name, "--origin", origin, *flags, *relaxed,
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
    ready(page)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ready(page: Page) -> None:
    """Until the page's script has started: keys pressed before it would go nowhere."""
    expect(page.locator("html")).to_have_attribute("data-ready", "true")


def test_log_in_with_a_password_and_out_again(page: Page, rejoinder: Rejoinder, desk: Desk) -> None:
    page.goto(f"{rejoinder.base_url}/dashboard/account")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next=/dashboard/account$"))
    page.get_by_label("E-mail address").fill(desk.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshot(page.locator(".login"), "login.png")
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
    me = rejoinder.http.get("/api/v1/me", headers=bearer(token))
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
    gone = rejoinder.http.get("/api/v1/me", headers=bearer(token))
    assert gone.status_code == 401


def queue(page: Page) -> Any:
    return page.locator("#items .item")


def toolbar(page: Page) -> Any:
    return page.get_by_role("toolbar", name="Bulk actions")


def statuses(rejoinder: Rejoinder, token: str, site: str, status: str) -> list[str]:
    """The bodies of a queue, as the API lists it."""
    response = rejoinder.http.get(
        "/api/v1/moderation/comments",
        params={"site": site, "status": status},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    return sorted(item["body"] for item in response.json()["comments"])


@pytest.fixture
def token(desk: Desk, accounts: Context) -> str:
    """A personal token of the desk's admin, for checking through the API what the dashboard did."""
    from rejoinder import apikeys
    from rejoinder.accounts import get_user

    owner = get_user(accounts, desk.email)
    return apikeys.create_key(accounts, apikeys.ApiKeyKind.PERSONAL, None, "checks", actor=owner, owner=owner)


def test_clear_the_held_queue_with_the_keyboard(
    page: Page, rejoinder: Rejoinder, desk: Desk, token: str
) -> None:
    for body in ("A fine first comment", "Cheap pills here", "Rude words"):
        desk.post(body)
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    expect(queue(page)).to_have_count(3)
    screenshot(page, "queue.png", full_page=True)
    page.keyboard.press("?")
    help = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help).to_be_visible()
    screenshot(help, "keys.png")
    page.keyboard.press("Escape")
    expect(help).to_be_hidden()

    # Newest first: "Rude words", "Cheap pills here", "A fine first comment".
    page.keyboard.press("j")
    expect(queue(page).first).to_be_focused()
    page.keyboard.press("d")
    expect(queue(page)).to_have_count(2)
    expect(page.get_by_role("status")).to_contain_text("Delete: 1 done.")
    expect(queue(page).first).to_be_focused()
    page.keyboard.press("s")
    expect(queue(page)).to_have_count(1)
    page.keyboard.press("a")
    expect(queue(page)).to_have_count(0)
    expect(page.get_by_text("Nothing here: this queue is clear.")).to_be_visible()
    assert statuses(rejoinder, token, desk.site, "published") == ["A fine first comment"]
    assert statuses(rejoinder, token, desk.site, "spam") == ["Cheap pills here"]
    assert statuses(rejoinder, token, desk.site, "deleted") == ["Rude words"]

    page.keyboard.press("u")  # the approval goes back to the queue
    expect(queue(page)).to_have_text([re.compile("A fine first comment")])
    expect(page.get_by_role("status")).to_have_text("Undone.")
    assert statuses(rejoinder, token, desk.site, "pending") == ["A fine first comment"]
    audit = rejoinder.http.get(
        "/api/v1/moderation/audit", params={"site": desk.site}, headers=bearer(token)
    ).json()["entries"]
    assert {entry["actor"] for entry in audit if entry["comment_id"]} == {f"user:{desk.email}"}
    assert len([entry for entry in audit if entry["comment_id"]]) >= 4  # three decisions and the undo


def test_bulk_approve_undo_and_everything_matching_a_search(
    page: Page, rejoinder: Rejoinder, desk: Desk, token: str
) -> None:
    for n in range(3):
        desk.post(f"Thoughtful remark {n}")
    for n in range(2):
        desk.post(f"Buy pills number {n}", name="Spammer", email="spam@pills.example")
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    expect(queue(page)).to_have_count(5)

    # Search, then everything matching it goes to spam.
    page.get_by_label("Search the text, author and page").fill("pills")
    page.get_by_role("button", name="Show").click()
    expect(queue(page)).to_have_count(2)
    toolbar(page).get_by_label("Apply to everything matching").check()
    toolbar(page).get_by_role("button", name="Spam").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text("Apply “Spam” to every comment matching this queue and search?")
    confirm.get_by_role("button", name="Apply to everything matching").click()
    expect(queue(page)).to_have_count(0)
    assert statuses(rejoinder, token, desk.site, "spam") == ["Buy pills number 0", "Buy pills number 1"]

    # The rest: the whole page selected, approved, and taken back.
    page.get_by_role("link", name="Clear filters").click()
    expect(queue(page)).to_have_count(3)
    toolbar(page).get_by_label("Select every comment on this page").check()
    expect(toolbar(page)).to_contain_text("3 selected")
    toolbar(page).get_by_role("button", name="Approve").click()
    expect(queue(page)).to_have_count(0)
    assert len(statuses(rejoinder, token, desk.site, "published")) == 3
    page.get_by_role("status").get_by_role("button", name="Undo (u)").click()
    expect(queue(page)).to_have_count(3)
    assert len(statuses(rejoinder, token, desk.site, "pending")) == 3


def test_edit_and_pin_a_comment_and_readers_see_both(
    page: Page, browser: Any, rejoinder: Rejoinder, desk: Desk
) -> None:
    url = desk.article()
    desk.post("This is a nice post. Visit my shop at pills.example", url=url)
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    item = queue(page).first
    item.get_by_role("button", name="Edit").click()
    text = item.get_by_label("Text (Markdown)")
    expect(text).to_have_value("This is a nice post. Visit my shop at pills.example")
    text.fill("   ")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".form-error")).to_contain_text("Text (Markdown): ")  # the rule the API names
    expect(text).to_have_attribute("aria-invalid", "true")
    text.fill("This is a nice post.")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".body")).to_have_text("This is a nice post.")
    expect(item).to_contain_text("edited by a moderator")
    item.get_by_role("button", name="Approve").click()
    expect(queue(page)).to_have_count(0)
    page.get_by_role("link", name="Published").click()
    queue(page).first.get_by_role("button", name="Pin").click()
    expect(queue(page).first.get_by_role("button", name="Unpin")).to_be_visible()
    expect(queue(page).first.locator(".badge.pinned")).to_have_text("Pinned")

    reader = browser.new_context().new_page()
    reader.goto(url)
    expect(reader.locator(".rj-comment").first).to_contain_text("This is a nice post.")
    expect(reader.locator(".rj-comment").first).to_contain_text("edited by a moderator")
    expect(reader.locator(".rj-comment").first).to_contain_text("Pinned")
    reader.context.close()


def test_a_moderator_of_one_site_sees_nothing_of_another(
    page: Page, rejoinder: Rejoinder, desk: Desk, host: HostPages
) -> None:
    other = f"{desk.site[:50]}-other"
    make_site(rejoinder, host.origin, other, "--moderation", name="Somebody else's blog")
    theirs = Desk(other, "", rejoinder, host)
    theirs.post("A secret of the other site")
    desk.post("A comment of my own site")
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    expect(queue(page)).to_have_text([re.compile("A comment of my own site")])
    options = page.get_by_label("Site").locator("option")
    expect(options).to_have_text(["All sites", "Tide pools"])
    page.get_by_label("Search the text, author and page").fill("secret")
    page.get_by_role("button", name="Show").click()
    expect(queue(page)).to_have_count(0)
    for path in ("/dashboard/", "/dashboard/bans", "/dashboard/lists", "/dashboard/overview"):
        page.goto(f"{rejoinder.base_url}{path}?site={other}")
        expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text(f"you do not moderate '{other}'")
        expect(page.locator("main")).not_to_contain_text("secret")


def test_a_phone_sized_screen(browser: Any, rejoinder: Rejoinder, desk: Desk) -> None:
    for body in ("Anemones open like flowers when the tide goes out.", "First!"):
        desk.post(body)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(5000)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    log_in(phone, rejoinder, desk.email, then="/dashboard/")
    expect(queue(phone)).to_have_count(2)
    wide = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page scrolls sideways by {wide}px"
    screenshot(phone, "queue-phone.png")
    approve = queue(phone).first.get_by_role("button", name="Approve")
    box = approve.bounding_box()
    assert box is not None and box["height"] >= 32  # big enough for a thumb
    approve.tap()
    expect(queue(phone)).to_have_count(1)
    phone.emulate_media(color_scheme="dark")
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, "queue-phone-dark.png")
    context.close()
    assert not errors, errors


def test_a_reader_reports_a_comment_until_it_is_held_and_in_the_reported_queue(
    page: Page, browser: Any, rejoinder: Rejoinder, desk: Desk, token: str
) -> None:
    url = desk.article()
    posted = desk.post("You are all wrong about anemones, idiots", name="Troll", url=url)
    approved = rejoinder.http.post(
        "/api/v1/moderation/actions",
        json={"action": "approve", "ids": [posted]},
        headers=bearer(token),
    )
    assert approved.status_code == 200, approved.text
    reader = browser.new_context().new_page()
    reader.goto(url)
    reader.locator(f"#rj-comment-{posted} > .rj-main").get_by_role("button", name="Report").click()
    reader.get_by_label("Why should the moderators look at this comment?").select_option("abuse")
    reader.get_by_label("Anything they should know (optional)").fill("calls readers idiots")
    reader.get_by_role("button", name="Send report").click()
    expect(reader.get_by_text("Thank you: the moderators will look at it.")).to_have_count(1)
    reader.context.close()
    assert rejoinder.thread(desk.site, url)["comments"] == []  # held: the site holds at one report

    log_in(page, rejoinder, desk.email, then="/dashboard/?status=reported")
    expect(queue(page)).to_have_count(1)
    item = queue(page).first
    expect(item).to_contain_text("Reader reports (1)")
    expect(item.locator(".reports li")).to_have_text(["abuse: calls readers idiots"])
    screenshot(item, "reported.png")
    page.keyboard.press("j")
    page.keyboard.press("d")
    expect(queue(page)).to_have_count(0)
    assert statuses(rejoinder, token, desk.site, "deleted") == ["You are all wrong about anemones, idiots"]


def test_the_overview_and_a_new_sites_first_run_page(
    page: Page, rejoinder: Rejoinder, desk: Desk, token: str, host: HostPages, accounts: Context
) -> None:
    fresh = f"{desk.site[:50]}-new"
    make_site(rejoinder, host.origin, fresh, name="Rock pools")
    update_user(accounts, cli_actor(), desk.email, site_key=fresh, role="admin")
    ids = [desk.post(f"Comment number {n}") for n in range(4)]
    for action, chosen in (("approve", ids[:2]), ("spam", ids[2:3])):
        response = rejoinder.http.post(
            "/api/v1/moderation/actions",
            json={"action": action, "ids": chosen},
            headers=bearer(token),
        )
        assert response.status_code == 200, response.text
    log_in(page, rejoinder, desk.email, then="/dashboard/overview")
    expect(page.locator("#total-comments")).to_have_text("4")
    expect(page.locator("#total-approved")).to_have_text("2")
    expect(page.locator("#total-spam")).to_have_text("1")
    expect(page.get_by_role("img", name="Comments per day")).to_be_visible()
    screenshot(page.locator("main"), "overview.png")

    notice = page.locator(".notice", has_text="Rock pools has no comments yet.")
    notice.get_by_role("link", name="Set it up").click()
    expect(page.get_by_role("heading", name="Put comments on Rock pools")).to_be_visible()
    expect(page.locator("#snippet")).to_contain_text(f'data-site="{fresh}"')
    expect(page.locator("#origins")).to_contain_text(host.origin)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("status")).to_have_text("Copied.")
    assert f'data-site="{fresh}"' in page.evaluate("navigator.clipboard.readText()")
    screenshot(page.locator("main"), "welcome.png")


def test_the_dashboard_speaks_ukrainian_and_german(page: Page, rejoinder: Rejoinder, desk: Desk) -> None:
    desk.post("Коментар, що чекає")
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    page.get_by_role("link", name="Українська").click()
    expect(page.get_by_role("navigation", name="Черги").get_by_role("link", name="Затримані")).to_be_visible()
    ready(page)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Клавіші")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("a")
    expect(page.get_by_role("status")).to_contain_text("Схвалити: виконано 1.")
    page.goto(f"{rejoinder.base_url}/dashboard/overview")  # the choice is remembered
    expect(page.get_by_role("heading", name="Останні 30 днів")).to_be_visible()
    page.get_by_role("link", name="Deutsch").click()
    expect(page.get_by_role("heading", name="Die letzten 30 Tage")).to_be_visible()


def test_ban_an_author_and_their_held_comments_are_marked_as_spam(
    page: Page, rejoinder: Rejoinder, desk: Desk, token: str
) -> None:
    for n in range(2):
        desk.post(f"Pills offer number {n}", name="Spammer", email="spam@pills.example")
    desk.post("An honest question", name="Grace", email="grace@example.org")
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    queue(page).filter(has_text="Pills offer number 0").get_by_role("link", name="Ban the author").click()
    expect(page.get_by_label("Ban by")).to_have_value("email")
    expect(page.get_by_label("Value")).to_have_value("spam@pills.example")
    expect(page.get_by_label("Also mark this author's held comments as spam")).to_be_checked()
    page.get_by_label("Reason").fill("sells pills")
    page.get_by_label("Expires").select_option(label="in a month")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Banned; 2 held comments marked as spam.")
    bans = page.locator("#bans tbody tr")
    expect(bans).to_have_count(1)
    expect(bans).to_contain_text("spam@pills.example")
    expect(bans).to_contain_text("sells pills")
    screenshot(page.locator("main"), "bans.png")
    assert statuses(rejoinder, token, desk.site, "spam") == ["Pills offer number 0", "Pills offer number 1"]
    assert statuses(rejoinder, token, desk.site, "pending") == ["An honest question"]

    payload = {"site": desk.site, "url": desk.article(), "body": "More pills", "author": {"name": "Spammer",
               "email": "spam@pills.example"}}  # fmt: skip
    assert rejoinder.http.post("/api/v1/comments", json=payload).status_code == 403  # banned

    page.get_by_label("Value").fill("not an address")
    page.get_by_label("Ban by").select_option("ip")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.locator("#ban-value-error")).not_to_be_empty()  # the API's rule, next to the field
    expect(page.get_by_label("Value")).to_have_attribute("aria-invalid", "true")

    bans.get_by_role("button", name="Lift the ban: spam@pills.example").click()
    expect(bans).to_have_count(0)


def test_a_ban_asked_for_before_the_pages_script_has_started_waits_for_it(
    page: Page, rejoinder: Rejoinder, desk: Desk, token: str
) -> None:
    """Pressed early, the form used to go to the server as a plain GET: the ban was lost, its values put in
    the address. The buttons now come disabled and the script enables them."""
    log_in(page, rejoinder, desk.email, then="/dashboard/")
    held: list[Route] = []
    page.route("**/dashboard/static/dashboard.js", lambda route: held.append(route))
    page.goto(f"{rejoinder.base_url}/dashboard/bans?site={desk.site}", wait_until="commit")
    ban = page.get_by_role("button", name="Ban", exact=True)
    expect(ban).to_be_disabled()
    page.get_by_label("Value").fill("early@pills.example")
    page.get_by_label("Reason").fill("asked early")
    page.get_by_label("Reason").press("Enter")  # implicit submission, which a disabled button stops
    expect(page).to_have_url(f"{rejoinder.base_url}/dashboard/bans?site={desk.site}")
    for route in held:
        route.continue_()
    page.unroute("**/dashboard/static/dashboard.js")  # the page reloads after the ban
    ban.click()  # waits until the script has enabled it
    expect(page.get_by_role("status")).to_have_text("Banned; 0 held comments marked as spam.")
    expect(page.locator("#bans tbody tr")).to_contain_text("asked early")


def test_without_javascript_the_dashboards_buttons_are_disabled_and_say_why(
    browser: Any, rejoinder: Rejoinder, desk: Desk
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(5000)
    page = context.new_page()
    try:
        page.goto(f"{rejoinder.base_url}/dashboard/login?next=/dashboard/bans")  # a plain form: no script
        page.get_by_label("E-mail address").fill(desk.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Bans", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Ban", exact=True)).to_be_disabled()
        note = page.locator("noscript .notice")  # text locators pass over <noscript>
        expect(note).to_be_visible()
        expect(note).to_have_text(re.compile("^The dashboard's buttons need JavaScript"))
    finally:
        context.close()


def test_the_spam_filters_lists(page: Page, rejoinder: Rejoinder, desk: Desk, token: str) -> None:
    log_in(page, rejoinder, desk.email, then="/dashboard/lists")
    page.get_by_label("Words and phrases").fill("casino\ncheap pills\n")
    page.locator("form[data-list=words]").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.get_by_label("Addresses and networks").fill("203.0.113.0/24\nnot-an-address")
    page.locator("form[data-list=ips]").get_by_role("button", name="Save").click()
    expect(page.locator("#list-ips-error")).not_to_be_empty()
    screenshot(page.locator("main"), "lists.png")
    words = rejoinder.http.get(
        "/api/v1/moderation/lists/words", params={"site": desk.site}, headers=bearer(token)
    )
    assert words.json()["entries"] == ["casino", "cheap pills"]
    page.reload()
    expect(page.get_by_label("Words and phrases")).to_have_value("casino\ncheap pills")
    expect(page.get_by_label("Addresses and networks")).to_have_value("")


def test_change_a_setting_and_the_widget_follows_it(
    page: Page, browser: Any, rejoinder: Rejoinder, desk: Desk
) -> None:
    url = desk.article()
    reader = browser.new_context().new_page()
    reader.goto(url)
    post_through_form(reader, "Is anyone there?")
    expect(reader.get_by_text("Your comment was sent and is awaiting moderation.")).to_be_visible()

    log_in(page, rejoinder, desk.email, then=f"/dashboard/settings?site={desk.site}")
    premoderation = page.get_by_label("Premoderation")
    expect(premoderation).to_have_value("all")
    page.get_by_label("Max depth").fill("50")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#s-max_depth-error")).to_have_text(re.compile("between 2 and 20"))
    expect(page.get_by_label("Max depth")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Max depth").fill("3")
    premoderation.select_option("none")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    screenshot(page, "settings.png")

    reader.reload()
    post_through_form(reader, "Hello again")
    expect(reader.get_by_text("Your comment was posted.")).to_be_visible()
    reader.reload()
    expect(reader.locator(".rj-comment", has_text="Hello again")).to_be_visible()
    reader.context.close()
