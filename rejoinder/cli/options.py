"""What the commands share: the common flags, settings from flags, and the services' context on a migrated
database.

Heavy modules (the store, the services, the web app) are imported inside the functions that use them: the
parser is built on every run, and ``rejoinder --help`` should not load a database driver.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rejoinder.settings import Settings, load_settings

if TYPE_CHECKING:
    from rejoinder.context import Context


def settings_of(args: argparse.Namespace) -> Settings:
    """Settings from defaults < the TOML file < the environment < the command's flags."""
    overrides = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "unix_socket": getattr(args, "unix_socket", None),
        "database_url": getattr(args, "database", None),
    }
    return load_settings(args.config, overrides=overrides)


def migrate(settings: Settings) -> None:
    from rejoinder.store.db import Database
    from rejoinder.store.migrate import is_current, upgrade

    db = Database(settings.database_url)
    try:
        if not is_current(db):
            upgrade(db)
    finally:
        db.dispose()


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[Context]:
    """The services' context on a migrated database, closed when the command is done."""
    from rejoinder.wiring import open_context

    settings = settings_of(args)
    migrate(settings)
    ctx = open_context(settings)
    try:
        yield ctx
    finally:
        ctx.close()


def safe_url(settings: Settings) -> str:
    """The database URL without its password, fit to print."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument(
        "--unix-socket",
        metavar="PATH",
        help="Unix socket to listen on instead (trusted_proxies must include unix)",
    )


def store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", metavar="URL", help="database URL (sqlite:///… or postgresql+psycopg://…)"
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")
