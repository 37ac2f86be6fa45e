"""Reading and writing a thread through the widget, embedded by a page on another origin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.support import (
    HostPages,
    Rejoinder,
    artifact,
    comment,
    own_part,
    post_through_form,
    stored,
)

pytestmark = pytest.mark.browser


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_a_guest_posts_and_the_comment_appears_at_once(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    url = host.page(article)
    page.goto(url)
    page.evaluate("window.notReloaded = true")
    expect(page.locator(".rj-count")).to_have_text("0 comments")
    expect(page.get_by_role("heading", name="Leave a Reply")).to_be_visible()

    post_through_form(page, "Hello from *the* browser", email="grace@example.org", website="grace.example")

    posted = page.locator(".rj-comment").first
    expect(posted.locator(".rj-body em")).to_have_text("the")
    author = posted.locator("a.rj-author")
    expect(author).to_have_text("Grace")
    expect(author).to_have_attribute("rel", "nofollow ugc")
    expect(author).to_have_attribute("href", "https://grace.example")
    expect(posted.locator("svg.rj-avatar")).to_be_visible()
    expect(posted.locator("time")).to_have_text("just now")
    assert posted.locator("time").get_attribute("title")  # the exact time on hover
    expect(page.locator(".rj-count")).to_have_text("1 comment")
    expect(page.locator(".rj-status")).to_have_text("Your comment was posted.")
    expect(page.get_by_label("Comment", exact=True)).to_have_value("")
    assert page.evaluate("window.notReloaded")

    [saved] = rejoinder.thread("blog", url)["comments"]
    assert saved["author"] == {"name": "Grace", "website": "https://grace.example"}
    # Nothing but the host page and the Rejoinder server was asked for anything (blob: is the proof-of-work
    # worker, made in the page from the widget's own source).
    asked = {origin(u) for u in requested if not u.startswith("blob:")}
    assert asked <= {host.origin, rejoinder.base_url}, requested


def test_a_reply_to_a_reply_opens_the_form_under_it_and_nests_there(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    top = rejoinder.post("blog", url, "Top level", name="Ada")["comment"]
    reply = rejoinder.post("blog", url, "First reply", name="Bob", parent_id=top["id"])["comment"]
    page.goto(url)

    own_part(page, reply["id"]).get_by_role("button", name="Reply").click()
    form = comment(page, reply["id"]).locator(".rj-respond")
    expect(form.get_by_role("heading", name="Reply to Bob")).to_be_visible()
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()

    form.get_by_role("button", name="Cancel reply").click()
    expect(page.locator(".rj-home > .rj-respond")).to_have_count(1)
    expect(page.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect(own_part(page, reply["id"]).get_by_role("button", name="Reply")).to_be_focused()

    own_part(page, reply["id"]).get_by_role("button", name="Reply").click()
    post_through_form(page, "An answer to Bob", name="Cy")
    nested = page.locator(f"#rj-comment-{reply['id']} > .rj-replies > .rj-comment")
    expect(nested.locator(".rj-body")).to_have_text("An answer to Bob")
    expect(page.locator(".rj-home > .rj-respond")).to_have_count(1)  # the form went back

    [saved] = rejoinder.thread("blog", url)["comments"]
    assert saved["replies"][0]["replies"][0]["author"]["name"] == "Cy"


def test_a_reply_past_the_sites_depth_is_shown_where_a_reload_shows_it(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article, site="depth")  # two levels: replies to replies sit beside their parent
    top = rejoinder.post("depth", url, "Top level")["comment"]
    reply = rejoinder.post("depth", url, "A reply", parent_id=top["id"])["comment"]
    page.goto(url)
    own_part(page, reply["id"]).get_by_role("button", name="Reply").click()
    post_through_form(page, "A reply to the reply")
    siblings = page.locator(f"#rj-comment-{top['id']} > .rj-replies > .rj-comment .rj-body")
    expect(siblings).to_have_text(["A reply", "A reply to the reply"])
    page.reload()
    expect(siblings).to_have_text(["A reply", "A reply to the reply"])


def test_a_like_toggles_without_reload_and_is_remembered(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    liked = rejoinder.post("blog", url, "Like me")["comment"]
    lonely = rejoinder.post("blog", url, "Nobody likes me yet")["comment"]
    for reader in ("reader-one", "reader-two"):
        rejoinder.http.put(f"/api/v1/comments/{liked['id']}/like", headers={"X-Rejoinder-Liker": reader})
    page.goto(url)
    expect(own_part(page, lonely["id"]).locator(".rj-likes")).to_have_text("Be the first to like this")
    button = own_part(page, liked["id"]).get_by_role("button", name="Like")
    count = own_part(page, liked["id"]).locator(".rj-likes")
    expect(count).to_have_text("Liked by 2 people")
    expect(button).to_have_attribute("aria-pressed", "false")

    with page.expect_response(lambda response: response.url.endswith("/like")):
        button.click()
    expect(count).to_have_text("Liked by 3 people")
    expect(button).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(count).to_have_text("Liked by 3 people")
    expect(button).to_have_attribute("aria-pressed", "true")

    with page.expect_response(lambda response: response.url.endswith("/like")):
        button.click()
    expect(count).to_have_text("Liked by 2 people")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert rejoinder.thread("blog", url)["comments"][0]["likes"] == 2


def test_the_author_edits_and_deletes_within_the_window(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    page.goto(url)
    post_through_form(page, "Frist post")
    mine = page.locator(".rj-comment").first
    mine.get_by_role("button", name="Edit").click()
    editor = page.get_by_label("Edit your comment")
    expect(editor).to_have_value("Frist post")  # the Markdown as written, kept in this browser
    editor.fill("First post, **fixed**")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".rj-body strong")).to_have_text("fixed")
    expect(mine.locator(".rj-meta")).to_contain_text("edited")
    assert "<strong>fixed</strong>" in rejoinder.thread("blog", url)["comments"][0]["html"]

    page.reload()  # the edit token survives a reload
    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Yes, delete").click()
    expect(page.locator(".rj-comment")).to_have_count(0)
    expect(page.locator(".rj-count")).to_have_text("0 comments")
    assert rejoinder.thread("blog", url)["comments"] == []


def test_a_deleted_comment_with_replies_stays_as_a_placeholder(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    page.goto(url)
    post_through_form(page, "Soon gone")
    mine_id = int(page.locator(".rj-comment").first.get_attribute("data-id") or 0)
    rejoinder.post("blog", url, "But I answered it", name="Bob", parent_id=mine_id)
    page.reload()
    own_part(page, mine_id).get_by_role("button", name="Delete").click()
    own_part(page, mine_id).get_by_role("button", name="Yes, delete").click()
    expect(own_part(page, mine_id)).to_have_text("This comment was deleted.")
    expect(comment(page, mine_id).locator(".rj-replies .rj-body")).to_have_text("But I answered it")
    page.reload()  # as the server shows it
    expect(own_part(page, mine_id)).to_have_text("This comment was deleted.")
    expect(comment(page, mine_id).locator(".rj-replies .rj-body")).to_have_text("But I answered it")


def test_the_edit_buttons_go_when_the_window_closes(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    page.goto(host.page(article, site="brief"))  # a two-second edit window
    post_through_form(page, "Quick, edit me")
    mine = page.locator(".rj-comment").first
    expect(mine.get_by_role("button", name="Edit")).to_be_visible()
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0, timeout=4000)
    expect(mine.get_by_role("button", name="Like")).to_be_visible()


def test_a_held_comment_is_shown_to_its_author_only(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder, browser: Any
) -> None:
    url = host.page(article, site="held")
    page.goto(url)
    post_through_form(page, "Please approve me")
    mine = page.locator(".rj-comment").first
    expect(mine.locator(".rj-notice")).to_have_text("Your comment is awaiting moderation.")
    expect(page.locator(".rj-status")).to_have_text("Your comment was sent and is awaiting moderation.")
    expect(page.locator(".rj-count")).to_have_text("0 comments")

    page.reload()
    expect(page.locator(".rj-comment .rj-notice")).to_have_text("Your comment is awaiting moderation.")
    expect(page.locator(".rj-comment .rj-body")).to_have_text("Please approve me")
    assert list(stored(page, "rejoinder.held.mine").values())[0]["c"]["status"] == "pending"

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(url)
        expect(other.locator(".rj-count")).to_have_text("0 comments")
        expect(other.locator(".rj-comment")).to_have_count(0)
    finally:
        stranger.close()
    assert rejoinder.thread("held", url)["comments"] == []


def test_a_late_answer_for_an_earlier_sort_is_not_shown(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    """Two sorts chosen quickly: if the first one's answer comes last, the list still shows the second."""
    url = host.page(article)
    rejoinder.post("blog", url, "First")
    third = rejoinder.post("blog", url, "Third")["comment"]
    rejoinder.http.put(f"/api/v1/comments/{third['id']}/like", headers={"X-Rejoinder-Liker": "reader-xyz"})
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(f"{rejoinder.base_url}/api/v1/comments?*sort=top*", hold)
    page.goto(url)
    bodies = page.locator(".rj-list > .rj-comment > .rj-main .rj-body")
    expect(bodies).to_have_text(["First", "Third"])
    page.get_by_label("Sort by").select_option("top")
    for _ in range(200):  # until the route has the request: on a busy machine it takes more than a moment
        if held:
            break
        page.wait_for_timeout(25)
    assert len(held) == 1  # the top-sorted page is asked for, and its answer held back
    page.get_by_label("Sort by").select_option("newest")
    expect(bodies).to_have_text(["Third", "First"])
    page.get_by_label("Sort by").select_option("oldest")
    expect(bodies).to_have_text(["First", "Third"])
    with page.expect_response(lambda response: "sort=top" in response.url):
        held[0].continue_()
    page.wait_for_timeout(300)  # time for the widget to handle the late answer
    expect(bodies).to_have_text(["First", "Third"])
    expect(page.get_by_label("Sort by")).to_have_value("oldest")


def test_sorting_paging_and_the_placeholder(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article, limit="2")
    first = rejoinder.post("blog", url, "First")["comment"]
    rejoinder.post("blog", url, "Second")
    third = rejoinder.post("blog", url, "Third")["comment"]
    rejoinder.http.put(f"/api/v1/comments/{third['id']}/like", headers={"X-Rejoinder-Liker": "reader-xyz"})
    page.goto(url)
    bodies = page.locator(".rj-list > .rj-comment > .rj-main .rj-body")
    expect(bodies).to_have_text(["First", "Second"])
    page.get_by_role("button", name="Load more comments").click()
    expect(bodies).to_have_text(["First", "Second", "Third"])
    expect(page.get_by_role("button", name="Load more comments")).to_be_hidden()

    page.get_by_label("Sort by").select_option("newest")
    expect(bodies).to_have_text(["Third", "Second"])
    page.get_by_label("Sort by").select_option("top")
    expect(bodies.first).to_have_text("Third")
    page.get_by_label("Sort by").select_option("oldest")
    expect(bodies.first).to_have_text("First")
    expect(comment(page, first["id"])).to_be_visible()
    page.screenshot(path=artifact("thread-light.png"), full_page=True)
