"""Fixtures: a migrated database per backend, the app in-process, an HTTP client and a site.

``--db=sqlite|postgres|all`` picks the backends (default: all). PostgreSQL runs in a database of
its own, created for the session and dropped after it; tables are emptied between tests.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import StaticPool

from rejoinder.context import Context
from rejoinder.logs import JsonFormatter, TextFormatter
from rejoinder.settings import Settings, load_settings
from rejoinder.sites import create_site
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.store.schema import metadata
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests import mailbox as mailboxes
from tests.mailbox import Mailbox
from tests.oidc_provider import OidcProvider, running_provider

POSTGRES_ADMIN_URL = os.environ.get(
    "REJOINDER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SITE_ORIGIN = "https://blog.example"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default="all",
        choices=("sqlite", "postgres", "all"),
        help="storage backends to run the storage tests on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgres"] if chosen == "all" else [chosen]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(autouse=True)
def root_logger_as_found() -> Iterator[None]:
    """After each test, the root logger as it was before. A test that configures logging (``create_app``,
    a command run in-process) points it at the test's captured output, which pytest closes after the
    test; left there, every later record (aiosmtpd's thread logs each SMTP connection) would be written to
    a closed stream, and the error printed wherever pytest's output goes at that moment."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if isinstance(h.formatter, (JsonFormatter, TextFormatter))]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def stream_handlers() -> Iterator[tuple[str, logging.StreamHandler[Any]]]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        if isinstance(logger, logging.Logger):
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler):
                    yield logger.name, handler


@pytest.fixture(scope="session", autouse=True)
def nothing_left_logging() -> Iterator[None]:
    """When the session ends, no SMTP server of the tests is left running (its thread logs every
    connection) and no logger writes to a closed stream (pytest closes each test's captured output)."""
    yield
    assert not mailboxes.RUNNING, f"mailboxes never stopped, on ports {[b.port for b in mailboxes.RUNNING]}"
    closed = [f"{name}: {handler!r}" for name, handler in stream_handlers() if handler.stream.closed]
    assert not closed, f"loggers left writing to closed streams: {closed}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"rejoinder_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); start it or use --db=sqlite"
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "rejoinder.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    with request.getfixturevalue("postgres_cleaner").begin() as conn:
        conn.execute(EMPTY_TABLES)
    return url


# DELETE is several times faster than TRUNCATE on tables this small; sent as one statement, children first,
# so emptying every table costs one round trip, not one per table.
EMPTY_TABLES = text("; ".join(f'DELETE FROM "{table.name}"' for table in reversed(metadata.sorted_tables)))


@pytest.fixture(scope="session")
def postgres_cleaner(postgres_url: str) -> Iterator[Engine]:
    """One connection for the whole session to empty the tables between tests."""
    engine = create_engine(postgres_url, poolclass=StaticPool)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(environ={}, overrides={"database_url": database_url, "secret_key": "test-secret"})


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(settings)
    yield context
    context.close()


@pytest.fixture
def pg_db(ctx: Context, backend: str) -> Database:
    """The context's store where the event loop's writes go to committer threads: PostgreSQL only."""
    if backend == "sqlite":
        pytest.skip("SQLite commits the loop's batches on the loop itself, with no committer threads")
    return ctx.db


@pytest.fixture
def site(ctx: Context) -> str:
    # These tests are about comments, not the filter: tests/test_spam_*.py use sites with it on.
    create_site(ctx, "test", "Test blog", [SITE_ORIGIN], spam_filter=False)
    return "test"


@pytest.fixture
def app(settings: Settings, ctx: Context):  # type: ignore[no-untyped-def]
    return create_app(settings, context=ctx)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not there: the shared test data lives beside the repository")
    return SHARED


@pytest.fixture
def steady_rate_windows() -> None:
    """Rate limits count per calendar minute and hour, weighing the last window by how much of it is left
    (a sliding-window counter), so a test that fills a window must not straddle a minute's end: wait out
    its last seconds."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.05)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1, collecting every message it is sent."""
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def mail_settings(database_url: str, mailbox: Mailbox) -> Settings:
    """Settings of a server that sends mail, through ``mailbox``."""
    return load_settings(
        environ={},
        overrides={
            "database_url": database_url,
            "secret_key": "test-secret",
            "public_url": "https://comments.blog.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_tls": "none",
            "mail_from": "Blog comments <comments@blog.example>",
        },
    )


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """A real OpenID Connect provider (tests/oidc_provider.py) whose test client returns to the in-process
    app's callback for a provider named ``oidc`` (public URL ``http://testserver``)."""
    with running_provider(["http://testserver/auth/oidc/callback"]) as provider:
        yield provider
