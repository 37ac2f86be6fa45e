"""Reporting a comment from the widget: a reason and a note reach the moderators, and enough reports (one
on this site) hold the comment."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import HostPages, Rejoinder, artifact, own_part

pytestmark = pytest.mark.browser


def test_a_reader_reports_a_comment_until_it_is_held(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article, site="reports")
    posted = rejoinder.post("reports", url, "You are all wrong about anemones", name="Troll")["comment"]
    page.goto(url)
    own_part(page, posted["id"]).get_by_role("button", name="Report").click()
    reason = page.get_by_label("Why should the moderators look at this comment?")
    expect(reason).to_be_focused()
    reason.select_option("spam")
    page.get_by_label("Anything they should know (optional)").fill("an advert for pills")
    page.screenshot(path=artifact("widget-report.png"))
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you: the moderators will look at it.")).to_have_count(1)
    assert rejoinder.thread("reports", url)["comments"] == []  # held for a moderator
    page.reload()
    expect(page.locator(".rj-count")).to_have_text("0 comments")
