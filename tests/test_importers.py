"""Importers on the real exports in ../shared/data: what the source holds arrives (counts per thread and
status, nesting, dates, likes), once, inert, and comes back out of an export unchanged."""

from __future__ import annotations

import html.parser
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from rejoinder import exporters
from rejoinder.context import Context
from rejoinder.exporters import export
from rejoinder.importers import disqus, isso, remark42, service, wordpress
from rejoinder.importers.records import ImportFailed
from rejoinder.importers.service import ImportOptions, UrlMap, import_file
from rejoinder.sites import create_site
from rejoinder.store.schema import comment_origins, comments, likes, spam_training, threads
from tests.helpers import flatten, read

WP = "http://wordpress.org/export/1.2/"


def data(shared_dir: Path, name: str) -> Path:
    return shared_dir / "data" / name


def run(ctx: Context, source: str, path: Path, site: str = "test", **options: Any) -> Any:
    return import_file(ctx, source, path, ImportOptions(site=site, **options))


def rows(ctx: Context, site: str = "test") -> list[Any]:
    """Every comment of the site with its thread's URL and its origin ids, in id order."""
    with ctx.db.read() as conn:
        return list(
            conn.execute(
                select(comments, threads.c.url, comment_origins.c.original_id)
                .join(threads, threads.c.id == comments.c.thread_id)
                .join(comment_origins, comment_origins.c.comment_id == comments.c.id)
                .where(threads.c.site_id == select_site_id(site))
                .order_by(comments.c.id)
            )
        )


def select_site_id(site: str) -> Any:
    from rejoinder.store.schema import sites

    return select(sites.c.id).where(sites.c.key == site).scalar_subquery()


def check_integrity(ctx: Context) -> None:
    """Counters and derived columns agree with what they count: published comments per thread, likes per
    comment, and root_id the top-level ancestor."""
    with ctx.db.read() as conn:
        all_comments = {row.id: row for row in conn.execute(select(comments))}
        like_rows = Counter(conn.execute(select(likes.c.comment_id)).scalars())
        stored_counts = dict(conn.execute(select(threads.c.id, threads.c.comment_count)).all())
    published = Counter(
        row.thread_id for row in all_comments.values() if row.status == "published" and row.kind == "comment"
    )
    assert {t: stored_counts[t] for t in stored_counts if stored_counts[t]} == dict(published)
    for row in all_comments.values():
        assert row.like_count == like_rows.get(row.id, 0)
        top = row
        while top.parent_id is not None:
            top = all_comments[top.parent_id]
            assert top.thread_id == row.thread_id
        assert row.root_id == (None if top.id == row.id else top.id)


def depth_of(by_id: dict[int, Any], row: Any) -> int:
    depth = 0
    while row.parent_id is not None:
        row, depth = by_id[row.parent_id], depth + 1
    return depth


class Inert(html.parser.HTMLParser):
    """Collects anything in rendered HTML that could run or load: tags outside the allow-list, event
    handlers, URLs with a scheme other than http(s) and mailto (relative links such as #comment-10 are
    harmless)."""

    SAFE_TAGS = {"p", "br", "em", "strong", "a", "code", "pre", "blockquote", "ul", "ol", "li", "s", "del"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.SAFE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "src"):
                self.found.append(f"{tag}[{name}]")
            if (
                name == "href"
                and value
                and urlsplit(value).scheme.lower() not in ("", "http", "https", "mailto")
            ):
                self.found.append(f"href={value}")


def assert_inert(fragment: str) -> None:
    parser = Inert()
    parser.feed(fragment)
    assert parser.found == [], fragment


# WordPress -----------------------------------------------------------------------------------------------


def wxr_comments(path: Path) -> list[dict[str, str]]:
    """The file's comments as ElementTree reads them, namespace by namespace (independent of the importer)."""
    found = []
    for item in ET.parse(path).getroot().iter("item"):
        link = item.findtext("link", "")
        post_id = next((e.text or "" for e in item if e.tag.endswith("}post_id")), None)
        page = f"/?p={post_id}" if post_id else link
        for element in item:
            if element.tag.endswith("}comment"):
                fields = {child.tag.rpartition("}")[2]: child.text or "" for child in element}
                found.append({"comment_type": ""} | fields | {"link": link, "page": page})
    return found


def wp_id(origin: str) -> tuple[str, str]:
    """(page, comment id) from a WordPress comment's origin, its permalink ``<blog>/?p=18#comment-11`` (or,
    for a post without an id, ``<post link>#comment-11``)."""
    page, _, comment = origin.rpartition("#comment-")
    return ("/?p=" + page.rpartition("/?p=")[2] if "/?p=" in page else page), comment


@pytest.mark.parametrize(
    "name",
    [
        "themeunittestdata.wordpress.xml",
        "everet-org-zh.wordpress.xml",
        "cc-labs.wordpress.xml",
        "isso-tests-wordpress.xml",
    ],
)
def test_a_wordpress_export_arrives_whole(ctx: Context, site: str, shared_dir: Path, name: str) -> None:
    path = data(shared_dir, f"wxr/{name}")
    source = wxr_comments(path)
    report = run(ctx, "wordpress", path)
    assert report.comments == report.created == len(source) and not report.skipped
    stored = rows(ctx)
    assert len(stored) == len(source)
    status = {"1": "published", "0": "pending", "trash": "deleted", "spam": "spam"}
    expected = Counter((UrlMap().apply(c["link"]), status[c["comment_approved"]]) for c in source)
    assert Counter((row.url, row.status) for row in stored) == expected
    kinds = Counter(
        c["comment_type"] if c["comment_type"] in ("pingback", "trackback") else "comment" for c in source
    )
    assert Counter(row.kind for row in stored) == kinds
    by_origin = {wp_id(row.original_id): row for row in stored}
    for comment in source:  # dates are the GMT ones, in UTC
        row = by_origin[wp_id(f"{comment['page']}#comment-{comment['comment_id']}")]
        assert row.created_at == datetime.strptime(comment["comment_date_gmt"], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=UTC
        )
        parent = comment["comment_parent"]
        if parent != "0":
            assert row.parent_id == by_origin[wp_id(f"{comment['page']}#comment-{parent}")].id
    check_integrity(ctx)
    for row in stored:
        assert_inert(row.html)


def test_replies_to_comments_written_long_before_find_them_through_their_origins(
    ctx: Context, site: str, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer keeps only the last comments it wrote in memory (flat however long the file): with a
    window of one, every reply's parent is looked up by its origin in the store."""
    monkeypatch.setattr(service, "WINDOW", 1)
    path = data(shared_dir, "wxr/themeunittestdata.wordpress.xml")
    source = wxr_comments(path)
    report = run(ctx, "wordpress", path, batch_size=2)
    assert report.created == len(source) and report.max_depth == 9
    by_origin = {wp_id(row.original_id): row for row in rows(ctx)}
    replies = [c for c in source if c["comment_parent"] != "0"]
    assert len(replies) >= 10  # "Comment Depth 02" … "Comment Depth 10", among others
    for comment in replies:
        row = by_origin[wp_id(f"{comment['page']}#comment-{comment['comment_id']}")]
        assert row.parent_id == by_origin[wp_id(f"{comment['page']}#comment-{comment['comment_parent']}")].id
    check_integrity(ctx)


def test_the_theme_unit_test_keeps_its_depth_its_pending_replies_and_hides_pingbacks(
    ctx: Context, site: str, shared_dir: Path
) -> None:
    report = run(ctx, "wordpress", data(shared_dir, "wxr/themeunittestdata.wordpress.xml"))
    assert report.max_depth == 9  # "Comment Depth 01" … "Comment Depth 10"
    stored = rows(ctx)
    by_id = {row.id: row for row in stored}
    assert max(depth_of(by_id, row) for row in stored) == 9
    by_origin = {wp_id(row.original_id)[1]: row for row in stored}
    assert by_origin["1017"].status == "pending" and by_origin["1017"].parent_id == by_origin["168"].id
    # Entities inside CDATA are unescaped once: the name reads as written.
    assert any(row.author_name.startswith("Ping 1 « What’s a tellyworth") for row in stored)
    assert any("Γιάννης" in row.author_name for row in stored)
    assert "<table" not in by_origin["881"].html and "<h1" not in by_origin["881"].html


async def test_readers_see_imported_comments_but_not_pingbacks(
    ctx: Context, site: str, shared_dir: Path, client: httpx.AsyncClient
) -> None:
    url = "https://wpthemetestdata.wordpress.com/2012/01/01/template-pingbacks-an-trackbacks/"
    before = await read(client, url)
    assert before["comments"] == []  # now cached, and the import must drop it
    run(ctx, "wordpress", data(shared_dir, "wxr/themeunittestdata.wordpress.xml"))
    page = await read(client, url)
    shown = flatten(page["comments"])
    # 5 in the file: 1 comment, 2 pingbacks, 2 trackbacks; readers see the comment only.
    assert len(shown) == page["thread"]["comment_count"] == 1
    assert page["thread"]["title"] == "Template: Pingbacks And Trackbacks"


def test_importing_twice_adds_nothing_and_an_updated_export_adds_only_the_new(
    ctx: Context, site: str, shared_dir: Path, tmp_path: Path
) -> None:
    path = data(shared_dir, "wxr/themeunittestdata.wordpress.xml")
    text = path.read_text(encoding="utf-8")
    # An older export: the last comment of the file not written yet.
    start = text.rindex("<wp:comment>")
    older = tmp_path / "older.xml"
    older.write_text(text[:start] + text[text.index("</wp:comment>", start) + len("</wp:comment>") :])
    assert run(ctx, "wordpress", older).created == 32
    again = run(ctx, "wordpress", path)
    assert (again.created, again.existing) == (1, 32)
    assert run(ctx, "wordpress", path).created == 0
    assert len(rows(ctx)) == 33
    check_integrity(ctx)


def test_a_dry_run_reports_per_thread_and_status_and_writes_nothing(
    ctx: Context, site: str, shared_dir: Path
) -> None:
    report = run(ctx, "wordpress", data(shared_dir, "wxr/themeunittestdata.wordpress.xml"), dry_run=True)
    assert report.statuses == {"published": 30, "pending": 3}
    assert report.kinds == {"comment": 29, "pingback": 2, "trackback": 2}
    comments_thread = report.threads["https://wpthemetestdata.wordpress.com/2012/01/03/template-comments/"]
    assert comments_thread.statuses == {"published": 19, "pending": 1} and comments_thread.new == 20
    assert rows(ctx) == []


def test_a_report_lists_the_largest_threads_and_counts_them_all(
    ctx: Context, site: str, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = data(shared_dir, "wxr/cc-labs.wordpress.xml")
    whole = run(ctx, "wordpress", path, dry_run=True)
    assert len(whole.threads) == whole.thread_count > 3
    monkeypatch.setattr(service, "REPORT_THREADS", 3)
    run(ctx, "wordpress", path, skip_bad=True)  # every comment imported before: none is new now
    brief = run(ctx, "wordpress", path, dry_run=True)
    assert brief.thread_count == whole.thread_count and brief.comments == whole.comments
    assert brief.statuses == whole.statuses
    largest = sorted(whole.threads.values(), key=lambda t: (-sum(t.statuses.values()), t.url))[:3]
    assert list(brief.threads) == [t.url for t in largest]
    for thread in largest:
        assert brief.threads[thread.url].statuses == thread.statuses
        assert brief.threads[thread.url].title == thread.title
        assert thread.new == sum(thread.statuses.values()) and brief.threads[thread.url].new == 0


def test_a_truncated_export_names_its_line_and_imports_nothing(
    ctx: Context, site: str, shared_dir: Path, tmp_path: Path
) -> None:
    text = data(shared_dir, "wxr/cc-labs.wordpress.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(text[: len(text) * 2 // 3])
    with pytest.raises(ImportFailed) as failed:
        run(ctx, "wordpress", cut)
    assert failed.value.problems[0].where.startswith("line ")
    assert "not well-formed" in failed.value.problems[0].what
    assert rows(ctx) == []
    # With --skip-bad, everything before the cut arrives, and the cut is listed.
    report = run(ctx, "wordpress", cut, skip_bad=True)
    assert report.created > 0 and report.skipped[0].fatal
    with pytest.raises(ImportFailed, match="not a WordPress export"):
        run(ctx, "wordpress", data(shared_dir, "disqus/laisky-blog-zh.disqus.xml"))


# Disqus --------------------------------------------------------------------------------------------------


def test_a_disqus_export_keeps_statuses_depth_and_deleted_parents(
    ctx: Context, site: str, shared_dir: Path
) -> None:
    path = data(shared_dir, "disqus/laisky-blog-zh.disqus.xml")
    report = run(ctx, "disqus", path)
    assert report.statuses == {"published": 204, "deleted": 4, "spam": 1}
    assert report.max_depth == 7
    stored = rows(ctx)
    assert len(stored) == 209
    by_id = {row.id: row for row in stored}
    assert max(depth_of(by_id, row) for row in stored) == 7
    by_origin = {row.original_id: row for row in stored}
    assert by_origin["6472777036"].status == "spam"
    deleted = by_origin["2579656643"]
    assert deleted.status == "deleted" and any(row.parent_id == deleted.id for row in stored)
    # Dates and per-thread counts straight from the file.
    source = ET.parse(path).getroot()
    ns = {"d": "http://disqus.com", "dsq": "http://disqus.com/disqus-internals"}
    dsq_id = "{http://disqus.com/disqus-internals}id"
    for post in source.findall("d:post", ns):
        created = datetime.fromisoformat(post.findtext("d:createdAt", "", ns).replace("Z", "+00:00"))
        assert by_origin[post.get(dsq_id, "")].created_at == created
    check_integrity(ctx)
    for row in stored:
        assert_inert(row.html)


def test_a_url_map_merges_one_article_listed_under_several_hosts(
    ctx: Context, site: str, shared_dir: Path, tmp_path: Path
) -> None:
    path = data(shared_dir, "disqus/laisky-blog-zh.disqus.xml")
    plain = run(ctx, "disqus", path, dry_run=True)
    mapping = tmp_path / "urls.txt"
    mapping.write_text(
        "# old prefix → new prefix\n"
        "https://laisky.com/ https://blog.laisky.com/\n"
        "http://localhost:27850/ https://blog.laisky.com/\n"
        "http://100.75.198.70:11300/ https://blog.laisky.com/\n"
        "https://blog.laisky.us/ https://blog.laisky.com/\n"
    )
    mapped = run(ctx, "disqus", path, dry_run=True, url_map=UrlMap.read(mapping))
    assert any(url.startswith("http://localhost:27850/") for url in plain.threads)
    assert mapped.comments == plain.comments == 209
    assert all(
        url.startswith(("https://blog.laisky.com/", "http://blog.laisky.com/")) for url in mapped.threads
    )
    assert len(mapped.threads) <= len(plain.threads)


def test_page_addresses_differing_only_in_percent_escape_case_are_one_thread() -> None:
    lower = UrlMap().apply("https://blog.example/p/%e7%ac%ac")
    assert lower == UrlMap().apply("https://blog.example/p/%E7%AC%AC") == "https://blog.example/p/%E7%AC%AC"
    mapped = UrlMap([("http://localhost:8001/", "https://blog.example/")])
    assert mapped.apply("http://localhost:8001/p/x?utm_source=feed") == "https://blog.example/p/x"


def test_a_malformed_disqus_file_fails_at_line_1_or_imports_the_rest_with_skip_bad(
    ctx: Context, site: str, shared_dir: Path
) -> None:
    path = data(shared_dir, "disqus/remark42-testdata-disqus.xml")
    with pytest.raises(ImportFailed) as failed:
        run(ctx, "disqus", path)
    assert str(failed.value.problems[0]).startswith("line 1, column 0: the file is not well-formed XML")
    assert rows(ctx) == []
    report = run(ctx, "disqus", path, skip_bad=True)
    assert report.created == 4  # what Remark42's own importer takes from this file
    assert [p.where for p in report.skipped] == [
        "line 102, <post> dsq:id=(none)",
        "line 135, <post> dsq:id=x299986073",
    ]
    assert Counter(row.status for row in rows(ctx)) == {"published": 3, "spam": 1}


def test_isso_fixture_orphan_posts_are_problems_to_skip(ctx: Context, site: str, shared_dir: Path) -> None:
    path = data(shared_dir, "disqus/isso-tests-disqus.xml")
    with pytest.raises(ImportFailed, match="1 problem"):
        run(ctx, "disqus", path)
    report = run(ctx, "disqus", path, skip_bad=True)
    assert report.created == 5 and "1337" in report.skipped[0].what


# Isso ----------------------------------------------------------------------------------------------------


def test_an_isso_database_keeps_flat_nesting_modes_likes_and_edits(
    ctx: Context, site: str, shared_dir: Path
) -> None:
    report = run(ctx, "isso", data(shared_dir, "isso/isso-0.14.db"))
    assert report.statuses == {"published": 33, "pending": 2, "deleted": 1}
    assert report.max_depth == 1  # Isso flattens replies, and they stay as Isso stored them
    by_id = {int(row.original_id.rpartition("#")[2]): row for row in rows(ctx)}
    assert len(by_id) == 36 and 31 not in by_id
    with sqlite3.connect(data(shared_dir, "isso/isso-0.14.db")) as isso_db:
        parents = dict(isso_db.execute("SELECT id, parent FROM comments").fetchall())
    for isso_id, parent in parents.items():  # each reply under the comment Isso stored it under
        assert by_id[isso_id].parent_id == (by_id[parent].id if parent else None)
    # 4 and 5 answered 3 and 4, which are replies themselves: Isso keeps them all under the top level.
    assert by_id[4].parent_id == by_id[5].parent_id == by_id[3].parent_id
    assert by_id[35].status == "pending" and by_id[35].parent_id == by_id[28].id
    assert by_id[28].status == "deleted"
    assert by_id[1].like_count == 3 and by_id[21].like_count == 2
    assert by_id[9].edited_at is not None and by_id[37].edited_at is None
    assert by_id[11].author_name == "Eve <b>Bold</b>"  # unescaped once; escaped again when shown
    assert by_id[24].author_name == 'O\'Brien & "Sons"'
    assert by_id[15].author_website == 'http://example.org/frank?a=1&b="2"'
    assert by_id[13].body.startswith("<script>")  # kept as typed, as the source …
    for row in by_id.values():  # … and inert as rendered
        assert_inert(row.html)
    with ctx.db.read() as conn:
        titles = set(conn.execute(select(threads.c.title)).scalars())
    assert "Markdown & HTML edge cases" in titles
    check_integrity(ctx)


# Remark42 ------------------------------------------------------------------------------------------------


def test_a_remark42_backup_keeps_depth_scores_deletions_and_read_only_posts(
    ctx: Context, site: str, shared_dir: Path
) -> None:
    path = data(shared_dir, "remark42/remark42-backup.gz")
    manifest = json.loads(data(shared_dir, "remark42/remark42-backup.gz.manifest.json").read_text())
    report = run(ctx, "remark42", path)
    assert report.statuses == {"published": 15, "deleted": 2} and report.max_depth == 3
    stored = rows(ctx)
    by_origin = {row.original_id: row for row in stored}
    ids = {key: comment["id"] for key, comment in manifest["comments"].items()}
    assert by_origin[ids["a1"]].like_count == 3
    assert by_origin[ids["a6"]].like_count == 0  # a negative score is no likes
    assert by_origin[ids["a10"]].edited_at is not None
    assert by_origin[ids["a7"]].status == by_origin[ids["a8"]].status == "deleted"
    assert by_origin[ids["a4"]].parent_id == by_origin[ids["a3"]].id
    by_id = {row.id: row for row in stored}
    assert max(depth_of(by_id, row) for row in stored) == 3
    with ctx.db.read() as conn:
        closed = dict(conn.execute(select(threads.c.url, threads.c.closed)).all())
    assert closed["http://127.0.0.1:18491/blog/2024/06/second-post/"] is True
    for row in stored:
        assert_inert(row.html)
    check_integrity(ctx)


# Export and round trips ----------------------------------------------------------------------------------


def import_everything(ctx: Context, shared_dir: Path, site: str = "test") -> None:
    for name in ("themeunittestdata", "everet-org-zh"):
        run(ctx, "wordpress", data(shared_dir, f"wxr/{name}.wordpress.xml"), site=site)
    run(ctx, "disqus", data(shared_dir, "disqus/laisky-blog-zh.disqus.xml"), site=site)
    run(
        ctx,
        "isso",
        data(shared_dir, "isso/isso-0.14.db"),
        site=site,
        url_map=UrlMap([("/", "https://blog.example/")]),
    )
    run(ctx, "remark42", data(shared_dir, "remark42/remark42-backup.gz"), site=site)


def exported(ctx: Context, site: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    export(ctx, out, "json", site)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def comparable(lines: list[dict[str, Any]]) -> list[Any]:
    """The export without what differs by design between two copies: ids (renumbered in order), the
    site's key and name, and the time of the export."""
    renumber: dict[int, int] = {}
    kept: list[Any] = []
    for line in lines[2:]:
        if "comment" in line:
            comment = dict(line["comment"])
            renumber[comment["id"]] = len(renumber)
            comment["id"] = renumber[comment["id"]]
            comment["parent_id"] = renumber.get(comment["parent_id"]) if comment["parent_id"] else None
            kept.append(comment)
        else:
            kept.append(line)
    return kept


def test_a_json_export_restores_exactly(ctx: Context, site: str, shared_dir: Path, tmp_path: Path) -> None:
    import_everything(ctx, shared_dir)
    original = exported(ctx, "test")
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in original), encoding="utf-8")
    create_site(ctx, "copy", "Copy", [], spam_filter=False)
    report = run(ctx, "rejoinder", path, site="copy")
    assert report.created == len(rows(ctx)) and not report.skipped
    assert comparable(exported(ctx, "copy")) == comparable(original)
    assert run(ctx, "rejoinder", path, site="copy").created == 0
    # The restored copy still knows the original origins: the WordPress export adds nothing to it.
    assert (
        run(ctx, "wordpress", data(shared_dir, "wxr/everet-org-zh.wordpress.xml"), site="copy").created == 0
    )
    check_integrity(ctx)


def test_a_wxr_export_reads_back_as_a_wordpress_export(
    ctx: Context, site: str, shared_dir: Path, tmp_path: Path
) -> None:
    import_everything(ctx, shared_dir)
    out = io.StringIO()
    written = export(ctx, out, "wxr", "test")
    path = tmp_path / "export.xml"
    path.write_text(out.getvalue(), encoding="utf-8")
    channel = ET.parse(path).getroot().find("channel")  # well-formed, WXR 1.2
    assert channel is not None and channel.findtext(f"{{{WP}}}wxr_version") == "1.2"
    create_site(ctx, "wp", "WordPress copy", [], spam_filter=False)
    report = run(ctx, "wordpress", path, site="wp")
    assert report.comments == written == len(rows(ctx, "test"))
    before, after = rows(ctx, "test"), rows(ctx, "wp")
    # WXR dates have whole seconds.
    assert Counter((r.url, r.status, r.kind, r.created_at.replace(microsecond=0)) for r in before) == Counter(
        (r.url, r.status, r.kind, r.created_at) for r in after
    )
    by_id = {row.id: row for row in before}
    again = {row.id: row for row in after}
    assert Counter(depth_of(by_id, r) for r in before) == Counter(depth_of(again, r) for r in after)
    check_integrity(ctx)


async def test_moderators_export_a_site_over_the_api(
    ctx: Context, site: str, shared_dir: Path, client: httpx.AsyncClient
) -> None:
    from rejoinder.apikeys import create_key

    run(ctx, "isso", data(shared_dir, "isso/isso-0.14.db"))
    refused = await client.get("/api/v1/sites/test/export")
    assert refused.status_code == 401
    token = create_key(ctx, "admin", None)
    answer = await client.get(
        "/api/v1/sites/test/export", params={"format": "json"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert comparable([json.loads(line) for line in answer.text.splitlines()]) == comparable(
        exported(ctx, "test")
    )
    wxr = await client.get(
        "/api/v1/sites/test/export", params={"format": "wxr"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert wxr.status_code == 200 and ET.fromstring(wxr.content).tag == "rss"


# Teaching ------------------------------------------------------------------------------------------------


def test_teach_turns_imported_decisions_into_lessons_once(ctx: Context, site: str, shared_dir: Path) -> None:
    path = data(shared_dir, "disqus/laisky-blog-zh.disqus.xml")
    report = run(ctx, "disqus", path, teach=True)
    assert report.lessons == 205  # 204 published and 1 spam; deleted comments teach nothing
    with ctx.db.read() as conn:
        taught = conn.execute(select(func.count()).select_from(spam_training)).scalar_one()
    assert taught == 205
    assert run(ctx, "disqus", path, teach=True).lessons == 0


def test_the_parsers_stream(shared_dir: Path) -> None:
    """Each parser is a generator: the first comment comes before the file is read to its end."""
    for parsed in (
        wordpress.parse(data(shared_dir, "wxr/cc-labs.wordpress.xml")),
        disqus.parse(data(shared_dir, "disqus/laisky-blog-zh.disqus.xml")),
        isso.parse(data(shared_dir, "isso/isso-0.14.db")),
        remark42.parse(data(shared_dir, "remark42/remark42-backup.gz")),
    ):
        first = next(parsed)
        assert not isinstance(first, ImportFailed)
        parsed.close()  # type: ignore[attr-defined]


@given(st.text())
def test_a_wxr_export_escapes_text_as_xml_sax_does(text: str) -> None:
    # The export escapes without importing xml.sax into every server; the same three characters.
    from xml.sax.saxutils import escape

    assert exporters._escape(text) == escape(text)
