"""Posting and reading comments through the API: nesting, paging, sorting and the response shape."""

from __future__ import annotations

import httpx

from rejoinder import comments
from rejoinder.comments import Client, NewComment
from rejoinder.model import Author
from rejoinder.settings import Settings
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.helpers import ARTICLE, comment_payload, flatten, post, read


async def test_unknown_url_reads_as_an_empty_thread(client: httpx.AsyncClient, site: str) -> None:
    page = await read(client, "https://blog.example/never-commented")
    assert page == {
        "thread": {
            "url": "https://blog.example/never-commented",
            "title": None,
            "comment_count": 0,
            "closed": False,
        },
        "comments": [],
        "next_cursor": None,
    }


async def test_first_comment_creates_the_thread(client: httpx.AsyncClient, site: str) -> None:
    posted = await post(client, "First! *really*", website="https://ada.example")
    comment = posted["comment"]
    assert comment["html"] == "<p>First! <em>really</em></p>"
    assert comment["author"] == {"name": "Ada", "website": "https://ada.example"}
    assert comment["status"] == "published"
    assert posted["edit_token"]
    page = await read(client)
    assert page["thread"] == {"url": ARTICLE, "title": "Tide pools", "comment_count": 1, "closed": False}
    assert [c["id"] for c in page["comments"]] == [comment["id"]]


async def test_no_email_or_ip_in_any_response(client: httpx.AsyncClient, site: str) -> None:
    posted = await post(client, "private parts", email="secret.person@example.org")
    page = await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE})
    for text in (str(posted), page.text):
        assert "secret.person" not in text
        assert "203.0.113.7" not in text


async def test_replies_nest_under_their_parents(client: httpx.AsyncClient, site: str) -> None:
    top = (await post(client, "top"))["comment"]["id"]
    reply = (await post(client, "reply", parent_id=top))["comment"]["id"]
    reply_to_reply = (await post(client, "reply to reply", parent_id=reply))["comment"]["id"]
    second_top = (await post(client, "second top"))["comment"]["id"]
    page = await read(client)
    assert [c["id"] for c in page["comments"]] == [top, second_top]
    first = page["comments"][0]
    assert [r["id"] for r in first["replies"]] == [reply]
    assert first["replies"][0]["replies"][0]["id"] == reply_to_reply
    assert first["replies"][0]["replies"][0]["parent_id"] == reply
    assert page["thread"]["comment_count"] == 4


async def test_replies_deeper_than_the_limit_attach_to_the_deepest_allowed_ancestor(
    client: httpx.AsyncClient, site: str
) -> None:
    ids = [(await post(client, "level 1"))["comment"]["id"]]
    for level in range(2, 9):
        ids.append((await post(client, f"level {level}", parent_id=ids[-1]))["comment"]["id"])
    page = await read(client)
    depth_of: dict[int, int] = {}

    def walk(nodes: list[dict], depth: int) -> None:
        for node in nodes:
            depth_of[node["id"]] = depth
            walk(node["replies"], depth + 1)

    walk(page["comments"], 1)
    # The default maximum depth is 5: levels 6, 7 and 8 all show at level 5, under level 4, in order.
    assert [depth_of[i] for i in ids] == [1, 2, 3, 4, 5, 5, 5, 5]
    level4 = page["comments"][0]["replies"][0]["replies"][0]["replies"][0]
    assert [r["id"] for r in level4["replies"]] == ids[4:]
    assert [r["parent_id"] for r in level4["replies"]] == ids[3:7]  # the real parent is kept


async def test_pages_count_top_level_comments_with_their_replies(
    client: httpx.AsyncClient, site: str
) -> None:
    tops = []
    for i in range(5):
        tops.append((await post(client, f"top {i}"))["comment"]["id"])
        await post(client, f"reply to {i}", parent_id=tops[-1])
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await read(client, **params)
        assert len(page["comments"]) <= 2
        assert all(len(c["replies"]) == 1 for c in page["comments"])
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == tops


async def test_sort_orders(client: httpx.AsyncClient, site: str) -> None:
    a = (await post(client, "a"))["comment"]["id"]
    b = (await post(client, "b"))["comment"]["id"]
    c = (await post(client, "c"))["comment"]["id"]
    for liker in ("liker-0001", "liker-0002"):
        await client.put(f"/api/v1/comments/{b}/like", headers={"X-Rejoinder-Liker": liker})
    await client.put(f"/api/v1/comments/{c}/like", headers={"X-Rejoinder-Liker": "liker-0001"})
    assert [x["id"] for x in (await read(client, sort="oldest"))["comments"]] == [a, b, c]
    assert [x["id"] for x in (await read(client, sort="newest"))["comments"]] == [c, b, a]
    assert [x["id"] for x in (await read(client, sort="top"))["comments"]] == [b, c, a]
    top_pages = [x["id"] for x in (await read(client, sort="top", limit=1))["comments"]]
    assert top_pages == [b]


async def test_cursor_from_another_sort_is_refused(client: httpx.AsyncClient, site: str) -> None:
    for i in range(3):
        await post(client, f"c{i}")
    cursor = (await read(client, limit=1))["next_cursor"]
    response = await client.get(
        "/api/v1/comments", params={"site": site, "url": ARTICLE, "sort": "newest", "cursor": cursor}
    )
    assert response.status_code == 422
    assert "cursor" in response.json()["error"]["fields"]


async def test_urls_are_normalised_to_one_thread(client: httpx.AsyncClient, site: str) -> None:
    await post(client, "one", url="HTTPS://Blog.Example:443/2026/11/tide-pools#comments")
    await post(client, "two", url="https://blog.example/2026/11/tide-pools?utm_source=feed")
    page = await read(client)
    assert len(flatten(page["comments"])) == 2


async def test_moderated_site_holds_new_comments(client: httpx.AsyncClient, ctx, site: str) -> None:  # type: ignore[no-untyped-def]
    from rejoinder.sites import update_site

    update_site(ctx, site, moderation=True)
    posted = await post(client, "please approve me")
    assert posted["comment"]["status"] == "pending"
    page = await read(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0


async def test_a_held_comment_cannot_be_replied_to(client: httpx.AsyncClient, ctx, site: str) -> None:  # type: ignore[no-untyped-def]
    """Its readers cannot see it, so a reply would hang from nothing (what the load harness's 422s were)."""
    from rejoinder.sites import update_site

    update_site(ctx, site, moderation=True)
    held = (await post(client, "awaiting moderation"))["comment"]["id"]
    response = await client.post("/api/v1/comments", json=comment_payload("a reply", parent_id=held))
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"parent_id": "is not a published comment"}


async def test_reads_are_served_from_cache_and_writes_invalidate_it(
    client: httpx.AsyncClient, ctx, site: str
) -> None:  # type: ignore[no-untyped-def]
    await post(client, "one")
    first = await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE})
    hits = ctx.cache.hits
    again = await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE})
    assert ctx.cache.hits == hits + 1 and again.content == first.content
    not_modified = await client.get(
        "/api/v1/comments",
        params={"site": site, "url": ARTICLE},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert not_modified.status_code == 304
    await post(client, "two")
    after = await read(client)
    assert len(after["comments"]) == 2


async def test_only_pages_rebuilt_after_a_write_keep_their_comments_fragments(
    settings: Settings, site: str
) -> None:
    before = open_context(settings)  # the thread was written before this server started
    try:
        for text in ("one", "two", "three"):
            comments.post_comment(before, NewComment(site, ARTICLE, text, author=Author("Ada")), Client())
    finally:
        before.close()
    ctx = open_context(settings)
    try:
        app = create_app(settings, context=ctx)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            kept = app.state.fragments._kept
            unwritten = await read(client)
            assert len(unwritten["comments"]) == 3 and not kept  # answered whole from the read cache now
            await post(client, "four")  # a write: the thread's pages are rebuilt, so its fragments pay off
            written = await read(client)
            assert sorted(kept) == sorted(c["id"] for c in written["comments"])
    finally:
        ctx.close()
