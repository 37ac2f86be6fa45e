"""What readers see of a thread after moderation: replies under a comment that was later held, spammed or
deleted stay visible under a placeholder, counts agree with what is listed, and an approved comment edited
on a pre-moderated site waits for a moderator again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.moderation import Decision, moderate
from rejoinder.sites import update_site
from tests.helpers import ARTICLE, flatten, post, read


def listed(page: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(c["id"], c["status"], c["html"]) for c in flatten(page["comments"])]


def published_listed(page: dict[str, Any]) -> int:
    return sum(1 for c in flatten(page["comments"]) if c["status"] == "published")


@pytest.mark.parametrize("decision", [Decision.SPAM, Decision.DELETE])
async def test_replies_stay_under_a_placeholder_when_a_moderator_removes_their_parent(
    client: httpx.AsyncClient, ctx: Context, site: str, decision: Decision
) -> None:
    parent = (await post(client, "A claim"))["comment"]["id"]
    reply = (await post(client, "A reply", parent_id=parent))["comment"]["id"]
    deeper = (await post(client, "Deeper", parent_id=reply))["comment"]["id"]
    await read(client)  # the thread is now a snapshot in memory: the change is applied to it
    moderate(ctx, parent, decision)
    for page in (await read(client), await read(client, limit=10)):  # the snapshot, and a fresh read
        assert listed(page) == [
            (parent, "deleted", ""),
            (reply, "published", "<p>A reply</p>"),
            (deeper, "published", "<p>Deeper</p>"),
        ]
        assert page["comments"][0]["author"] == {"name": None, "website": None}
        assert page["thread"]["comment_count"] == published_listed(page) == 2
    ctx.cache.clear()
    page = await read(client)  # from the database
    assert listed(page)[0] == (parent, "deleted", "") and page["thread"]["comment_count"] == 2


async def test_a_held_parent_without_replies_is_not_listed(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    lonely = (await post(client, "Alone"))["comment"]["id"]
    parent = (await post(client, "Parent"))["comment"]["id"]
    reply = (await post(client, "Reply", parent_id=parent))["comment"]["id"]
    await read(client)
    moderate(ctx, lonely, Decision.SPAM)
    moderate(ctx, reply, Decision.SPAM)  # the reply goes: the parent is a plain comment again
    page = await read(client)
    assert listed(page) == [(parent, "published", "<p>Parent</p>")]
    assert page["thread"]["comment_count"] == 1


async def test_an_author_editing_a_parent_into_spam_keeps_its_replies_visible(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    from rejoinder.sites import create_site
    from tests.conftest import SITE_ORIGIN

    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], min_submit_seconds=0, pow="off", spam_hold=0.99)
    parent = await post(client, "A fair point about tide pools")
    reply = (await post(client, "I agree", parent_id=parent["comment"]["id"]))["comment"]["id"]
    await read(client)
    update_site(ctx, "test", banned_words=["casino"])  # the edit will be spam
    edited = await client.patch(
        f"/api/v1/comments/{parent['comment']['id']}",
        json={"body": "casino casino casino"},
        headers={"Authorization": f"Bearer {parent['edit_token']}"},
    )
    assert edited.json()["comment"]["status"] == "spam"
    page = await read(client)
    assert [(c["id"], c["status"]) for c in flatten(page["comments"])] == [
        (parent["comment"]["id"], "deleted"),
        (reply, "published"),
    ]
    assert "casino" not in str(page) and page["thread"]["comment_count"] == 1


async def test_an_approved_comment_edited_on_a_premoderated_site_waits_again(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    update_site(ctx, site, moderation=True)
    posted = await post(client, "Nice article")
    assert posted["comment"]["status"] == "pending"
    moderate(ctx, posted["comment"]["id"], Decision.APPROVE)
    assert (await read(client))["thread"]["comment_count"] == 1
    edited = await client.patch(
        f"/api/v1/comments/{posted['comment']['id']}",
        json={"body": "Buy followers at example.com"},
        headers={"Authorization": f"Bearer {posted['edit_token']}"},
    )
    assert edited.status_code == 200 and edited.json()["comment"]["status"] == "pending"
    page = await read(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0
    counts = (await client.get("/api/v1/counts", params={"site": site, "url": ARTICLE})).json()["counts"]
    assert counts[ARTICLE] == 0


async def test_a_site_may_let_approved_comments_be_edited_freely(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    update_site(ctx, site, moderation=True, requeue_edits=False)
    posted = await post(client, "Nice article")
    moderate(ctx, posted["comment"]["id"], Decision.APPROVE)
    edited = await client.patch(
        f"/api/v1/comments/{posted['comment']['id']}",
        json={"body": "Nice article, and a typo fixed"},
        headers={"Authorization": f"Bearer {posted['edit_token']}"},
    )
    assert edited.json()["comment"]["status"] == "published"
    assert (await read(client))["thread"]["comment_count"] == 1
