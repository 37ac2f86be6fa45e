"""The ``rejoinder`` command: serve, demo, migrate, admin and docs chores."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rejoinder import __version__
from rejoinder.errors import RejoinderError
from rejoinder.settings import DEFAULT_DATABASE_URL, Settings, load_settings, settings_reference

DEMO_DATABASE_URL = "sqlite:///rejoinder-data/demo.db"


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "database_url": getattr(args, "database", None),
    }
    return load_settings(args.config, overrides=overrides)


def _migrate(settings: Settings) -> None:
    from rejoinder.store.db import Database
    from rejoinder.store.migrate import upgrade

    db = Database(settings.database_url)
    try:
        upgrade(db)
    finally:
        db.dispose()


def _run_server(settings: Settings) -> None:
    import uvicorn

    from rejoinder.web.app import create_app
    from rejoinder.web.sse import StreamClosingServer

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: end with status 0, as a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,  # client addresses come from the trusted_proxies setting, nowhere else
    )
    server = StreamClosingServer(config)  # uvicorn.run, but open live streams end on a stop
    server.run()
    if not server.started:
        sys.exit(3)  # what uvicorn.run does when the server could not start


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _migrate(settings)
    print(
        f"Rejoinder {__version__} serving on {settings.base_url}/ (database: {_safe_url(settings)})",
        flush=True,
    )
    _run_server(settings)


def cmd_demo(args: argparse.Namespace) -> None:
    from rejoinder.context import Context
    from rejoinder.demo import cross_origin_url, install_demo
    from rejoinder.web.pages import serve_cross_origin_page

    settings = _settings(args)
    if settings.database_url == DEFAULT_DATABASE_URL:
        settings = settings.model_copy(update={"database_url": DEMO_DATABASE_URL})
    _migrate(settings)
    # A second origin on the next port embeds the same thread, to show cross-origin embedding.
    elsewhere = cross_origin_url(settings.host, settings.port)
    ctx = Context.open(settings)
    try:
        url = install_demo(ctx, settings.base_url, embed_origins=[elsewhere])
    finally:
        ctx.close()
    print(f"Rejoinder demo is running: open {url}", flush=True)
    if serve_cross_origin_page(settings.host, settings.port + 1, settings.base_url, url):
        print(f"The same thread embedded from another origin: {elsewhere}/", flush=True)
    _run_server(settings)


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _migrate(settings)
    print(f"database is up to date ({_safe_url(settings)})")


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[Any]:
    """The services' context on a migrated database, closed when the command is done."""
    from rejoinder.context import Context

    settings = _settings(args)
    _migrate(settings)
    ctx = Context.open(settings)
    try:
        yield ctx
    finally:
        ctx.close()


def _site_json(site: Any) -> str:
    return json.dumps(
        {
            "key": site.key,
            "name": site.name,
            "allowed_origins": list(site.allowed_origins),
            "settings": site.settings,
        }
    )


def _site_settings(args: argparse.Namespace) -> dict[str, Any]:
    chosen = {
        "max_depth": args.max_depth,
        "edit_window_seconds": args.edit_window,
        "moderation": args.moderation,
        "require_name_email": args.require_name_email,
        "privacy_url": args.privacy_url,
    }
    chosen.update(_named_settings(args.settings))
    return {k: v for k, v in chosen.items() if v is not None}


def _named_settings(pairs: list[str]) -> dict[str, Any]:
    from rejoinder.model import SiteSettings

    named: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair}: write NAME=VALUE")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        field = SiteSettings.__dataclass_fields__.get(name.strip())
        if field is not None and str(field.type).startswith("tuple") and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        named[name.strip()] = value
    return named


def cmd_site_create(args: argparse.Namespace) -> None:
    from rejoinder.sites import create_site

    with _opened(args) as ctx:
        print(
            _site_json(create_site(ctx, args.key, args.name or args.key, args.origin, **_site_settings(args)))
        )


def cmd_site_update(args: argparse.Namespace) -> None:
    from rejoinder.sites import update_site

    with _opened(args) as ctx:
        site = update_site(
            ctx,
            args.key,
            name=args.name,
            add_origins=args.origin,
            remove_origins=args.remove_origin,
            **_site_settings(args),
        )
        print(_site_json(site))


def cmd_site_list(args: argparse.Namespace) -> None:
    from rejoinder.sites import list_sites

    with _opened(args) as ctx:
        for site in list_sites(ctx):
            print(_site_json(site))


def cmd_thread_close(args: argparse.Namespace) -> None:
    from rejoinder.threads import close_thread

    with _opened(args) as ctx:
        close_thread(ctx, args.key, args.url, closed=args.action == "close")
        print(f"thread {args.url} of {args.key}: {'closed' if args.action == 'close' else 'open'}")


def cmd_spam_purge(args: argparse.Namespace) -> None:
    from rejoinder.spam.retention import purge

    with _opened(args) as ctx:
        removed = purge(ctx)
        print(f"purged {removed.comments} spam comments and {removed.tokens} used tokens")


def _spam_parsers(commands: Any) -> None:
    from rejoinder.spam import commands as spam_commands

    spam = spam_commands.add_parser(commands)
    purge = spam.add_parser(
        "purge", help="delete spam kept past its retention period (the server does it hourly)"
    )
    _store_options(purge)
    purge.set_defaults(run=cmd_spam_purge)


def cmd_settings_doc(_args: argparse.Namespace) -> None:
    sys.stdout.write(settings_reference())


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", metavar="URL", help="database URL (sqlite:///… or postgresql+psycopg://…)"
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")


def _site_options(parser: argparse.ArgumentParser, creating: bool) -> None:
    parser.add_argument("key", help="the site's key, used as data-site in the embed snippet")
    parser.add_argument("--name", help="display name")
    parser.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to embed comments, e.g. https://blog.example (repeatable)",
    )
    if not creating:
        parser.add_argument("--remove-origin", action="append", default=[], metavar="ORIGIN")
    parser.add_argument("--max-depth", type=int, help="levels of nesting, top level included")
    parser.add_argument("--edit-window", type=int, metavar="SECONDS", help="how long authors may edit")
    parser.add_argument(
        "--moderation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="hold every new comment for a moderator",
    )
    parser.add_argument("--require-name-email", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--privacy-url", help="the site's page on how comment data is processed")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="settings",
        help="any other site setting, e.g. --set pow=always --set banned_domains=spam.example,x.test "
        "(see docs/spam.md); a value is read as JSON when it parses, lists may be comma-separated",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rejoinder", description="Self-hosted, privacy-first comments.")
    parser.add_argument("--version", action="version", version=f"rejoinder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, then serve")
    _server_options(serve)
    _store_options(serve)
    serve.set_defaults(run=cmd_serve)

    demo = commands.add_parser("demo", help="serve with a demo site and article at /demo/")
    _server_options(demo)
    _store_options(demo)
    demo.set_defaults(run=cmd_demo)

    migrate = commands.add_parser("migrate", help="apply pending migrations and exit")
    _store_options(migrate)
    migrate.set_defaults(run=cmd_migrate)

    admin = commands.add_parser("admin", help="manage sites and threads").add_subparsers(
        dest="admin", required=True
    )
    site = admin.add_parser("site", help="create, update or list sites").add_subparsers(
        dest="site", required=True
    )
    create = site.add_parser("create", help="add a site")
    _site_options(create, creating=True)
    _store_options(create)
    create.set_defaults(run=cmd_site_create)
    update = site.add_parser("update", help="change a site")
    _site_options(update, creating=False)
    _store_options(update)
    update.set_defaults(run=cmd_site_update)
    listing = site.add_parser("list", help="list sites as JSON lines")
    _store_options(listing)
    listing.set_defaults(run=cmd_site_list)

    thread = admin.add_parser("thread", help="close or reopen a thread").add_subparsers(
        dest="thread", required=True
    )
    for action in ("close", "open"):
        command = thread.add_parser(action, help=f"{action} a thread to new comments")
        command.add_argument("key", help="the site's key")
        command.add_argument("url", help="the article's address")
        _store_options(command)
        command.set_defaults(run=cmd_thread_close, action=action)

    from rejoinder.apikeys_cli import add_admin_token_parser, add_akismet_key_parser

    add_admin_token_parser(admin)
    add_akismet_key_parser(admin)
    _spam_parsers(commands)

    docs = commands.add_parser("settings-doc", help="print the settings reference as a Markdown table")
    docs.set_defaults(run=cmd_settings_doc, config=None)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "func"):  # commands that report success through an exit status
            sys.exit(args.func(args))
        args.run(args)
    except RejoinderError as exc:
        detail = "".join(f"\n  {name}: {rule}" for name, rule in exc.fields.items())
        sys.exit(f"rejoinder: {exc.message}{detail}")
    except KeyboardInterrupt:
        pass
