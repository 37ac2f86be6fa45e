"""``rejoinder serve``, ``rejoinder demo`` and ``rejoinder migrate``: run the server, or bring the database
up to date."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from typing import Any

from rejoinder import __version__
from rejoinder.cli.options import migrate, safe_url, server_options, settings_of, store_options
from rejoinder.settings import DEFAULT_DATABASE_URL, Settings, as_environment

DEMO_DATABASE_URL = "sqlite:///rejoinder-data/demo.db"


def run_server(settings: Settings, workers: int = 1, *, with_demo: bool = False) -> None:
    from rejoinder.logs import configure_logging
    from rejoinder.web.app import run

    configure_logging(settings, batched=True)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: end with status 0, as a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers > 1:
        # Each worker process builds its own app from the environment: hand it these very settings.
        os.environ.update(as_environment(settings))
    if not run(settings, workers, with_demo=with_demo):
        sys.exit(3)  # what uvicorn.run does when the server could not start


def cmd_serve(args: argparse.Namespace) -> None:
    from rejoinder.allocator import configure_malloc
    from rejoinder.logs import configure_logging

    configure_malloc()  # before any thread of the process allocates
    settings = settings_of(args)
    # A log collector reads this output: every line in the chosen format.
    configure_logging(settings, batched=True)
    migrate(settings)
    logging.getLogger("rejoinder").info(
        "Rejoinder %s serving on %s/ (database: %s)", __version__, settings.base_url, safe_url(settings)
    )
    run_server(settings, args.workers)


def cmd_demo(args: argparse.Namespace) -> None:
    from rejoinder.allocator import configure_malloc
    from rejoinder.demo import SITE_KEY, cross_origin_url, install_demo
    from rejoinder.web.app import serve_demo_origin
    from rejoinder.wiring import open_context

    configure_malloc()  # before any thread of the process allocates
    settings = settings_of(args)
    if not settings.unix_socket and not port_is_free(settings.host, settings.port):
        # Said before anything is written or printed as running: the server could not start anyway.
        print(
            f"rejoinder demo: {settings.host}:{settings.port} is in use by another program; "
            f"choose another port, e.g. rejoinder demo --port {settings.port + 10}",
            file=sys.stderr,
        )
        sys.exit(3)
    if settings.database_url == DEFAULT_DATABASE_URL:
        settings = settings.model_copy(update={"database_url": DEMO_DATABASE_URL})
    if not settings.mail_enabled:
        # Readers may try the mailed log-in link: it is printed to the log instead of being sent.
        settings = settings.model_copy(update={"login_links_to_log": True})
    migrate(settings)
    # A second origin on the next port embeds the same thread, to show cross-origin embedding.
    elsewhere = cross_origin_url(settings.host, settings.port)
    ctx = open_context(settings)
    try:
        url = install_demo(ctx, settings.base_url, embed_origins=[elsewhere])
    finally:
        ctx.close()
    print(f"Rejoinder demo is running: open {url}", flush=True)
    if serve_demo_origin(settings, url) is not None:
        print(f"The same thread embedded from another origin: {elsewhere}/", flush=True)
    print(
        f"Moderators' dashboard: {settings.base_url}/dashboard/ (an account for it: rejoinder admin user "
        f"create EMAIL --site {SITE_KEY} --role admin --database {safe_url(settings)})",
        flush=True,
    )
    run_server(settings, with_demo=True)


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (nothing else listens there)."""
    try:
        with socket.create_server((host, port)):
            return True
    except (OSError, OverflowError):  # taken, not allowed, or past 65535
        return False


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    migrate(settings)
    print(f"database is up to date ({safe_url(settings)})")


def add_parsers(commands: Any) -> None:
    """``serve``, ``demo`` and ``migrate`` on the top-level subparsers."""
    serve = commands.add_parser("serve", help="apply pending migrations, then serve")
    server_options(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port (default 1); with more than one, set redis_url so a "
        "change made through one reaches the others' caches at once",
    )
    store_options(serve)
    serve.set_defaults(run=cmd_serve)

    demo = commands.add_parser("demo", help="serve with a demo site and article at /demo/")
    server_options(demo)
    store_options(demo)
    demo.set_defaults(run=cmd_demo)

    migrate_ = commands.add_parser("migrate", help="apply pending migrations and exit")
    store_options(migrate_)
    migrate_.set_defaults(run=cmd_migrate)
