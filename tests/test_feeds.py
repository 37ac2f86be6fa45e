"""Atom feeds of a site's and a thread's newest published comments, read with feedparser."""

from __future__ import annotations

import feedparser
import httpx

from tests.helpers import ARTICLE, error_fields, post

OTHER = "https://blog.example/2026/12/anemones"


async def test_the_site_feed_has_the_newest_published_comments_and_no_private_data(
    client: httpx.AsyncClient, site: str
) -> None:
    first = await post(client, "Tide pools are *wonderful*", name="Ada", website="https://ada.example")
    await post(client, "Anemones!", url=OTHER, name="Bob", email="bob@example.org")
    gone = await post(client, "Soon deleted", email="carol@example.org")
    deleted = await client.delete(
        f"/api/v1/comments/{gone['comment']['id']}", headers={"Authorization": f"Bearer {gone['edit_token']}"}
    )
    assert deleted.status_code == 204

    response = await client.get("/feeds/test.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    for private in (b"@example.org", b"203.0.113.7", b"Soon deleted"):  # e-mails, the client address
        assert private not in response.content
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Comments on Test blog"
    assert [e.author for e in parsed.entries] == ["Bob", "Ada"]  # newest first
    ada = parsed.entries[1]
    assert ada.link == f"{ARTICLE}#rj-comment-{first['comment']['id']}"
    assert ada.title == "Ada on Tide pools"
    assert ada.author_detail.href == "https://ada.example"
    assert ada.content[0].value == "<p>Tide pools are <em>wonderful</em></p>"
    assert ada.id.endswith(f"test/comment/{first['comment']['id']}")


async def test_the_thread_feed_has_only_that_threads_comments(client: httpx.AsyncClient, site: str) -> None:
    await post(client, "Here", name="Ada")
    await post(client, "Elsewhere", url=OTHER, name="Bob")
    response = await client.get("/feeds/test/thread.atom", params={"url": ARTICLE})
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    assert [e.summary for e in parsed.entries] == ["<p>Here</p>"]
    assert any(link.href == ARTICLE and link.rel == "alternate" for link in parsed.feed.links)


async def test_feeds_of_unknown_sites_and_pages_are_404_naming_the_field(
    client: httpx.AsyncClient, site: str
) -> None:
    assert error_fields(await client.get("/feeds/nosuch.atom"), 404, "unknown_site") == {
        "site": "is not a site on this server"
    }
    missing = await client.get("/feeds/test/thread.atom", params={"url": "https://blog.example/never"})
    assert error_fields(missing, 404, "not_found") == {"url": "has no thread on this site"}
    bad = await client.get("/feeds/test/thread.atom", params={"url": "javascript:alert(1)"})
    assert "url" in error_fields(bad, 422, "invalid_input")
