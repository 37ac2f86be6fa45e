"""Readers' reports: one per reader and comment, rate-limited, held at the site's threshold, listed in
the Reported queue with their reasons, settled by a moderator's decision."""

from __future__ import annotations

import httpx
import pytest

from rejoinder.context import Context
from rejoinder.sites import create_site, update_site
from rejoinder.web.app import create_app
from tests.helpers import error_fields, log_in, make_moderator, post, read

ARTICLE = "https://blog.example/2026/11/tide-pools"


async def report(
    app: object, comment_id: int, ip: str, reason: str = "spam", text: str = ""
) -> httpx.Response:
    """A report from a reader at ``ip`` (each address is another reader)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as reader:
        return await reader.post(
            f"/api/v1/comments/{comment_id}/report", json={"reason": reason, "text": text}
        )


async def test_enough_reports_hold_a_comment_for_a_moderator(
    client: httpx.AsyncClient, app: object, ctx: Context, site: str
) -> None:
    update_site(ctx, site, report_threshold=2)
    comment = (await post(client, "Buy my book"))["comment"]["id"]
    first = await report(app, comment, "198.51.100.1", "spam", "an advert")
    assert first.status_code == 201 and first.json() == {"received": True}
    again = await report(app, comment, "198.51.100.1", "abuse")  # the same reader twice counts once
    assert again.status_code == 201
    assert (await read(client))["thread"]["comment_count"] == 1
    await report(app, comment, "198.51.100.2", "off-topic")
    page = await read(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0
    assert error_fields(await report(app, comment, "198.51.100.3"), 404, "comment_not_found")

    make_moderator(ctx, "mod@example.org", site)
    csrf = await log_in(client, "mod@example.org")
    reported = (await client.get("/api/v1/moderation/comments", params={"status": "reported"})).json()
    item = reported["comments"][0]
    assert item["id"] == comment and item["status"] == "pending"
    assert [(r["reason"], r["text"], r["resolved"]) for r in item["reports"]] == [
        ("spam", "an advert", False),
        ("off-topic", "", False),
    ]
    held = (await client.get("/api/v1/moderation/comments", params={"status": "pending"})).json()["comments"]
    assert [c["id"] for c in held] == [comment]
    entries = (await client.get("/api/v1/moderation/audit", params={"comment_id": comment})).json()["entries"]
    assert [(e["actor"], e["action"]) for e in entries] == [("readers", "comment.hold")]
    done = await client.post(
        "/api/v1/moderation/actions",
        json={"action": "approve", "ids": [comment]},
        headers={"X-CSRF-Token": csrf},
    )
    assert done.json()["done"] == [comment]
    assert (await client.get("/api/v1/moderation/comments", params={"status": "reported"})).json()[
        "comments"
    ] == []
    assert (await read(client))["thread"]["comment_count"] == 1


async def test_a_threshold_of_zero_never_holds(
    client: httpx.AsyncClient, app: object, ctx: Context, site: str
) -> None:
    update_site(ctx, site, report_threshold=0)
    comment = (await post(client, "Fine"))["comment"]["id"]
    for n in range(4):
        await report(app, comment, f"198.51.100.{n}")
    assert (await read(client))["thread"]["comment_count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "boring"}, "reason"),
        ({"reason": "spam", "text": "x" * 1001}, "text"),
        ({"reason": "spam", "text": "bell\u0007"}, "text"),
        ({}, "reason"),
    ],
)
async def test_bad_reports_name_the_field(
    client: httpx.AsyncClient, site: str, body: dict[str, str], field: str
) -> None:
    comment = (await post(client, "Fine"))["comment"]["id"]
    response = await client.post(f"/api/v1/comments/{comment}/report", json=body)
    assert field in error_fields(response, 422, "invalid_input")


async def test_reports_are_rate_limited_per_address(
    client: httpx.AsyncClient, ctx: Context, site: str, steady_rate_windows: None
) -> None:
    update_site(ctx, site, report_threshold=0)
    ids = [(await post(client, f"comment {n}"))["comment"]["id"] for n in range(6)]
    statuses = [
        (await client.post(f"/api/v1/comments/{i}/report", json={"reason": "spam"})).status_code for i in ids
    ]
    assert statuses == [201] * 5 + [429]


async def test_a_report_from_another_sites_origin_is_refused(
    ctx: Context, settings: object, site: str
) -> None:
    create_site(ctx, "other", "Other", ["https://other.example"])
    app = create_app(settings, context=ctx)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        comment = (await post(http, "Fine"))["comment"]["id"]
        response = await http.post(
            f"/api/v1/comments/{comment}/report",
            json={"reason": "spam"},
            headers={"Origin": "https://other.example"},
        )
    assert "Origin" in error_fields(response, 403, "origin_not_allowed")
