"""The moderation API: the queue with its filters and pages, bulk actions and undo, moderators' edits,
the audit log and the overview's counts; and that a moderator of one site sees nothing of another."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.model import Author
from rejoinder.moderation import Decision, moderate
from rejoinder.sites import create_site
from rejoinder.store.schema import spam_training
from tests.helpers import error_fields, log_in, make_moderator, read
from tests.test_queries import statements_run

A_URL = "https://a.example/post"
B_URL = "https://b.example/post"


def _post(
    ctx: Context,
    site: str,
    url: str,
    body: str,
    *,
    email: str = "ada@example.org",
    ip: str = "198.51.100.7",
    name: str = "Ada",
    parent_id: int | None = None,
) -> int:
    new = NewComment(site, url, body, "A post", parent_id, Author(name, email))
    return post_comment(ctx, new, Client(remote_addr=ip)).comment.id


@pytest.fixture
def sites(ctx: Context) -> None:
    # Both hold every comment for a moderator; the filter stays out of these tests.
    create_site(ctx, "a", "Site A", ["https://a.example"], spam_filter=False, moderation=True)
    create_site(ctx, "b", "Site B", ["https://b.example"], spam_filter=False, moderation=True)


@pytest.fixture
async def mod_a(client: httpx.AsyncClient, ctx: Context, sites: None) -> dict[str, str]:
    """``client`` logged in as a moderator of site A only; the headers its state changes need."""
    make_moderator(ctx, "mod@a.example", "a", "moderator")
    return {"X-CSRF-Token": await log_in(client, "mod@a.example")}


async def queue(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/moderation/comments", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_held_comment_comes_with_what_a_decision_needs(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    parent = _post(ctx, "a", A_URL, "First!", email="bob@example.org", name="Bob")
    act = await client.post(
        "/api/v1/moderation/actions", json={"action": "approve", "ids": [parent]}, headers=mod_a
    )
    assert act.status_code == 200 and act.json()["done"] == [parent]
    _post(ctx, "a", A_URL, "Earlier one", email="ada@example.org")
    reply = _post(ctx, "a", A_URL, "I *disagree*", email="ada@example.org", parent_id=parent)
    found = await queue(client, status="pending")
    item = found["comments"][0]
    assert item["id"] == reply and found["next_cursor"] is None
    assert item["site"] == "a" and item["status"] == "pending"
    assert item["html"] == "<p>I <em>disagree</em></p>" and item["body"] == "I *disagree*"
    assert item["author"] == {"name": "Ada", "website": None, "email": "ada@example.org"}
    assert item["ip"] == "198.51.100.7"
    assert item["verdict"] == {"action": None, "score": None, "reasons": []}
    assert item["thread"] == {"url": A_URL, "title": "A post"}
    assert item["parent"]["id"] == parent and item["parent"]["author"]["name"] == "Bob"
    assert "email" not in item["parent"]["author"]
    history = item["author_history"]
    assert (history["approved"], history["spam"], history["deleted"]) == (0, 0, 0) and history["first_seen"]
    assert item["reports"] == []


async def test_filters_sorting_and_pages(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    ids = [
        _post(
            ctx, "a", A_URL, "buy cheap pills", email="spam@example.org", ip="192.0.2.1", name="Pill Seller"
        ),
        _post(ctx, "a", A_URL + "/2", "a 100% real comment", email="ada@example.org", ip="192.0.2.2"),
        _post(ctx, "a", "https://a.example/other", "nice post", email="bob@example.org", ip="192.0.2.3"),
    ]
    assert [c["id"] for c in (await queue(client, q="PILLS"))["comments"]] == [ids[0]]
    assert [c["id"] for c in (await queue(client, q="100%"))["comments"]] == [ids[1]]  # % is a character
    assert [c["id"] for c in (await queue(client, q="%"))["comments"]] == [ids[1]]
    assert [c["id"] for c in (await queue(client, author="seller"))["comments"]] == [ids[0]]
    assert [c["id"] for c in (await queue(client, email="BOB@example.org"))["comments"]] == [ids[2]]
    assert [c["id"] for c in (await queue(client, ip="192.0.2.2"))["comments"]] == [ids[1]]
    assert [c["id"] for c in (await queue(client, url=A_URL))["comments"]] == [ids[1], ids[0]]
    assert [c["id"] for c in (await queue(client, status="spam"))["comments"]] == []
    first = await queue(client, sort="oldest", limit=2)
    assert [c["id"] for c in first["comments"]] == ids[:2] and first["next_cursor"]
    rest = await queue(client, sort="oldest", limit=2, cursor=first["next_cursor"])
    assert [c["id"] for c in rest["comments"]] == ids[2:] and rest["next_cursor"] is None
    newest = await queue(client, limit=2)
    assert [c["id"] for c in newest["comments"]] == [ids[2], ids[1]]
    bad = await client.get("/api/v1/moderation/comments", params={"cursor": "x.1"})
    assert set(error_fields(bad, 422, "invalid_input")) == {"cursor"}
    bad = await client.get("/api/v1/moderation/comments", params={"status": "lost"})
    assert set(error_fields(bad, 422, "invalid_input")) == {"status"}


async def test_a_page_costs_the_same_queries_however_long(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    parent = _post(ctx, "a", A_URL, "parent")
    moderate(ctx, parent, Decision.APPROVE)
    counts = []
    for n in (2, 20):
        for i in range(n):
            _post(ctx, "a", A_URL, f"reply {n} {i}", email=f"r{i}@example.org", parent_id=parent)
        with statements_run(ctx) as seen:
            await queue(client, limit=100)
        counts.append(len(seen))
    assert counts[0] == counts[1]


async def test_a_moderator_of_site_a_sees_and_touches_nothing_of_site_b(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    mine = _post(ctx, "a", A_URL, "on A")
    theirs = _post(ctx, "b", B_URL, "on B")
    assert [c["id"] for c in (await queue(client))["comments"]] == [mine]
    for path, params in [
        ("/api/v1/moderation/comments", {"site": "b"}),
        ("/api/v1/moderation/audit", {"site": "b"}),
        ("/api/v1/moderation/stats", {"site": "b"}),
    ]:
        assert set(error_fields(await client.get(path, params=params), 403, "forbidden")) == {"site"}
    assert error_fields(await client.get(f"/api/v1/moderation/comments/{theirs}"), 404, "comment_not_found")
    edit = await client.patch(
        f"/api/v1/moderation/comments/{theirs}", json={"body": "mine now"}, headers=mod_a
    )
    assert error_fields(edit, 404, "comment_not_found")
    acted = await client.post(
        "/api/v1/moderation/actions", json={"action": "spam", "ids": [theirs, mine]}, headers=mod_a
    )
    assert acted.json()["done"] == [mine]
    assert acted.json()["skipped"] == [{"id": theirs, "reason": "is not a comment"}]
    all_matching = await client.post(
        "/api/v1/moderation/actions", json={"action": "approve", "filter": {"site": "b"}}, headers=mod_a
    )
    assert set(error_fields(all_matching, 403, "forbidden")) == {"site"}
    single = await client.post(
        f"/api/v1/comments/{theirs}/moderate", json={"action": "approve"}, headers=mod_a
    )
    assert error_fields(single, 404, "comment_not_found")
    export = await client.get("/api/v1/sites/b/export")
    assert set(error_fields(export, 403, "forbidden")) == {"site"}
    entries = (await client.get("/api/v1/moderation/audit")).json()["entries"]
    assert {e["site"] for e in entries} == {"a"}
    assert (await read(client, B_URL, site="b"))["comments"] == []  # B's comment is still held


async def test_bulk_approve_all_matching_then_undo(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    ids = [_post(ctx, "a", A_URL, f"comment {i}") for i in range(3)]
    other = _post(ctx, "a", A_URL + "/x", "elsewhere")
    done = await client.post(
        "/api/v1/moderation/actions",
        json={"action": "approve", "filter": {"site": "a", "url": A_URL, "status": "pending"}},
        headers=mod_a,
    )
    assert done.status_code == 200 and sorted(done.json()["done"]) == sorted(ids + [other])  # prefix match
    page = await read(client, A_URL, site="a")
    assert page["thread"]["comment_count"] == 3 and len(page["comments"]) == 3
    with ctx.db.read() as conn:
        taught = conn.execute(select(spam_training.c.item_key, spam_training.c.is_spam)).all()
    assert sorted(taught) == sorted((f"comment:{i}", False) for i in ids + [other])
    undone = await client.post("/api/v1/moderation/undo", json={"undo": done.json()["undo"]}, headers=mod_a)
    assert sorted(undone.json()["done"]) == sorted(ids + [other])
    page = await read(client, A_URL, site="a")
    assert page["thread"]["comment_count"] == 0 and page["comments"] == []
    assert len((await queue(client))["comments"]) == 4
    with ctx.db.read() as conn:  # the filter forgot what the undone approvals taught it
        assert conn.execute(select(spam_training)).all() == []
    again = await client.post("/api/v1/moderation/undo", json={"undo": done.json()["undo"]}, headers=mod_a)
    assert again.json()["done"] == [] and {s["reason"] for s in again.json()["skipped"]} == {
        "was changed again since"
    }
    forged = await client.post("/api/v1/moderation/undo", json={"undo": "forged"}, headers=mod_a)
    assert set(error_fields(forged, 422, "invalid_input")) == {"undo"}


async def test_spam_delete_and_restore_keep_counts_right(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    comment = _post(ctx, "a", A_URL, "hello")

    async def act(action: str) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/moderation/actions", json={"action": action, "ids": [comment]}, headers=mod_a
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    assert (await act("approve"))["done"] == [comment]
    assert (await read(client, A_URL, site="a"))["thread"]["comment_count"] == 1
    assert (await act("delete"))["done"] == [comment]
    assert (await read(client, A_URL, site="a"))["thread"]["comment_count"] == 0
    deleted = await queue(client, status="deleted")
    assert [c["body"] for c in deleted["comments"]] == ["hello"]  # kept, to be restored
    assert (await act("spam"))["skipped"] == [{"id": comment, "reason": "is deleted: restore it first"}]
    assert (await act("restore"))["done"] == [comment]
    assert (await read(client, A_URL, site="a"))["thread"]["comment_count"] == 1
    assert (await act("restore"))["skipped"] == [{"id": comment, "reason": "is not deleted"}]
    assert (await act("spam"))["done"] == [comment]
    assert (await queue(client, status="spam"))["comments"][0]["id"] == comment
    bad = await client.post("/api/v1/moderation/actions", json={"action": "approve"}, headers=mod_a)
    assert set(error_fields(bad, 422, "invalid_input")) == {"ids"}
    bad = await client.post(
        "/api/v1/moderation/actions", json={"action": "burn", "ids": [comment]}, headers=mod_a
    )
    assert set(error_fields(bad, 422, "invalid_input")) == {"action"}


async def test_a_moderators_edit_is_shown_audited_and_undoable(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    comment = _post(ctx, "a", A_URL, "call me at 555-0100")
    await client.post(
        "/api/v1/moderation/actions", json={"action": "approve", "ids": [comment]}, headers=mod_a
    )
    edited = await client.patch(
        f"/api/v1/moderation/comments/{comment}", json={"body": "call me [number removed]"}, headers=mod_a
    )
    assert edited.status_code == 200 and edited.json()["comment"]["edited_by_moderator"] is True
    shown = (await read(client, A_URL, site="a"))["comments"][0]
    assert shown["html"] == "<p>call me [number removed]</p>" and shown["edited_by_moderator"] is True
    entries = (await client.get("/api/v1/moderation/audit", params={"comment_id": comment})).json()["entries"]
    edit = entries[0]
    assert (edit["action"], edit["actor"], edit["site"]) == ("comment.edit", "user:mod@a.example", "a")
    assert (edit["before"], edit["after"]) == (
        {"body": "call me at 555-0100"},
        {"body": "call me [number removed]"},
    )
    assert entries[1]["action"] == "comment.approve"
    assert (entries[1]["before"], entries[1]["after"]) == ({"status": "pending"}, {"status": "published"})
    empty = await client.patch(f"/api/v1/moderation/comments/{comment}", json={"body": "  "}, headers=mod_a)
    assert set(error_fields(empty, 422, "invalid_input")) == {"body"}
    no_csrf = await client.patch(f"/api/v1/moderation/comments/{comment}", json={"body": "x"})
    assert set(error_fields(no_csrf, 403, "forbidden")) == {"csrf_token"}


async def test_the_audit_log_pages_newest_first(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    ids = [_post(ctx, "a", A_URL, f"c{i}") for i in range(3)]
    for comment in ids:
        await client.post(
            "/api/v1/moderation/actions", json={"action": "spam", "ids": [comment]}, headers=mod_a
        )
    first = (await client.get("/api/v1/moderation/audit", params={"limit": 2})).json()
    assert [e["comment_id"] for e in first["entries"]] == [ids[2], ids[1]] and first["next_cursor"]
    rest = (
        await client.get("/api/v1/moderation/audit", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [e["comment_id"] for e in rest["entries"]][:1] == [ids[0]]


async def test_stats_count_each_day(client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]) -> None:
    ids = [_post(ctx, "a", A_URL, f"c{i}") for i in range(3)]
    _post(ctx, "b", B_URL, "not counted for A")
    await client.post("/api/v1/moderation/actions", json={"action": "approve", "ids": ids[:2]}, headers=mod_a)
    await client.post("/api/v1/moderation/actions", json={"action": "spam", "ids": ids[2:]}, headers=mod_a)
    days = (await client.get("/api/v1/moderation/stats", params={"days": 7})).json()["days"]
    assert len(days) == 7 and days[0]["date"] < days[-1]["date"]
    assert days[-1] | {"date": None} == {"date": None, "comments": 3, "held": 2, "spam": 1, "approved": 2}
    assert all(d["comments"] == 0 for d in days[:-1])


def test_the_terminal_lists_shows_and_decides(
    ctx: Context, sites: None, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from rejoinder.cli import main

    held = [_post(ctx, "a", A_URL, "first held"), _post(ctx, "b", B_URL, "second held")]
    database = ["--database", settings.database_url]
    main(["mod", "list", *database])
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [c["id"] for c in listed] == held[::-1] and listed[0]["text"] == "second held"
    main(["mod", "show", str(held[0]), *database])
    shown = json.loads(capsys.readouterr().out)
    assert (shown["body"], shown["site"], shown["status"]) == ("first held", "a", "pending")
    main(["mod", "spam", str(held[0]), "999999", *database])
    out = capsys.readouterr().out
    assert f"spam: comment {held[0]}" in out and "skipped: comment 999999 is not a comment" in out
    main(["mod", "approve", str(held[1]), *database])
    assert "undo token: " in capsys.readouterr().out
    main(["mod", "list", "--status", "published", *database])
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [held[1]]
    main(["mod", "delete", str(held[1]), *database])
    capsys.readouterr()
    from rejoinder.audit import cli_actor, entries

    logged, _ = entries(ctx, cli_actor())
    assert [e.action for e in logged[:3]] == ["comment.delete", "comment.approve", "comment.spam"]
    assert all(e.actor.startswith("cli:") for e in logged[:3])


async def test_a_pinned_comment_comes_first_on_the_first_page_only(
    client: httpx.AsyncClient, ctx: Context, mod_a: dict[str, str]
) -> None:
    ids = [_post(ctx, "a", A_URL, f"comment {i}") for i in range(4)]
    for comment in ids:
        moderate(ctx, comment, Decision.APPROVE)
    reply = _post(ctx, "a", A_URL, "a reply", parent_id=ids[2])
    moderate(ctx, reply, Decision.APPROVE)
    await read(client, A_URL, site="a")  # a snapshot in memory: the pin is applied to it
    pinned = await client.post(
        "/api/v1/moderation/actions", json={"action": "pin", "ids": [ids[2], reply]}, headers=mod_a
    )
    assert pinned.json()["done"] == [ids[2]]
    assert pinned.json()["skipped"] == [
        {"id": reply, "reason": "is a reply: only top-level comments are pinned"}
    ]
    for fresh in (False, True):
        if fresh:
            ctx.cache.clear()
        first = await read(client, A_URL, site="a", limit=2)
        assert [c["id"] for c in first["comments"]] == [ids[2], ids[0], ids[1]]
        assert first["comments"][0]["pinned"] is True and [
            r["id"] for r in first["comments"][0]["replies"]
        ] == [reply]
        rest = await read(client, A_URL, site="a", limit=2, cursor=first["next_cursor"])
        assert [c["id"] for c in rest["comments"]] == [ids[3]] and rest["next_cursor"] is None
        newest = await read(client, A_URL, site="a", sort="newest")
        assert [c["id"] for c in newest["comments"]] == [ids[2], ids[3], ids[1], ids[0]]
    undone = await client.post("/api/v1/moderation/undo", json={"undo": pinned.json()["undo"]}, headers=mod_a)
    assert undone.json()["done"] == [ids[2]]
    page = await read(client, A_URL, site="a")
    assert [c["id"] for c in page["comments"]] == ids and not any("pinned" in c for c in page["comments"])
