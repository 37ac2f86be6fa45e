"""What a started server holds: heavy libraries only some features need are imported when first used, so a
server whose sites never use them does not keep them resident (docs/benchmarks.md, "Memory")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Started as ``rejoinder serve`` starts it (the app built, its lifespan run), then one comment posted to a
# site without the spam filter and the thread read; then which of the libraries asked about were imported.
BUILT = """
import asyncio, gc, sys
import httpx
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
"""
PROGRAM = (
    BUILT
    + """
async def serve_once() -> None:
    async with app.router.lifespan_context(app):
        create_site(app.state.ctx, "quiet", "Quiet", ["https://blog.example"], spam_filter=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            comment = {"site": "quiet", "url": "https://blog.example/a", "author": {"name": "Ada"},
                       "body": "first words here, and more of them after"}
            assert (await http.post("/api/v1/comments", json=comment)).status_code == 201
            page = await http.get("/api/v1/comments", params={"site": "quiet", "url": "https://blog.example/a"})
            assert page.status_code == 200

asyncio.run(serve_once())
print(" ".join(name for name in sys.argv[2:] if name in sys.modules))
"""
)
# Started, then how many objects were exempted from the garbage collector and how many it still tracks.
FROZEN = (
    BUILT
    + """
async def start() -> None:
    async with app.router.lifespan_context(app):
        print(gc.get_freeze_count(), len(gc.get_objects()))

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
    frozen, tracked = map(int, done.stdout.split())
    assert frozen > 50_000
    assert tracked < frozen / 4
