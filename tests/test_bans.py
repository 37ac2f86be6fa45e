"""Bans by e-mail, address, network and link domain, with reason and expiry, enforced when comments are
posted and edited; marking the author's held comments as spam; the lists the spam filter reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from rejoinder import bans
from rejoinder.audit import cli_actor
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.model import Author
from rejoinder.sites import create_site, get_site, update_site
from rejoinder.store import bans as ban_store
from tests.helpers import comment_payload, error_fields, log_in, make_moderator, post, read


@pytest.fixture
async def moderator(client: httpx.AsyncClient, ctx: Context, site: str) -> dict[str, str]:
    make_moderator(ctx, "mod@example.org", site)
    return {"X-CSRF-Token": await log_in(client, "mod@example.org")}


async def ban(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return await client.post("/api/v1/moderation/bans", json={"site": "test", **body}, headers=headers)


@pytest.mark.parametrize(
    ("kind", "value", "payload", "field"),
    [
        (
            "email",
            "Troll@Example.org",
            {"author": {"name": "T", "email": "troll@example.org"}},
            "author.email",
        ),
        ("ip", "203.0.113.7", {}, "client"),  # the test client's address
        ("network", "203.0.113.0/24", {}, "client"),
        ("domain", "pills.example", {"body": "cheap at https://shop.pills.example/buy"}, "body"),
    ],
)
async def test_a_ban_refuses_the_comments_it_covers(
    client: httpx.AsyncClient,
    moderator: dict[str, str],
    kind: str,
    value: str,
    payload: dict[str, object],
    field: str,
) -> None:
    made = await ban(client, moderator, kind=kind, value=value, reason="repeated abuse")
    assert made.status_code == 201, made.text
    assert made.json()["ban"]["created_by"] == "user:mod@example.org"
    response = await client.post("/api/v1/comments", json={**comment_payload("hello"), **payload})
    assert error_fields(response, 403, "banned") == {field: f"is banned on this site ({kind})"}
    assert "repeated abuse" not in response.text  # the reason is for moderators only
    await client.delete(f"/api/v1/moderation/bans/{made.json()['ban']['id']}", headers=moderator)
    again = await client.post("/api/v1/comments", json={**comment_payload("hello"), **payload})
    assert again.status_code == 201


def test_only_live_bans_refuse(ctx: Context, site: str) -> None:
    now = datetime.now(UTC)
    the_site = get_site(ctx, site)
    for value, expires in (
        ("old@example.org", now - timedelta(seconds=1)),
        ("new@example.org", now + timedelta(hours=1)),
    ):
        with ctx.db.write() as conn:  # the store takes any expiry; the service refuses past ones
            ban_store.insert_ban(
                conn, site_id=the_site.id, kind="email", value=value, reason="", created_by="test", now=now,
                expires_at=expires,
            )  # fmt: skip
    bans.check_bans(ctx, the_site, Author("Old", "old@example.org"), "", "hi")
    with pytest.raises(bans.Banned):
        bans.check_bans(ctx, the_site, Author("New", "NEW@example.org"), "", "hi")


async def test_an_edit_that_links_a_banned_domain_is_refused(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    posted = await post(client, "Fine words")
    bans.create_ban(ctx, cli_actor(), site, "domain", "pills.example")
    edited = await client.patch(
        f"/api/v1/comments/{posted['comment']['id']}",
        json={"body": "now see https://pills.example"},
        headers={"Authorization": f"Bearer {posted['edit_token']}"},
    )
    assert error_fields(edited, 403, "banned") == {"body": "is banned on this site (domain)"}


async def test_a_ban_can_mark_the_authors_held_comments_as_spam(
    client: httpx.AsyncClient, ctx: Context, site: str, moderator: dict[str, str]
) -> None:
    update_site(ctx, site, moderation=True)
    held = [(await post(client, f"held {n}", email="troll@example.org"))["comment"]["id"] for n in range(2)]
    other = (await post(client, "someone else", email="ada@example.org"))["comment"]["id"]
    made = await ban(client, moderator, kind="email", value="troll@example.org", mark_held_as_spam=True)
    assert sorted(made.json()["marked_as_spam"]) == sorted(held)
    spam = (await client.get("/api/v1/moderation/comments", params={"status": "spam"})).json()["comments"]
    assert sorted(c["id"] for c in spam) == sorted(held)
    pending = (await client.get("/api/v1/moderation/comments")).json()["comments"]
    assert [c["id"] for c in pending] == [other]
    entries = (await client.get("/api/v1/moderation/audit")).json()["entries"]
    assert [e["action"] for e in entries][:3] == ["comment.spam", "comment.spam", "ban.create"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "email", "value": "not an address"}, "value"),
        ({"kind": "ip", "value": "300.1.1.1"}, "value"),
        ({"kind": "network", "value": "10.0.0.0/99"}, "value"),
        ({"kind": "domain", "value": "no spaces.example"}, "value"),
        ({"kind": "domain", "value": "localhost"}, "value"),
        ({"kind": "nickname", "value": "x"}, "kind"),
        ({"kind": "ip", "value": "192.0.2.1", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"kind": "ip", "value": "192.0.2.1", "site": "nowhere"}, "site"),
    ],
)
async def test_bad_bans_name_the_field(
    client: httpx.AsyncClient, moderator: dict[str, str], body: dict[str, str], field: str
) -> None:
    response = await ban(client, moderator, **body)
    assert response.status_code in (404, 422) and field in response.json()["error"]["fields"]


async def test_bans_of_another_site_are_out_of_reach(
    client: httpx.AsyncClient, ctx: Context, moderator: dict[str, str]
) -> None:
    create_site(ctx, "other", "Other")
    theirs = bans.create_ban(ctx, cli_actor(), "other", "ip", "192.0.2.1").ban
    assert set(
        error_fields(
            await ban(client, moderator, site="other", kind="ip", value="192.0.2.2"), 403, "forbidden"
        )
    ) == {"site"}
    assert (await client.get("/api/v1/moderation/bans")).json()["bans"] == []
    lifted = await client.delete(f"/api/v1/moderation/bans/{theirs.id}", headers=moderator)
    assert error_fields(lifted, 404, "not_found")
    listed = await client.get("/api/v1/moderation/lists/words", params={"site": "other"})
    assert set(error_fields(listed, 403, "forbidden")) == {"site"}


async def test_the_lists_the_filter_reads_are_read_and_replaced(
    client: httpx.AsyncClient, ctx: Context, site: str, moderator: dict[str, str]
) -> None:
    url = "/api/v1/moderation/lists/words"
    assert (await client.get(url, params={"site": site})).json()["entries"] == []
    put = await client.put(
        url, params={"site": site}, json={"entries": [" casino ", "", "casino", "viagra"]}, headers=moderator
    )
    assert put.json()["entries"] == ["casino", "viagra"]
    assert (await client.get(url, params={"site": site})).json()["entries"] == ["casino", "viagra"]
    bad = await client.put(
        "/api/v1/moderation/lists/ips",
        params={"site": site},
        json={"entries": ["not-a-network"]},
        headers=moderator,
    )
    assert set(error_fields(bad, 422, "invalid_input")) == {"entries"}
    entries = (await client.get("/api/v1/moderation/audit")).json()["entries"]
    change = entries[0]
    assert (change["action"], change["before"], change["after"]) == (
        "settings.change",
        {"banned_words": None},
        {"banned_words": ["casino", "viagra"]},
    )
    update_site(ctx, site, spam_filter=True, min_submit_seconds=0, pow="off")
    spammed = await post(client, "Try our casino tonight")
    assert spammed["comment"]["status"] == "spam"
    assert (await read(client))["comments"] == []


def test_normalised_values() -> None:
    assert bans.normalise("email", " Ada@Example.ORG ") == "ada@example.org"
    assert bans.normalise("network", "10.1.2.3/8") == "10.0.0.0/8"
    assert bans.normalise("domain", "*.Spam.Example.") == "spam.example"
    assert bans.normalise("domain", "bücher.example") == "xn--bcher-kva.example"
    with pytest.raises(InvalidInput):
        bans.normalise("ip", "1.2.3")
