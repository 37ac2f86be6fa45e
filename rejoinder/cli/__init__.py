"""The ``rejoinder`` command: the parser wiring and ``main``. Each group of commands lives in its own
module and adds its parsers here: ``serve`` (serve, demo, migrate), ``admin`` (sites and threads),
``providers`` (readers' login providers), ``users`` (moderator accounts), ``apikeys`` (admin tokens and
Akismet keys), ``moderating`` (the queue), ``spam`` (fetch, train, eval, purge), ``abuse`` (train, eval,
scan), ``jobs`` (worker, jobs), ``backups`` (backup, restore), ``importing`` (import, export), ``docs``
(settings-doc), ``privacy`` (export, erase), ``mail`` (test, suppress, moderator, subscriptions) and
``webhooks``. docs/reference/cli.md documents every command (tests/test_docs_cli.py holds it to this)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rejoinder import __version__
from rejoinder.cli import (
    abuse,
    admin,
    apikeys,
    backups,
    docs,
    importing,
    jobs,
    mail,
    moderating,
    privacy,
    providers,
    serve,
    spam,
    users,
    webhooks,
)
from rejoinder.errors import RejoinderError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rejoinder", description="Self-hosted, privacy-first comments.")
    parser.add_argument("--version", action="version", version=f"rejoinder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_parsers(commands)
    admin_commands = commands.add_parser(
        "admin", help="sites, threads, login providers, moderator accounts, admin tokens, Akismet keys"
    ).add_subparsers(dest="admin", required=True)
    admin.add_site_and_thread_parsers(admin_commands)
    providers.add_provider_parser(admin_commands)
    users.add_user_parser(admin_commands)
    apikeys.add_admin_token_parser(admin_commands)
    apikeys.add_akismet_key_parser(admin_commands)
    moderating.add_parsers(commands)
    spam.add_parser(commands)
    abuse.add_parsers(commands)
    jobs.add_parsers(commands)
    backups.add_parsers(commands)
    importing.add_parsers(commands)
    docs.add_parsers(commands)
    privacy.add_parsers(commands)
    mail.add_parsers(commands)
    webhooks.add_parsers(commands)
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
