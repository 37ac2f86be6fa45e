"""Importing from the dashboard in Chromium against a real server, whose in-process runner runs the jobs:
an admin uploads an export, the page follows the dry run to its report, and the confirmed import to its
end. The guide's picture of the report (docs/guides/migrate.md) is taken here."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import Rejoinder
from tests.browser.test_dashboard import Desk, accounts, desk, log_in, screenshot
from tests.test_import_dashboard import SMALL_WXR

pytestmark = pytest.mark.browser
__all__ = ["accounts", "desk"]  # the fixtures this module uses from the dashboard's


def test_upload_read_the_report_confirm_and_see_it_done(page: Page, rejoinder: Rejoinder, desk: Desk) -> None:
    log_in(page, rejoinder, desk.email, then=f"/dashboard/import?site={desk.site}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import comments into")
    page.get_by_label("Export file").set_input_files(
        {"name": "blog.wordpress.xml", "mimeType": "text/xml", "buffer": SMALL_WXR.encode()}
    )
    page.get_by_role("button", name="Upload and check").click()

    # The dry run runs as a job; the page's script reloads the page when the report is ready.
    expect(page.get_by_role("heading", name="What the file holds")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-comments")).to_have_text("3")
    expect(page.locator('[data-status-count="spam"]')).to_have_text("1")
    expect(page.get_by_text("3 new comments would be written, 0 were imported before.")).to_be_visible()
    page.set_viewport_size({"width": 1000, "height": 900})
    screenshot(page, "import-review.png", full_page=True)

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported.")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("3 new comments written, 0 were imported before.")).to_be_visible()
    expect(page.get_by_role("link", name="Import another file")).to_be_visible()
