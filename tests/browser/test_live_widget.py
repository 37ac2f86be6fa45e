"""Live updates in the widget: two readers of one thread, each seeing what the other does live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import HostPages, Rejoinder, comment, own_part, post_through_form

pytestmark = pytest.mark.browser


@pytest.fixture
def other(browser: Any) -> Iterator[Page]:
    """A second reader, in a browser context of their own."""
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="en-GB")
    context.set_default_timeout(5000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the second page: {errors}"


def following(page: Page) -> None:
    """Wait until the widget's stream is open (the server's first line has arrived)."""
    expect(page.locator(".rj-root")).to_have_attribute("data-live", "open")


def test_a_comment_posted_in_one_page_is_announced_in_the_other_and_shown_on_request(
    page: Page, other: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article, body=f'<p><a data-rejoinder-count href="{article}">comments</a></p>')
    first = rejoinder.post("blog", host.origin + article, "Already here")["comment"]
    for reader in (page, other):
        reader.goto(url)
        expect(reader.locator(".rj-count")).to_have_text("1 comment")
        following(reader)

    post_through_form(page, "Hello, *other* reader")
    expect(page.locator(".rj-status")).to_have_text("Your comment was posted.")

    notice = other.get_by_role("button", name="1 new comment — show")
    expect(notice).to_be_visible()
    expect(other.locator(".rj-count")).to_have_text("2 comments")
    expect(other.locator("a[data-rejoinder-count]")).to_have_text("2 comments")
    expect(other.locator(".rj-comment")).to_have_count(1)  # not shown until asked for
    notice.focus()
    other.keyboard.press("Enter")
    shown = other.locator(".rj-comment").nth(1)
    expect(shown.locator(".rj-body em")).to_have_text("other")
    expect(shown).to_be_focused()
    expect(notice).to_be_hidden()

    # The author's own page shows the comment once, and announces nothing.
    expect(page.locator(".rj-comment")).to_have_count(2)
    expect(page.locator(".rj-count")).to_have_text("2 comments")
    page.wait_for_timeout(500)
    expect(page.locator(".rj-fresh")).to_be_hidden()

    # A reply lands under its parent.
    rejoinder.post("blog", host.origin + article, "A reply to the first", parent_id=first["id"])
    other.get_by_role("button", name="1 new comment — show").click()
    expect(comment(other, first["id"]).locator(".rj-replies .rj-comment")).to_have_count(1)


def test_a_like_in_one_page_updates_the_count_in_the_other(
    page: Page, other: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    posted = rejoinder.post("blog", host.origin + article, "Like me")["comment"]
    for reader in (page, other):
        reader.goto(url)
        expect(own_part(reader, posted["id"]).locator(".rj-likes")).to_have_text("Be the first to like this")
        following(reader)

    own_part(page, posted["id"]).get_by_role("button", name="Like").click()
    expect(own_part(other, posted["id"]).locator(".rj-likes")).to_have_text("Liked by 1 person")
    like = own_part(other, posted["id"]).get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "false")  # their own like state is theirs alone


def test_the_notice_speaks_the_pages_language(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    page.goto(host.page(article, html_lang="uk"))
    following(page)
    for i in range(2):
        rejoinder.post("blog", host.origin + article, f"Коментар {i}")
    expect(page.get_by_role("button", name="2 нові коментарі — показати")).to_be_visible()


def test_data_live_false_opens_no_stream(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(host.page(article, live="false"))
    expect(page.locator(".rj-count")).to_have_text("0 comments")
    rejoinder.post("blog", host.origin + article, "Nobody is told")
    page.wait_for_timeout(500)
    assert not [u for u in requested if "/threads/events" in u]
    expect(page.locator(".rj-fresh")).to_be_hidden()


def test_removing_the_widget_closes_its_stream(page: Page, host: HostPages, article: str) -> None:
    page.goto(host.page(article))
    expect(page.locator(".rj-root")).to_have_attribute("data-live", "open")
    page.evaluate("window.widgetRoot = document.querySelector('.rj-root')")
    page.evaluate("document.getElementById('rejoinder-thread').remove()")
    page.wait_for_function("() => window.widgetRoot.dataset.live === undefined")
