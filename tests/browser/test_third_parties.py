"""Nothing Rejoinder serves makes a browser fetch anything from a third party: every page of the server
(followed from its front page and its data pages, the API docs included) and a host page with the widget
are loaded in Chromium, and every request any of them made is checked. The same crawl counts the
violations of each page's Content-Security-Policy (a page-level hook): none, so nothing on Rejoinder's own
pages needs ``unsafe-inline`` or a source the policy does not name."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.support import HostPages, Rejoinder

pytestmark = pytest.mark.browser

MAX_PAGES = 40
START_PAGES = ["/", "/api/docs", "/privacy/blog", "/privacy/blog?lang=uk", "/privacy/blog?lang=de"]
COUNT_CSP_VIOLATIONS = """
window.rjViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.rjViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));
"""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_no_page_or_asset_fetches_from_a_third_party(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(COUNT_CSP_VIOLATIONS)
    violations: dict[str, list[str]] = {}
    own = origin(rejoinder.base_url)
    queue = [rejoinder.base_url + path for path in START_PAGES]
    visited: set[str] = set()
    statuses: dict[str, int] = {}
    while queue and len(visited) < MAX_PAGES:
        url = queue.pop(0).split("#")[0]
        if url in visited:
            continue
        visited.add(url)
        response = page.goto(url, wait_until="networkidle")
        statuses[url] = response.status if response else 0
        if broken := page.evaluate("window.rjViolations"):
            violations[url] = broken
        links: list[Any] = page.eval_on_selector_all("a[href]", "all => all.map(a => a.href)")
        queue += [link for link in links if origin(urljoin(url, link)) == own and link not in visited]
    page.goto(host.page(article), wait_until="networkidle")
    page.locator(".rj-count").wait_for()

    # The front page links the demo, which only `rejoinder demo` mounts: 404 under `rejoinder serve`.
    started = {path: statuses[rejoinder.base_url + path] for path in START_PAGES}
    assert started == dict.fromkeys(START_PAGES, 200)
    assert [url for url, status in statuses.items() if status not in (200, 404)] == []
    assert violations == {}, f"Content-Security-Policy violations: {violations}"
    foreign = sorted(
        {u for u in requested if not u.startswith(("blob:", "data:")) and origin(u) not in (own, host.origin)}
    )
    assert foreign == [], f"fetched from third parties: {foreign}"
    assert any(u.endswith("/api/docs/assets/swagger-ui-bundle.js") for u in requested)
