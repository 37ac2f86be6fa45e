"""The reply form: errors at their fields, failures that lose nothing, the keyboard, quotes, proof of work."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import altcha
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.support import HostPages, Rejoinder, artifact, own_part, post_through_form

pytestmark = pytest.mark.browser


def test_a_server_error_is_shown_at_its_field_and_the_text_stays(
    page: Page, host: HostPages, article: str
) -> None:
    page.goto(host.page(article))
    page.get_by_role("button", name="Post Comment").click()
    body = page.get_by_label("Comment", exact=True)
    expect(page.locator("#rj-f-body-error")).to_have_text("Please write a comment.")
    expect(body).to_be_focused()

    text = "A thoughtful comment that must not be lost.\n\nSecond paragraph."
    post_through_form(page, text, email="not-an-e-mail")
    email = page.get_by_label("E-mail (never shown publicly)")
    error = page.locator("#rj-f-email-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("valid e-mail address")
    expect(email).to_have_attribute("aria-invalid", "true")
    assert "rj-f-email-error" in (email.get_attribute("aria-describedby") or "")
    expect(email).to_be_focused()
    expect(body).to_have_value(text)
    expect(page.locator("#rj-f-body-error")).to_be_hidden()
    page.locator(".rj-respond").screenshot(path=artifact("form-error.png"))

    email.fill("grace@example.org")
    expect(error).to_be_hidden()  # typing clears the field's error
    page.get_by_role("button", name="Post Comment").click()
    expect(page.locator(".rj-comment .rj-body p")).to_have_text(
        ["A thoughtful comment that must not be lost.", "Second paragraph."]
    )


def test_a_site_that_requires_name_and_e_mail_says_so_at_the_fields(
    page: Page, host: HostPages, article: str
) -> None:
    page.goto(host.page(article, site="strict"))
    page.get_by_label("Comment", exact=True).fill("Who am I?")
    page.get_by_role("button", name="Post Comment").click()
    for field in ("name", "email"):
        expect(page.locator(f"#rj-f-{field}-error")).to_be_visible()
        expect(page.locator(f"#rj-f-{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Who am I?")


def test_a_network_failure_keeps_the_text_and_a_retry_posts_it(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    page.goto(url)

    def offline(route: Route) -> None:
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(f"{rejoinder.base_url}/api/v1/comments", offline)
    post_through_form(page, "Written on a train")
    expect(page.locator(".rj-status")).to_have_text(
        "The comment server could not be reached. Your text is kept here."
    )
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Written on a train")

    page.unroute(f"{rejoinder.base_url}/api/v1/comments")
    page.get_by_role("button", name="Try again").click()
    expect(page.locator(".rj-comment .rj-body")).to_have_text("Written on a train")
    expect(page.get_by_role("button", name="Try again")).to_be_hidden()
    assert [c["html"] for c in rejoinder.thread("blog", url)["comments"]] == ["<p>Written on a train</p>"]


def test_a_draft_and_its_reply_target_survive_a_reload(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    parent = rejoinder.post("blog", url, "Answer me", name="Bob")["comment"]
    page.goto(url)
    page.get_by_label("Name", exact=True).fill("Grace")
    own_part(page, parent["id"]).get_by_role("button", name="Reply").click()
    page.get_by_label("Comment", exact=True).fill("Half-written thoughts")
    page.reload()
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Half-written thoughts")
    expect(page.locator(f"#rj-comment-{parent['id']} .rj-respond")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Grace")  # this tab only, not remembered


def test_details_are_remembered_only_when_the_reader_asks(page: Page, host: HostPages, article: str) -> None:
    page.goto(host.page(article))
    page.get_by_label("Save my name").check()
    post_through_form(page, "Remember me", name="Grace", email="grace@example.org")
    expect(page.locator(".rj-comment")).to_have_count(1)
    fresh = page.context.new_page()  # a new tab: sessionStorage is empty, localStorage is shared
    fresh.goto(host.page(article))
    expect(fresh.get_by_label("Name", exact=True)).to_have_value("Grace")
    expect(fresh.get_by_label("E-mail (never shown publicly)")).to_have_value("grace@example.org")
    fresh.get_by_label("Save my name").uncheck()
    newer = page.context.new_page()
    newer.goto(host.page(article))
    expect(newer.get_by_label("Comment", exact=True)).to_be_visible()
    expect(newer.get_by_label("Name", exact=True)).to_have_value("")


def test_keyboard_only_reply_and_like(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    parent = rejoinder.post("blog", url, "Reply with the keyboard", name="Bob")["comment"]
    page.goto(url)
    expect(page.locator(".rj-comment")).to_have_count(1)

    def tab_to(description: str, check: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({check}); }})()"):
                return
        pytest.fail(f"Tab never reached {description}")

    tab_to("the like button", "el.classList.contains('rj-like')")
    page.keyboard.press("Space")
    expect(own_part(page, parent["id"]).locator(".rj-likes")).to_have_text("Liked by 1 person")
    tab_to("the reply button", "el.classList.contains('rj-reply')")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    tab_to("the name field", "el.id === 'rj-f-name'")
    page.keyboard.type("Keys")
    tab_to("the submit button", "el.classList.contains('rj-submit')")
    page.keyboard.press("Enter")
    reply = page.locator(f"#rj-comment-{parent['id']} .rj-replies .rj-comment")
    expect(reply.locator(".rj-body")).to_have_text("Typed without a mouse")
    expect(reply).to_be_focused()  # focus follows the new comment


def test_quote_in_reply_from_the_article_and_from_a_comment(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    parent = rejoinder.post("blog", url, "Tide tables are *essential*.", name="Bob")["comment"]
    page.goto(url)
    expect(page.locator(".rj-comment")).to_have_count(1)

    page.locator("#article-text").select_text()
    page.dispatch_event("#article-text", "mouseup")
    page.get_by_role("button", name="Quote in reply").click()
    body = page.get_by_label("Comment", exact=True)
    expect(body).to_have_value("> Anemones open like flowers when the tide goes out.\n\n")
    expect(body).to_be_focused()
    expect(page.get_by_role("button", name="Quote in reply")).to_be_hidden()

    page.locator(f"#rj-comment-{parent['id']} .rj-body p").select_text()
    page.dispatch_event(f"#rj-comment-{parent['id']} .rj-body p", "mouseup")
    page.get_by_role("button", name="Quote in reply").click()
    expect(page.get_by_role("heading", name="Reply to Bob")).to_be_visible()  # the form moved under Bob
    expect(body).to_have_value(
        "> Anemones open like flowers when the tide goes out.\n\n> Tide tables are essential.\n\n"
    )


def test_markdown_preview(page: Page, host: HostPages, article: str) -> None:
    page.goto(host.page(article))
    page.get_by_label("Comment", exact=True).fill("Some *emphasis* and <script>alert(1)</script>")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".rj-respond .rj-preview")
    expect(preview.locator("em")).to_have_text("emphasis")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # as text: the server escaped it
    expect(preview.locator("script")).to_have_count(0)
    page.get_by_role("button", name="Write").click()
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()


# -- the spam fields and the proof of work, against the ALTCHA library the server uses

KEY = "test-hmac-key"


def fake_form(site: dict[str, Any] | None = None) -> dict[str, Any]:
    # Parameters make the salt longer than one SHA-256 block: the widget's hashing must carry over.
    options = altcha.ChallengeOptionsV1(
        hmac_key=KEY, max_number=50000, params={"site": "blog", "pad": "p" * 40}
    )
    made = altcha.create_challenge_v1(options)
    assert len(made.salt) > 64
    return {
        "form_token": f"token-{made.salt}",
        "honeypot": "homepage",
        "challenge": {
            "algorithm": made.algorithm,
            "challenge": made.challenge,
            "maxnumber": made.max_number,
            "salt": made.salt,
            "signature": made.signature,
        },
        "site": {
            "name": "Blog",
            "max_depth": 5,
            "edit_window_seconds": 900,
            "moderation": False,
            "require_name_email": False,
            "privacy_url": "https://blog.example/privacy",
            "pow": "always",
            "providers": [],
            **(site or {}),
        },
    }


def created(payload: dict[str, Any], comment_id: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "comment": {
            "id": comment_id,
            "parent_id": None,
            "author": {"name": payload["author"]["name"], "website": None},
            "html": "<p>solved</p>",
            "created_at": now.isoformat(),
            "edited_at": None,
            "likes": 0,
            "status": "published",
            "replies": [],
        },
        "edit_token": "edit",
        "edit_until": (now + timedelta(minutes=15)).isoformat(),
    }


def test_the_proof_of_work_solution_passes_the_servers_altcha_check(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    forms: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []

    def form(route: Route) -> None:
        forms.append(
            fake_form({"providers": [{"id": "x", "name": "Example", "login_url": "https://id.example/"}]})
        )
        route.fulfill(json=forms[-1], headers={"Access-Control-Allow-Origin": host.origin})

    def comments(route: Route) -> None:
        if route.request.method != "POST":
            return route.continue_()
        posts.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(
            status=201, json=created(posts[-1], 999_001), headers={"Access-Control-Allow-Origin": "*"}
        )

    page.route(f"{rejoinder.base_url}/api/v1/form?*", form)
    page.route(f"{rejoinder.base_url}/api/v1/comments", comments)
    page.goto(host.page(article))
    honeypot = page.locator("input[name=homepage]")
    expect(honeypot).to_have_attribute("tabindex", "-1")
    expect(honeypot).to_have_attribute("autocomplete", "off")
    expect(page.locator(".rj-trap")).to_have_attribute("aria-hidden", "true")
    expect(page.get_by_role("link", name="How your comment data is processed")).to_have_attribute(
        "href", "https://blog.example/privacy"
    )
    expect(page.get_by_text("Fill in your details below or click an icon to log in:")).to_be_visible()
    expect(page.get_by_role("button", name="Log in with Example")).to_be_visible()

    post_through_form(page, "Solve it")
    expect(page.locator(".rj-comment .rj-body")).to_have_text("solved")
    [sent] = posts
    assert sent["form_token"] == forms[0]["form_token"]
    assert sent["honeypot"] == ""
    ok, problem = altcha.verify_solution_v1(sent["altcha"], KEY)
    assert ok, problem
    assert len(forms) == 2  # a fresh token after the post: they are single-use


def test_a_challenge_the_server_asks_for_is_solved_and_sent_again_once(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    forms: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []

    asked: list[str] = []

    def form(route: Route) -> None:
        asked.append(route.request.url)
        forms.append(fake_form())
        route.fulfill(json=forms[-1], headers={"Access-Control-Allow-Origin": host.origin})

    def comments(route: Route) -> None:
        if route.request.method != "POST":
            return route.continue_()
        posts.append(json.loads(route.request.post_data or "{}"))
        headers = {"Access-Control-Allow-Origin": host.origin}
        if len(posts) == 1:  # as if the comment were doubtful: a harder challenge is asked for
            error = {
                "code": "challenge_required",
                "message": "solve it",
                "fields": {"altcha": "must be solved"},
                "difficulty": 2,
            }
            return route.fulfill(status=422, json={"error": error}, headers=headers)
        route.fulfill(status=201, json=created(posts[-1], 999_002), headers=headers)

    page.route(f"{rejoinder.base_url}/api/v1/form?*", form)
    page.route(f"{rejoinder.base_url}/api/v1/comments", comments)
    page.goto(host.page(article))
    post_through_form(page, "Second time lucky")
    expect(page.locator(".rj-comment .rj-body")).to_have_text("solved")
    assert len(posts) == 2
    assert posts[1]["form_token"] == forms[1]["form_token"]
    for sent in posts:
        assert altcha.verify_solution_v1(sent["altcha"], KEY)[0]
    assert posts[0]["altcha"] != posts[1]["altcha"]
    assert "difficulty=" not in asked[0], asked
    assert "difficulty=2" in asked[1], asked  # the retry asks for the level the server named
    assert "description" in posts[0]  # the page's description, for the relevance signal


def test_a_challenge_that_comes_with_the_refusal_is_solved_with_the_same_form_token(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    forms: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    harder = fake_form()["challenge"]

    def form(route: Route) -> None:
        forms.append(fake_form())
        route.fulfill(json=forms[-1], headers={"Access-Control-Allow-Origin": host.origin})

    def comments(route: Route) -> None:
        if route.request.method != "POST":
            return route.continue_()
        posts.append(json.loads(route.request.post_data or "{}"))
        headers = {"Access-Control-Allow-Origin": host.origin}
        if len(posts) == 1:  # the refusal brings the harder challenge itself; the form token stays unused
            error = {
                "code": "challenge_required",
                "message": "solve it",
                "fields": {"altcha": "must be solved"},
                "difficulty": 2,
                "challenge": harder,
            }
            return route.fulfill(status=422, json={"error": error}, headers=headers)
        route.fulfill(status=201, json=created(posts[-1], 999_003), headers=headers)

    page.route(f"{rejoinder.base_url}/api/v1/form?*", form)
    page.route(f"{rejoinder.base_url}/api/v1/comments", comments)
    page.goto(host.page(article))
    post_through_form(page, "No second form")
    expect(page.locator(".rj-comment .rj-body")).to_have_text("solved")
    assert len(posts) == 2
    assert posts[0]["form_token"] == posts[1]["form_token"] == forms[0]["form_token"]
    assert json.loads(base64.b64decode(posts[1]["altcha"]))["salt"] == harder["salt"]
    assert altcha.verify_solution_v1(posts[1]["altcha"], KEY)[0]
    expect(page.locator(".rj-comment")).to_have_count(1)
    assert len(forms) == 2  # the first, then the fresh token after the post: none between the attempts
