"""Our WXR export read by WordPress's own importer code: the WXR parsers of the WordPress Importer plugin
(``WXR_Parser_SimpleXML`` and ``WXR_Parser_XML``, the two it chooses between), run by PHP over an export of
the real files in ../shared/data (WordPress, Disqus, Isso, Remark42) after they were imported.

Every comment must come back with the fields the importer gives ``wp_insert_comment``, and each post's
comments must be in the order it inserts them (``ksort`` by id) with every parent before its replies, since
it maps a reply's parent only through the comments inserted before it.

The plugin is not packaged for pip or Debian: the test runs where ``REJOINDER_WORDPRESS_IMPORTER`` names a
checkout of it (github.com/WordPress/wordpress-importer) and PHP with its XML extensions is installed
(Debian: ``php-cli php-xml``), and is skipped, saying which is missing, elsewhere.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rejoinder.context import Context
from rejoinder.exporters import WXR_STATUS, export
from rejoinder.importers.service import ImportOptions, import_file
from rejoinder.sites import cached_site
from rejoinder.store import imports as store
from tests.test_importers import import_everything

# The few WordPress functions the parsers call, as WordPress defines them in effect; the parsers' own code
# is the plugin's, loaded from its checkout.
HARNESS = r"""<?php
class WP_Error {
    public $code; public $message; public $data;
    public function __construct($code = '', $message = '', $data = '') {
        $this->code = $code; $this->message = $message; $this->data = $data;
    }
    public function get_error_code() { return $this->code; }
    public function get_error_message() { return $this->message; }
    public function get_error_data() { return $this->data; }
}
function is_wp_error($thing) { return $thing instanceof WP_Error; }
function __($text, $domain = 'default') { return $text; }
function esc_html($text) { return htmlspecialchars($text, ENT_QUOTES); }
function _doing_it_wrong($function, $message, $version) {}

[$_, $plugin, $file, $which] = $argv;
require $plugin . '/parsers/class-wxr-parser-simplexml.php';
require $plugin . '/parsers/class-wxr-parser-xml.php';
$parser = $which === 'simplexml' ? new WXR_Parser_SimpleXML() : new WXR_Parser_XML();
$result = $parser->parse($file);
if (is_wp_error($result)) {
    fwrite(STDERR, $result->get_error_code() . ': ' . $result->get_error_message() . "\n");
    exit(1);
}
echo json_encode($result, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
"""


@pytest.fixture
def importer_parsers() -> Path:
    named = os.environ.get("REJOINDER_WORDPRESS_IMPORTER", "")
    if not named:
        pytest.skip(
            "REJOINDER_WORDPRESS_IMPORTER does not name a checkout of the WordPress Importer plugin "
            "(not packaged for pip or Debian): its WXR parsers are what this test runs"
        )
    for candidate in (Path(named) / "src", Path(named)):
        if (candidate / "parsers" / "class-wxr-parser-simplexml.php").is_file():
            break
    else:
        pytest.fail(f"{named} has no parsers/class-wxr-parser-simplexml.php (nor src/parsers/…)")
    if shutil.which("php") is None:
        pytest.skip("PHP is not installed (Debian: php-cli php-xml)")
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=True).stdout.split()
    missing = {"SimpleXML", "xml", "dom"} - set(modules)
    if missing:
        pytest.skip(f"PHP lacks {', '.join(sorted(missing))} (Debian: php-xml)")
    return candidate


def parse_with_wordpress(parsers: Path, harness: Path, wxr: Path, which: str) -> dict[str, Any]:
    done = subprocess.run(
        ["php", str(harness), str(parsers), str(wxr), which], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("which", ["simplexml", "xml"])
def test_wordpress_reads_every_exported_comment_as_it_was(
    ctx: Context, site: str, shared_dir: Path, tmp_path: Path, importer_parsers: Path, which: str
) -> None:
    import_everything(ctx, shared_dir)  # WordPress, Disqus, Isso and Remark42: spam, likes, deep nesting
    import_file(ctx, "wordpress", shared_dir / "data/wxr/cc-labs.wordpress.xml", ImportOptions(site="test"))
    out = io.StringIO()
    written = export(ctx, out, "wxr", "test")
    wxr = tmp_path / "export.xml"
    wxr.write_text(out.getvalue(), encoding="utf-8")
    harness = tmp_path / "harness.php"
    harness.write_text(HARNESS, encoding="utf-8")

    parsed = parse_with_wordpress(importer_parsers, harness, wxr, which)

    assert parsed["version"] == "1.2"
    posts = parsed["posts"]
    comments = [comment | {"post": post} for post in posts for comment in post.get("comments", [])]
    assert len(comments) == written > 0
    with ctx.db.read() as conn:
        site_id = cached_site(ctx, "test").id
        threads = {row.id: row for row in store.site_threads(conn, site_id)}
        stored = {
            row.id: (row, threads[row.thread_id])
            for thread_id in threads
            for row in store.thread_comments(conn, thread_id)
        }
    for post in posts:  # what process_posts needs to create the post the comments go under
        assert post["post_type"] == "post" and post["status"] == "publish"
        thread = threads[int(post["post_id"])]
        assert (post["guid"], post["post_title"]) == (thread.url, thread.title or thread.url)
    kinds = {"comment": "", "pingback": "pingback", "trackback": "trackback"}
    for comment in comments:
        row, thread = stored[int(comment["comment_id"])]
        assert int(comment["post"]["post_id"]) == thread.id
        read = {key: comment[key] for key in FIELDS}
        if which == "xml":
            # This parser reads an element holding "0" as empty (PHP's empty("0")), for WordPress's own
            # exports as for ours; wp_insert_comment takes it as 0.
            read = {key: value or ("0" if key in ZEROS else value) for key, value in read.items()}
        assert read == {
            "comment_author": row.author_name,
            "comment_author_email": row.author_email,
            "comment_author_url": row.author_website,
            "comment_author_IP": row.remote_addr,
            "comment_date_gmt": row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "comment_content": row.html,
            "comment_approved": WXR_STATUS[row.status],
            "comment_type": kinds[row.kind],
            "comment_parent": str(row.parent_id or 0),
        }
        likes = {m["key"]: m["value"] for m in comment.get("commentmeta", [])}.get("comment_like_count", "0")
        assert int(likes) == row.like_count
    # The importer inserts a post's comments in the order of their ids and maps a parent only through
    # those already inserted: every parent must come first, in the same post.
    for post in posts:
        inserted: set[int] = set()
        for comment in sorted(post.get("comments", []), key=lambda c: int(c["comment_id"])):
            parent = int(comment["comment_parent"] or 0)
            assert parent == 0 or parent in inserted, (post["link"], comment["comment_id"], parent)
            inserted.add(int(comment["comment_id"]))
    statuses = Counter(c["comment_approved"] or "0" for c in comments)
    assert set(statuses) == {"1", "0", "spam", "trash"}
    assert any(int(m["value"]) for c in comments for m in c.get("commentmeta", []))  # likes went along
    print(f"\n{which}: {len(posts)} posts, {len(comments)} comments, statuses {dict(statuses)}")


ZEROS = ("comment_parent", "comment_approved")
FIELDS = (
    "comment_author",
    "comment_author_email",
    "comment_author_url",
    "comment_author_IP",
    "comment_date_gmt",
    "comment_content",
    "comment_approved",
    "comment_type",
    "comment_parent",
)
