"""What a started server holds: heavy libraries only some features need are imported when first used, so a
server whose sites never use them does not keep them resident (docs/benchmarks.md, "Memory")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rejoinder.allocator import YOUNG_COLLECTION_THRESHOLD

# Started as ``rejoinder serve`` starts it (the app built, its lifespan run), then one comment posted to a
# site without the spam filter, the thread read and a comment liked, through the ASGI interface itself (an
# HTTP client library would import httpx, one of the libraries asked about); then which of the libraries
# asked about were imported.
BUILT = """
import asyncio, gc, json, sys
from rejoinder.settings import load_settings
from rejoinder.sites import create_site
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.web.app import create_app

url = "sqlite:///" + sys.argv[1]
database = Database(url)
upgrade(database)
database.dispose()
secret = "startup-test-secret-0123456789"
settings = load_settings(environ={}, overrides={"database_url": url, "secret_key": secret})
app = create_app(settings)

async def call(method, path, query=b"", body=b"", headers=()):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
             "root_path": "", "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers]}
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    answer = {}

    async def receive():
        return incoming.pop() if incoming else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        answer["body"] = answer.get("body", b"") + message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]

"""
PROGRAM = (
    BUILT
    + """
async def serve_once() -> None:
    async with app.router.lifespan_context(app):
        create_site(app.state.ctx, "quiet", "Quiet", ["https://blog.example"], spam_filter=False)
        comment = {"site": "quiet", "url": "https://blog.example/a", "author": {"name": "Ada"},
                   "body": "first words here, and more of them after"}
        status, body = await call("POST", "/api/v1/comments", body=json.dumps(comment).encode())
        assert status == 201, body
        posted = json.loads(body)["comment"]["id"]
        query = b"site=quiet&url=https%3A%2F%2Fblog.example%2Fa"
        assert (await call("GET", "/api/v1/comments", query))[0] == 200
        liker = [(b"x-rejoinder-liker", b"reader-1")]
        assert (await call("PUT", f"/api/v1/comments/{posted}/like", headers=liker))[0] == 200

asyncio.run(serve_once())
print(" ".join(name for name in sys.argv[2:] if name in sys.modules))
"""
)
# Started, then how many objects were exempted from the garbage collector, how many it still tracks, and
# after how many allocations it collects the youngest generation.
FROZEN = (
    BUILT
    + """
async def start() -> None:
    async with app.router.lifespan_context(app):
        print(gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()[0])

asyncio.run(start())
"""
)


def imported_by_a_server(tmp_path: Path, *names: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "startup.db"), *names],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_a_server_without_the_spam_filter_never_imports_numpy(tmp_path: Path) -> None:
    # The program can tell: the libraries serving needs are reported as imported.
    assert imported_by_a_server(tmp_path, "numpy", "sqlalchemy", "playwright") == {"sqlalchemy"}


def test_a_started_server_exempts_what_it_started_with_from_full_collections(tmp_path: Path) -> None:
    """A full collection walks every object the collector tracks, with the event loop stopped: what the
    start created lives as long as the process and is frozen, so the collector walks what came since."""
    program = [sys.executable, "-c", FROZEN, str(tmp_path / "frozen.db")]
    done = subprocess.run(program, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, tracked, young = map(int, done.stdout.split())
    assert frozen > 50_000
    assert tracked < frozen / 4
    assert young == YOUNG_COLLECTION_THRESHOLD  # what comes since is promoted less often, too


def test_a_server_never_imports_the_login_or_feed_libraries_before_they_are_used(tmp_path: Path) -> None:
    # Authlib, joserfc (and the cryptography library below it) and httpx: only a provider's log-in needs
    # them; feedparser only the announcements of a site's new posts; argon2 a moderator's password, and
    # ALTCHA (which imports argon2 too) a site that asks for proof of work.
    asked = ("authlib", "joserfc", "cryptography", "httpx", "feedparser", "argon2", "altcha", "orjson")
    assert imported_by_a_server(tmp_path, *asked) == {"orjson"}


def test_a_server_without_redis_never_imports_the_rate_limit_library(tmp_path: Path) -> None:
    # ``limits`` (with every storage backend it has, wrapt and importlib.metadata) counts in Redis only;
    # without Redis the rates are read and counted by rates.py and ratecounts.py.
    assert imported_by_a_server(tmp_path, "limits", "wrapt", "sqlalchemy") == {"sqlalchemy"}


def test_a_server_leaves_xml_sax_to_nothing(tmp_path: Path) -> None:
    # The export to WordPress escapes its text with html.escape, as xml.sax.saxutils.escape does.
    assert imported_by_a_server(tmp_path, "xml.sax", "sqlalchemy") == {"sqlalchemy"}


def test_the_command_line_leaves_training_and_corpora_to_the_commands_that_use_them() -> None:
    # ``rejoinder serve`` builds the whole parser first: what ``spam`` and ``abuse`` train and evaluate
    # with, and the corpora's download (urllib.request, http.client), would stay for the server's life.
    asked = ["rejoinder.evaluation", "rejoinder.abusetraining", "rejoinder.corpora", "urllib.request"]
    program = (
        "import sys; from rejoinder.cli import build_parser; build_parser().parse_args(['serve']); "
        "print(' '.join(name for name in sys.argv[1:] if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", program, *asked, "argparse"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["argparse"]


def test_a_sqlite_server_reads_through_as_many_connections_as_it_is_set_to(tmp_path: Path) -> None:
    from rejoinder.settings import load_settings
    from rejoinder.store.db import Database
    from rejoinder.store.migrate import upgrade
    from rejoinder.wiring import open_context

    url = f"sqlite:///{tmp_path / 'readers.db'}"
    database = Database(url)
    upgrade(database)
    database.dispose()
    settings = load_settings(environ={"REJOINDER_SQLITE_READERS": "2"}, overrides={"database_url": url})
    ctx = open_context(settings)
    try:
        assert ctx.db.reader.pool.size() == 2  # type: ignore[attr-defined]  # QueuePool
        assert ctx.db.writer.pool.size() == 1  # type: ignore[attr-defined]
    finally:
        ctx.close()


def test_a_server_that_renders_no_page_never_imports_jinja(tmp_path: Path) -> None:
    # The templates of pages and of letters are loaded on the first one rendered.
    assert imported_by_a_server(tmp_path, "jinja2", "fastapi") == {"fastapi"}


def test_every_sqlite_connection_keeps_a_small_page_cache(tmp_path: Path) -> None:
    # The operating system caches the file already; SQLite's default 2 MiB per connection is resident
    # memory the read cache makes unnecessary, the writer's included (docs/benchmarks.md, "Memory").
    from sqlalchemy import text

    from rejoinder.store.db import Database

    database = Database(f"sqlite:///{tmp_path / 'pages.db'}")
    try:
        with database.write() as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -512
        with database.read() as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -512
    finally:
        database.dispose()
