"""Importing from the dashboard, in-process on both databases: an admin uploads an export, reads the dry
run's report, confirms, and follows the job to the end; the file is kept only until then. Refused to a
moderator, to an oversized or unreadable file, and without the page's CSRF token. The site's export is
downloaded from the same page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rejoinder.context import Context
from rejoinder.importers.service import ImportOptions, import_file
from rejoinder.settings import Settings, load_settings
from rejoinder.store.schema import audit_log, comments
from tests.helpers import error_fields, log_in, make_moderator
from tests.test_security_headers import assert_page_headers, inline_code

HTML = {"Accept": "text/html,application/xhtml+xml"}
TOKEN = re.compile(r"^/dashboard/import/([A-Za-z0-9_-]+)$")
SMALL_WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>A small blog</title>
<wp:base_blog_url>https://blog.example</wp:base_blog_url>
<item>
  <title>First post</title>
  <link>https://blog.example/first/</link>
  <wp:post_id>7</wp:post_id>
  <wp:comment>
    <wp:comment_id>1</wp:comment_id>
    <wp:comment_author><![CDATA[Ada]]></wp:comment_author>
    <wp:comment_date_gmt>2020-01-02 03:04:05</wp:comment_date_gmt>
    <wp:comment_content><![CDATA[First! <script>alert(1)</script>]]></wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved>
    <wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>2</wp:comment_id>
    <wp:comment_author><![CDATA[Grace]]></wp:comment_author>
    <wp:comment_date_gmt>2020-01-03 03:04:05</wp:comment_date_gmt>
    <wp:comment_content><![CDATA[A reply]]></wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved>
    <wp:comment_parent>1</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>3</wp:comment_id>
    <wp:comment_author><![CDATA[Spammer]]></wp:comment_author>
    <wp:comment_date_gmt>2020-01-04 03:04:05</wp:comment_date_gmt>
    <wp:comment_content><![CDATA[cheap pills]]></wp:comment_content>
    <wp:comment_approved>spam</wp:comment_approved>
    <wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
</item>
</channel>
</rss>
"""
# The real exports, one of each format (the file, the format it is read as).
REAL = (
    ("wxr/cc-labs.wordpress.xml", "wordpress"),
    ("disqus/laisky-blog-zh.disqus.xml", "disqus"),
    ("isso/isso-0.14.db", "isso"),
    ("remark42/remark42-backup.gz", "remark42"),
)


@pytest.fixture
def upload_limit() -> int:
    return 8 * 1024 * 1024


@pytest.fixture
def settings(database_url: str, tmp_path: Path, upload_limit: int) -> Settings:
    overrides = {
        "database_url": database_url,
        "secret_key": "test-secret",
        "import_upload_dir": str(tmp_path / "uploads"),
        "import_max_bytes": upload_limit,
    }
    return load_settings(environ={}, overrides=overrides)


@pytest.fixture
async def owner(client: httpx.AsyncClient, ctx: Context, site: str) -> str:
    """``client`` logged in as an admin of the site ``test``; the session's CSRF token."""
    make_moderator(ctx, "owner@example.org", site, role="admin")
    return await log_in(client, "owner@example.org")


async def upload(
    client: httpx.AsyncClient, csrf: str, content: bytes, name: str = "export.xml", **fields: str
) -> httpx.Response:
    data = {"csrf_token": csrf, "site": "test", "format": "auto", **fields}
    return await client.post("/dashboard/import", data=data, files={"file": (name, content)}, headers=HTML)


def token_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = TOKEN.match(response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1)


async def state(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get(f"/dashboard/import/{token}/status")
    assert response.status_code == 200, response.text
    return dict(response.json())


def run_jobs(ctx: Context) -> int:
    """What the server's runner (or ``rejoinder worker``) does: run every due job."""
    return ctx.jobs.run_due("test-runner")


def comment_count(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(comments)).scalar_one())


def uploaded_files(settings: Settings) -> list[Path]:
    """The export files kept (not the small state files beside them)."""
    return sorted(Path(settings.import_upload_dir).glob("*/file/*"))


def audit_actions(ctx: Context) -> list[tuple[str, str, Any]]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.after))
        return [(row.action, row.actor, row.after) for row in rows]


async def test_an_owner_uploads_reads_the_report_confirms_and_the_comments_arrive(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, owner: str
) -> None:
    token = token_of(
        await upload(client, owner, SMALL_WXR.encode(), url_map="https://blog.example/ https://new.example/")
    )
    assert (await state(client, token))["status"] == "checking"
    assert len(uploaded_files(settings)) == 1

    assert run_jobs(ctx) == 1
    page = await client.get(f"/dashboard/import/{token}")
    assert page.status_code == 200
    assert (await state(client, token))["status"] == "review"
    assert_page_headers(page)
    assert inline_code(page.text) == []  # the strict CSP: the progress is followed by dashboard.js
    assert 'id="import-comments">3<' in page.text
    assert 'data-status-count="published">2<' in page.text
    assert 'data-status-count="spam">1<' in page.text
    assert "https://new.example/first/" in page.text  # the URL map applied to the report
    assert "read as wordpress" in page.text
    assert comment_count(ctx) == 0  # a dry run writes nothing

    confirmed = await client.post(
        f"/dashboard/import/{token}/confirm", data={"csrf_token": owner}, headers=HTML
    )
    assert confirmed.status_code == 303
    assert (await state(client, token))["status"] == "importing"
    assert run_jobs(ctx) == 1
    done = await state(client, token)
    assert done == {"status": "done", "done": 3, "total": 3}
    assert comment_count(ctx) == 3
    assert uploaded_files(settings) == []  # kept only until the import ended
    page = await client.get(f"/dashboard/import/{token}")
    assert "Imported." in page.text and "3 new comments written" in page.text
    assert "<script>alert" not in page.text

    imports = [(actor, after) for action, actor, after in audit_actions(ctx) if action == "import"]
    assert len(imports) == 1
    assert "owner@example.org" in imports[0][0] or "(dashboard)" in imports[0][0]
    assert imports[0][1]["created"] == 3

    # The same file again: the report says everything was imported before, and confirming adds nothing.
    again = token_of(
        await upload(client, owner, SMALL_WXR.encode(), url_map="https://blog.example/ https://new.example/")
    )
    run_jobs(ctx)
    assert (
        "0 new comments would be written, 3 were imported before"
        in (await client.get(f"/dashboard/import/{again}")).text
    )
    await client.post(f"/dashboard/import/{again}/confirm", data={"csrf_token": owner})
    run_jobs(ctx)
    assert comment_count(ctx) == 3


@pytest.mark.parametrize(("name", "format_name"), REAL)
async def test_real_exports_arrive_through_the_dashboard_as_through_the_command(
    client: httpx.AsyncClient,
    ctx: Context,
    settings: Settings,
    owner: str,
    shared_dir: Path,
    name: str,
    format_name: str,
) -> None:
    path = shared_dir / "data" / name
    expected = import_file(ctx, format_name, path, ImportOptions(site="test", dry_run=True, skip_bad=True))
    token = token_of(await upload(client, owner, path.read_bytes(), path.name, skip_bad="on"))
    run_jobs(ctx)
    page = await client.get(f"/dashboard/import/{token}")
    assert f"read as {format_name}" in page.text  # told from the file itself
    assert f'id="import-comments">{expected.comments}<' in page.text
    assert f'id="import-threads">{expected.thread_count}<' in page.text
    for status, n in expected.statuses.items():
        assert f'data-status-count="{status}">{n}<' in page.text
    await client.post(f"/dashboard/import/{token}/confirm", data={"csrf_token": owner})
    run_jobs(ctx)
    assert (await state(client, token))["status"] == "done"
    assert comment_count(ctx) == expected.created > 0
    assert uploaded_files(settings) == []


async def test_a_malformed_file_shows_its_error_with_the_line_and_imports_nothing(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, owner: str
) -> None:
    cut = SMALL_WXR[: SMALL_WXR.index("<wp:comment_id>2")].encode()
    token = token_of(await upload(client, owner, cut))
    run_jobs(ctx)
    assert (await state(client, token))["status"] == "failed"
    page = await client.get(f"/dashboard/import/{token}")
    assert "Nothing was imported." in page.text
    assert re.search(r"line \d+, column \d+: the file is not well-formed XML", page.text), page.text
    assert 'id="import-confirm"' not in page.text
    assert "Import everything readable" in page.text  # how to import the rest
    assert comment_count(ctx) == 0
    assert uploaded_files(settings) == []
    refused = await client.post(f"/dashboard/import/{token}/confirm", data={"csrf_token": owner})
    assert error_fields(refused, 422, "invalid_input") == {
        "token": "must be an import whose report is shown and not yet confirmed"
    }


async def test_a_file_of_no_known_format_is_refused_naming_the_format(
    client: httpx.AsyncClient, settings: Settings, owner: str
) -> None:
    response = await client.post(
        "/dashboard/import",
        data={"csrf_token": owner, "site": "test", "format": "auto"},
        files={"file": ("notes.txt", b"just some notes\n")},
    )
    fields = error_fields(response, 422, "invalid_input")
    assert set(fields) == {"format"}
    assert uploaded_files(settings) == [] and list(Path(settings.import_upload_dir).iterdir()) == []


@pytest.mark.parametrize("upload_limit", [4096])
async def test_an_oversized_file_is_refused_with_413_naming_the_file(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, owner: str
) -> None:
    big = SMALL_WXR.replace("cheap pills", "x" * 8000).encode()
    response = await upload(client, owner, big)
    assert response.status_code == 413
    assert "file" in response.text and "4,096 bytes" in response.text  # the page names the field and rule
    response = await client.post(
        "/dashboard/import", data={"csrf_token": owner, "site": "test"}, files={"file": ("x.xml", big)}
    )
    assert error_fields(response, 413, "payload_too_large") == {"file": "must be at most 4,096 bytes"}
    assert not Path(settings.import_upload_dir).exists() or uploaded_files(settings) == []
    assert comment_count(ctx) == 0


async def test_a_moderator_without_the_admin_role_may_not_import_nor_export(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, site: str
) -> None:
    make_moderator(ctx, "mod@example.org", site, role="moderator")
    csrf = await log_in(client, "mod@example.org")
    assert (await client.get("/dashboard/import", headers=HTML)).status_code == 404
    response = await client.post(
        "/dashboard/import",
        data={"csrf_token": csrf, "site": "test"},
        files={"file": ("export.xml", SMALL_WXR.encode())},
    )
    assert error_fields(response, 403, "forbidden") == {"site": "needs the admin role"}
    assert uploaded_files(settings) == []
    response = await client.get("/dashboard/export", params={"site": "test", "format": "json"})
    assert error_fields(response, 403, "forbidden") == {"site": "needs the admin role"}


async def test_an_upload_and_its_confirmation_need_the_pages_csrf_token(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, owner: str
) -> None:
    response = await client.post(
        "/dashboard/import", data={"site": "test"}, files={"file": ("export.xml", SMALL_WXR.encode())}
    )
    assert set(error_fields(response, 403, "forbidden")) == {"csrf_token"}
    assert uploaded_files(settings) == []
    token = token_of(await upload(client, owner, SMALL_WXR.encode()))
    run_jobs(ctx)
    response = await client.post(f"/dashboard/import/{token}/confirm")
    assert set(error_fields(response, 403, "forbidden")) == {"csrf_token"}
    assert (await state(client, token))["status"] == "review"


async def test_another_sites_admin_cannot_see_an_upload(
    client: httpx.AsyncClient, ctx: Context, owner: str
) -> None:
    from rejoinder.sites import create_site

    token = token_of(await upload(client, owner, SMALL_WXR.encode()))
    create_site(ctx, "other", "Other blog", [], spam_filter=False)
    make_moderator(ctx, "other@example.org", "other", role="admin")
    await log_in(client, "other@example.org")
    assert (await client.get(f"/dashboard/import/{token}/status")).status_code == 404
    assert (await client.get("/dashboard/import/not-a-token/status")).status_code == 404


async def test_cancelling_a_reviewed_upload_removes_its_file(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, owner: str
) -> None:
    token = token_of(await upload(client, owner, SMALL_WXR.encode()))
    run_jobs(ctx)
    response = await client.post(f"/dashboard/import/{token}/cancel", data={"csrf_token": owner})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/import?site=test"
    assert list(Path(settings.import_upload_dir).iterdir()) == []
    assert comment_count(ctx) == 0


async def test_the_owner_downloads_the_sites_export_and_the_log_says_so(
    client: httpx.AsyncClient, ctx: Context, owner: str
) -> None:
    token = token_of(await upload(client, owner, SMALL_WXR.encode()))
    run_jobs(ctx)
    await client.post(f"/dashboard/import/{token}/confirm", data={"csrf_token": owner})
    run_jobs(ctx)
    page = await client.get("/dashboard/import")
    assert 'href="/dashboard/export?site=test&amp;format=wxr"' in page.text

    response = await client.get("/dashboard/export", params={"site": "test", "format": "json"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="test.jsonl"'
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["format"] == "rejoinder-export"
    assert sum(1 for line in lines if "comment" in line) == 3

    response = await client.get("/dashboard/export", params={"site": "test", "format": "wxr"})
    assert response.status_code == 200 and response.text.count("<wp:comment>") == 3
    exports = [after for action, _, after in audit_actions(ctx) if action == "export"]
    assert exports == [{"format": "json", "comments": 3}, {"format": "wxr", "comments": 3}]
