"""Themes, languages and the comment-count mode for index pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import HostPages, Rejoinder, artifact, own_part

pytestmark = pytest.mark.browser


def colour_of(page: Page, selector: str, prop: str) -> tuple[int, ...]:
    value = page.eval_on_selector(selector, f"el => getComputedStyle(el).{prop}")
    return tuple(int(float(part)) for part in value[value.index("(") + 1 : -1].split(",")[:3])


def is_dark(rgb: tuple[int, ...]) -> bool:
    return sum(rgb) / 3 < 100


def test_the_dark_theme_follows_the_reader_unless_the_site_chooses(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article)
    rejoinder.post("blog", url, "Reading in the dark", name="Owl")
    page.emulate_media(color_scheme="dark")
    page.goto(url)
    expect(page.locator(".rj-root")).to_have_class("rj-root rj-dark")
    assert is_dark(colour_of(page, ".rj-respond", "backgroundColor"))
    assert not is_dark(colour_of(page, ".rj-root", "color"))
    page.locator(".rj-root").screenshot(path=artifact("thread-dark.png"))

    page.emulate_media(color_scheme="light")  # the reader switches: the widget follows at once
    expect(page.locator(".rj-root")).to_have_class("rj-root")
    assert not is_dark(colour_of(page, ".rj-respond", "backgroundColor"))

    page.goto(host.page(article + "-forced", theme="dark"))
    expect(page.locator(".rj-root")).to_have_class("rj-root rj-dark")
    page.emulate_media(color_scheme="dark")
    page.goto(host.page(article + "-light", theme="light"))
    expect(page.locator(".rj-root")).to_have_class("rj-root")


# What blog themes typically say about forms, buttons and articles.
HOST_THEME = """<style>
  input[type="text"], input[type="email"], textarea { margin: 30px 0; border: 5px solid red; }
  input { width: 100%; } button { margin: 20px; background: green; text-transform: uppercase; }
  label { display: block; font-weight: 900; } article { padding: 40px; border: 3px solid blue; }
  .rj-root { --rj-accent: rgb(200, 0, 0); }
</style>"""


def test_the_host_pages_theme_neither_breaks_the_widget_nor_is_needed_to_theme_it(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article, body=HOST_THEME)
    rejoinder.post("blog", url, "Styled by someone else")
    page.goto(url)
    # The site's custom property wins; the theme's element rules do not.
    expect(page.locator(".rj-submit")).to_have_css("background-color", "rgb(200, 0, 0)")
    expect(page.locator(".rj-submit")).to_have_css("text-transform", "none")
    expect(page.locator(".rj-submit")).to_have_css("margin-top", "0px")
    expect(page.locator("#rj-f-name")).to_have_css("margin-top", "0px")
    expect(page.locator("#rj-f-name")).to_have_css("border-top-width", "1px")
    expect(page.locator("#rj-f-remember")).not_to_have_css("width", "100%")
    expect(page.locator(".rj-comment")).to_have_css("padding-top", "0px")


def test_the_language_comes_from_data_lang_or_the_page(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    url = host.page(article, html_lang="uk")
    for n in range(3):
        rejoinder.post("blog", url, f"Коментар {n}", name="Оксана")
    page.goto(url)
    expect(page.locator(".rj-count")).to_have_text("3 коментарі")
    expect(page.get_by_role("heading", name="Залишити відповідь")).to_be_visible()
    expect(page.get_by_role("button", name="Надіслати коментар")).to_be_visible()
    expect(page.locator(".rj-likes").first).to_have_text("Будьте першим, кому це сподобається")
    expect(page.get_by_label("Ел. пошта (ніколи не показується публічно)")).to_be_visible()
    expect(page.locator(".rj-root")).to_have_attribute("lang", "uk")

    host.page(article, html_lang="uk", lang="de")  # data-lang wins over the page's language
    page.goto(url)
    expect(page.locator(".rj-count")).to_have_text("3 Kommentare")
    expect(page.get_by_role("heading", name="Schreibe einen Kommentar")).to_be_visible()
    first = page.locator(".rj-comment").first
    first.get_by_role("button", name="Gefällt mir").click()
    expect(first.locator(".rj-likes")).to_have_text("Gefällt 1 Person")
    page.get_by_role("button", name="Kommentar abschicken").click()
    expect(page.locator("#rj-f-body-error")).to_have_text("Bitte schreibe einen Kommentar.")

    host.page(article, html_lang="fr-CA")  # no French yet: English
    page.goto(url)
    expect(page.locator(".rj-count")).to_have_text("3 comments")
    expect(own_part(page, int(first.get_attribute("data-id") or 0)).locator(".rj-likes")).to_have_text(
        "Liked by 1 person"
    )


def test_an_index_page_gets_every_count_in_one_request(
    page: Page, host: HostPages, article: str, rejoinder: Rejoinder
) -> None:
    posts = {name: f"{host.origin}{article}/{name}" for name in ("two", "one", "none")}
    for _ in range(2):
        rejoinder.post("blog", posts["two"], "Counted")
    rejoinder.post("blog", posts["one"], "Counted once")
    links = "".join(
        f'<li><a href="{url}">{name}</a> <a href="{url}#comments" data-rejoinder-count>…</a></li>'
        for name, url in posts.items()
    )
    index = host.page(article, thread=False, body=f"<ul>{links}</ul>", lang="en")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(index)
    expect(page.locator("[data-rejoinder-count]")).to_have_text(["2 comments", "1 comment", "0 comments"])
    api = [url for url in asked if "/api/" in url]
    assert len(api) == 1 and "/api/v1/counts?" in api[0], api
    assert not [url for url in asked if url.endswith("/embed.css")]  # no thread here, no styles
