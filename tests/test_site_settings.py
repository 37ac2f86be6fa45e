"""Site settings declared once: checked by name with their rule, documented from the declaration, served
with it to the settings page, and followed by the site (pre-moderation, closing old threads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.moderation import Decision, moderate
from rejoinder.sites import get_site, site_settings, update_site
from rejoinder.sitesettings import SiteSettings, check, describe, site_settings_reference
from rejoinder.store.schema import threads
from tests.helpers import error_fields, log_in, make_moderator, post, read

DOC = Path(__file__).resolve().parents[1] / "docs" / "reference" / "site-settings.md"


def test_the_doc_is_generated_from_the_declaration() -> None:
    """Regenerate with ``rejoinder settings-doc --site`` (keep the intro) when this fails."""
    doc = DOC.read_text(encoding="utf-8")
    assert site_settings_reference() in doc
    for name, field in SiteSettings.model_fields.items():
        assert f"| `{name}` |" in doc and field.description, name


def test_every_setting_has_a_rule_and_help() -> None:
    for field in describe():
        assert field["help"] and field["rule"].startswith("must"), field["name"]
        assert field["type"] in ("boolean", "integer", "number", "string", "list", "choice")
    premoderation = next(f for f in describe() if f["name"] == "premoderation")
    assert premoderation["choices"] == ["none", "first", "all"] and premoderation["default"] == "none"


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"max_depth": 1}, {"max_depth": "must be a whole number between 2 and 20"}),
        ({"max_depth": "3"}, {"max_depth": "must be a whole number between 2 and 20"}),
        ({"premoderation": "some"}, {"premoderation": "must be one of none, first, all"}),
        ({"spam_hold": 0}, {"spam_hold": "must be a probability above 0 and at most 1"}),
        ({"requeue_edits": "yes"}, {"requeue_edits": "must be true or false"}),
        ({"rate_limit_ip": "lots"}, {"rate_limit_ip": "must be limits like '6/minute;40/hour', or 'off'"}),
        ({"banned_ips": ["10.0.0.0/99"]}, {"banned_ips": "must be a list of addresses or networks"}),
        ({"banned_words": "casino"}, {"banned_words": "must be a list of strings"}),
        ({"colour": "red"}, {"colour": "is not a site setting"}),
        ({"close_after_days": -1, "pow": "maybe"}, {
            "close_after_days": "must be a whole number of days, 0 for never",
            "pow": "must be one of always, doubtful, off",
        }),
    ],
)  # fmt: skip
def test_bad_values_are_refused_naming_the_setting_and_its_rule(
    changes: dict[str, object], problems: dict[str, str]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check(changes)
    assert refused.value.fields == problems


def test_settings_from_before_keep_their_meaning(ctx: Context, site: str) -> None:
    legacy = SiteSettings.from_stored({"moderation": True}, max_depth=5, edit_window_seconds=900)
    assert legacy.premoderation == "all" and legacy.moderation
    assert check({"moderation": False}) == {"premoderation": "none"}
    update_site(ctx, site, moderation=True)
    assert get_site(ctx, site).settings.get("premoderation") == "all"


async def test_first_comments_of_new_authors_wait(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    update_site(ctx, site, premoderation="first")
    first = await post(client, "Hello, first time here", email="new@example.org")
    assert first["comment"]["status"] == "pending"
    moderate(ctx, first["comment"]["id"], Decision.APPROVE)
    second = await post(client, "Back again", email="new@example.org")
    assert second["comment"]["status"] == "published"
    anonymous = await post(client, "Who am I", email="")
    assert anonymous["comment"]["status"] == "pending"


async def test_threads_close_after_the_sites_number_of_days(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    await post(client, "Early")
    update_site(ctx, site, close_after_days=30)
    assert (await read(client))["thread"]["closed"] is False
    with ctx.db.write() as conn:
        conn.execute(update(threads).values(created_at=datetime.now(UTC) - timedelta(days=31)))
    ctx.cache.clear()
    assert (await read(client))["thread"]["closed"] is True
    late = await client.post(
        "/api/v1/comments",
        json={"site": site, "url": "https://blog.example/2026/11/tide-pools", "body": "Late"},
    )
    assert error_fields(late, 403, "thread_closed") == {"url": "is a closed thread"}
    form = (await client.get("/api/v1/form", params={"site": site})).json()
    assert form["site"]["premoderation"] == "none"


async def test_the_settings_api_serves_values_with_their_declaration(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "admin@example.org", site, "admin")
    csrf = {"X-CSRF-Token": await log_in(client, "admin@example.org")}
    url = f"/api/v1/moderation/sites/{site}/settings"
    found = (await client.get(url)).json()
    assert found["settings"]["premoderation"] == "none" and found["settings"]["allowed_origins"] == [
        "https://blog.example"
    ]
    assert found["settings"]["max_depth"] == ctx.settings.default_max_depth
    names = [f["name"] for f in found["fields"]]
    assert names[:2] == ["name", "allowed_origins"] and set(SiteSettings.model_fields) <= set(names)
    changed = await client.patch(
        url,
        json={
            "settings": {
                "premoderation": "all",
                "report_threshold": 5,
                "allowed_origins": ["https://new.example"],
            }
        },
        headers=csrf,
    )
    assert changed.status_code == 200, changed.text
    values = changed.json()["settings"]
    assert (values["premoderation"], values["report_threshold"], values["allowed_origins"]) == (
        "all",
        5,
        ["https://new.example"],
    )
    assert site_settings(ctx, get_site(ctx, site)).premoderation == "all"
    bad = await client.patch(
        url, json={"settings": {"premoderation": "maybe", "max_depth": 99}}, headers=csrf
    )
    assert set(error_fields(bad, 422, "invalid_input")) == {"premoderation", "max_depth"}
    assert (
        site_settings(ctx, get_site(ctx, site)).max_depth == ctx.settings.default_max_depth
    )  # nothing changed
    entry = (await client.get("/api/v1/moderation/audit")).json()["entries"][0]
    assert entry["action"] == "settings.change" and entry["actor"] == "user:admin@example.org"
    assert entry["after"] == {
        "allowed_origins": ["https://new.example"],
        "premoderation": "all",
        "report_threshold": 5,
    }


async def test_moderators_read_settings_but_only_admins_change_them(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    make_moderator(ctx, "mod@example.org", site, "moderator")
    csrf = {"X-CSRF-Token": await log_in(client, "mod@example.org")}
    url = f"/api/v1/moderation/sites/{site}/settings"
    assert (await client.get(url)).status_code == 200
    refused = await client.patch(url, json={"settings": {"premoderation": "all"}}, headers=csrf)
    assert error_fields(refused, 403, "forbidden") == {"site": "needs the admin role"}
    no_csrf = await client.patch(url, json={"settings": {"premoderation": "all"}})
    assert set(error_fields(no_csrf, 403, "forbidden")) == {"csrf_token"}
