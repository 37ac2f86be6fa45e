"""Authors editing and deleting their comments with the edit token, inside the site's edit window."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner

from rejoinder.context import Context
from rejoinder.sites import update_site
from rejoinder.store.comments import get_comment
from tests.helpers import ARTICLE, error_fields, flatten, post, read


def bearer(posted: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {posted['edit_token']}"}


def comment_url(posted: dict[str, Any]) -> str:
    return f"/api/v1/comments/{posted['comment']['id']}"


async def edit(
    client: httpx.AsyncClient, posted: dict[str, Any], body: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    headers = bearer(posted) if headers is None else headers
    return await client.patch(comment_url(posted), json={"body": body}, headers=headers)


async def delete(
    client: httpx.AsyncClient, posted: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.delete(comment_url(posted), headers=bearer(posted) if headers is None else headers)


async def count(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/v1/counts", params={"site": "test", "url": ARTICLE})
    return response.json()["counts"][ARTICLE]


@pytest.fixture
def advance_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Move the clock edit tokens are checked against ``seconds`` ahead, without waiting."""

    def advance(seconds: int) -> None:
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: int(time.time()) + seconds)

    return advance


# --- editing -------------------------------------------------------------------------------------------


async def test_an_author_edits_within_the_window(client: httpx.AsyncClient, site: str) -> None:
    posted = await post(client, "Frist!")
    response = await edit(client, posted, "First, *properly*")
    assert response.status_code == 200, response.text
    comment = response.json()["comment"]
    assert comment["html"] == "<p>First, <em>properly</em></p>"
    assert comment["id"] == posted["comment"]["id"]
    created = datetime.fromisoformat(comment["created_at"])
    assert comment["created_at"] == posted["comment"]["created_at"]
    assert comment["edited_at"] is not None and datetime.fromisoformat(comment["edited_at"]) >= created
    page = await read(client)
    shown = [(c["html"], c["edited_at"]) for c in page["comments"]]
    assert shown == [(comment["html"], comment["edited_at"])]
    assert page["thread"]["comment_count"] == 1


async def test_an_edit_must_follow_the_rules_of_a_new_comment(client: httpx.AsyncClient, site: str) -> None:
    posted = await post(client, "original")
    empty = await edit(client, posted, "  \n ")
    assert error_fields(empty, 422, "invalid_input") == {"body": "must not be empty"}
    assert set(error_fields(await edit(client, posted, "x" * 10_001), 422, "invalid_input")) == {"body"}
    assert (await read(client))["comments"][0]["html"] == "<p>original</p>"


async def test_an_edit_after_the_window_is_403(
    client: httpx.AsyncClient, site: str, advance_clock: Callable[[int], None]
) -> None:
    posted = await post(client, "original")
    advance_clock(15 * 60 + 1)
    assert set(error_fields(await edit(client, posted, "changed"), 403, "edit_window_closed")) == {
        "Authorization"
    }
    assert set(error_fields(await delete(client, posted), 403, "edit_window_closed")) == {"Authorization"}
    page = await read(client)
    assert page["comments"][0]["html"] == "<p>original</p>" and page["comments"][0]["edited_at"] is None
    assert page["thread"]["comment_count"] == 1


async def test_the_default_window_is_15_minutes(
    client: httpx.AsyncClient, site: str, advance_clock: Callable[[int], None]
) -> None:
    posted = await post(client, "original")
    created = datetime.fromisoformat(posted["comment"]["created_at"])
    assert (datetime.fromisoformat(posted["edit_until"]) - created).total_seconds() == 15 * 60
    advance_clock(15 * 60 - 1)
    assert (await edit(client, posted, "still in time")).status_code == 200


async def test_a_site_sets_its_own_window(
    client: httpx.AsyncClient, ctx: Context, site: str, advance_clock: Callable[[int], None]
) -> None:
    update_site(ctx, site, edit_window_seconds=60)
    posted = await post(client, "original")
    created = datetime.fromisoformat(posted["comment"]["created_at"])
    assert (datetime.fromisoformat(posted["edit_until"]) - created).total_seconds() == 60
    advance_clock(59)
    assert (await edit(client, posted, "in time")).status_code == 200
    advance_clock(61)
    assert set(error_fields(await edit(client, posted, "too late"), 403, "edit_window_closed")) == {
        "Authorization"
    }
    assert (await read(client))["comments"][0]["html"] == "<p>in time</p>"


async def test_a_wrong_token_is_401(client: httpx.AsyncClient, site: str) -> None:
    posted = await post(client, "original")
    tampered = posted["edit_token"][:-2] + ("AA" if not posted["edit_token"].endswith("AA") else "BB")
    for token in ("not-a-token", tampered):
        response = await edit(client, posted, "changed", headers={"Authorization": f"Bearer {token}"})
        assert error_fields(response, 401, "unauthorized") == {"Authorization": "is not a valid edit token"}
    assert (await read(client))["comments"][0]["html"] == "<p>original</p>"


async def test_the_token_of_another_comment_is_401(client: httpx.AsyncClient, site: str) -> None:
    mine = await post(client, "mine")
    theirs = await post(client, "theirs")
    response = await edit(client, theirs, "hijacked", headers=bearer(mine))
    assert error_fields(response, 401, "unauthorized") == {"Authorization": "is for another comment"}
    assert error_fields(await delete(client, theirs, headers=bearer(mine)), 401, "unauthorized")
    page = await read(client)
    assert [c["html"] for c in page["comments"]] == ["<p>mine</p>", "<p>theirs</p>"]


async def test_editing_a_comment_that_does_not_exist_is_404(client: httpx.AsyncClient, site: str) -> None:
    posted = await post(client, "original")
    response = await client.patch("/api/v1/comments/4242", json={"body": "x"}, headers=bearer(posted))
    assert set(error_fields(response, 404, "comment_not_found")) == {"comment_id"}


# --- deleting ------------------------------------------------------------------------------------------


async def test_deleting_a_comment_without_replies_removes_it(client: httpx.AsyncClient, site: str) -> None:
    keep = await post(client, "keep me")
    gone = await post(client, "delete me")
    response = await delete(client, gone)
    assert response.status_code == 204 and response.content == b""
    page = await read(client)
    assert [c["id"] for c in page["comments"]] == [keep["comment"]["id"]]
    assert page["thread"]["comment_count"] == 1
    assert await count(client) == 1


async def test_deleting_a_comment_with_replies_leaves_a_placeholder(
    client: httpx.AsyncClient, site: str
) -> None:
    top = await post(client, "top", website="https://ada.example")
    reply = await post(client, "reply", parent_id=top["comment"]["id"])
    assert (await delete(client, top)).status_code == 204
    page = await read(client)
    placeholder = page["comments"][0]
    assert placeholder["id"] == top["comment"]["id"]
    assert placeholder["status"] == "deleted"
    assert placeholder["author"] == {"name": None, "website": None}
    assert placeholder["html"] == ""
    assert [r["id"] for r in placeholder["replies"]] == [reply["comment"]["id"]]
    assert placeholder["replies"][0]["html"] == "<p>reply</p>"
    assert page["thread"]["comment_count"] == 1
    assert await count(client) == 1


async def test_a_deleted_comment_keeps_nothing_its_author_wrote(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    top = await post(
        client, "secret words", name="Ada Lovelace", email="ada@example.org", website="https://ada.example"
    )
    await post(client, "reply", parent_id=top["comment"]["id"])
    await delete(client, top)
    with ctx.db.read() as conn:
        stored = get_comment(conn, top["comment"]["id"])
    assert stored is not None
    author = stored.author
    assert (stored.body, stored.html, author.name, author.email, author.website) == ("", "", "", "", "")


async def test_a_placeholder_goes_when_its_last_reply_is_deleted(
    client: httpx.AsyncClient, site: str
) -> None:
    top = await post(client, "top")
    reply = await post(client, "reply", parent_id=top["comment"]["id"])
    reply_to_reply = await post(client, "reply to reply", parent_id=reply["comment"]["id"])
    await delete(client, top)
    await delete(client, reply)
    statuses = [c["status"] for c in flatten((await read(client))["comments"])]
    assert statuses == ["deleted", "deleted", "published"]
    await delete(client, reply_to_reply)
    page = await read(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0
    assert await count(client) == 0


async def test_a_deleted_comment_cannot_be_edited_or_deleted_again(
    client: httpx.AsyncClient, site: str
) -> None:
    posted = await post(client, "short-lived")
    assert (await delete(client, posted)).status_code == 204
    assert set(error_fields(await edit(client, posted, "back from the dead"), 404, "comment_not_found")) == {
        "comment_id"
    }
    assert set(error_fields(await delete(client, posted), 404, "comment_not_found")) == {"comment_id"}
    assert (await read(client))["thread"]["comment_count"] == 0


async def test_a_deleted_comment_cannot_be_liked_or_unliked(client: httpx.AsyncClient, site: str) -> None:
    top = await post(client, "top")
    await post(client, "reply", parent_id=top["comment"]["id"])  # keeps a placeholder in the thread
    liker = {"X-Rejoinder-Liker": "liker-0001"}
    assert (await client.put(f"{comment_url(top)}/like", headers=liker)).json() == {"likes": 1, "liked": True}
    await delete(client, top)
    for response in (
        await client.put(f"{comment_url(top)}/like", headers=liker),
        await client.delete(f"{comment_url(top)}/like", headers=liker),
    ):
        assert set(error_fields(response, 404, "comment_not_found")) == {"comment_id"}
