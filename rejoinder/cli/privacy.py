"""``rejoinder privacy export|erase --email``: a commenter's data rights, exercised by a moderator on
request until commenters can prove their address by mail themselves. Both are audit-logged."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rejoinder.cli.options import opened, store_options


def cmd_export(args: argparse.Namespace) -> None:
    from rejoinder import privacy
    from rejoinder.logs import configure_logging

    with opened(args) as ctx:
        configure_logging(ctx.settings, sys.stderr)  # the audit line; standard output is the export
        print(json.dumps(privacy.export_by_email(ctx, args.email), ensure_ascii=False, indent=2))


def cmd_erase(args: argparse.Namespace) -> None:
    from rejoinder import privacy
    from rejoinder.logs import configure_logging

    with opened(args) as ctx:
        configure_logging(ctx.settings, sys.stderr)
        erased = privacy.erase_by_email(ctx, args.email)
        print(f"erased {erased.comments} comments and {erased.subscriptions} notification subscriptions")


def add_parsers(commands: Any) -> None:
    group = commands.add_parser(
        "privacy", help="export or erase a commenter's comments and notification subscriptions"
    ).add_subparsers(
        dest="privacy_command", required=True
    )
    export = group.add_parser(
        "export", help="every comment signed with an e-mail address, and its subscriptions, as JSON"
    )
    erase = group.add_parser(
        "erase",
        help="erase every comment signed with an e-mail address (placeholders keep replies' places) and "
        "its subscriptions",
    )
    for parser, command in ((export, cmd_export), (erase, cmd_erase)):
        parser.add_argument("--email", required=True, help="the commenter's e-mail address")
        store_options(parser)
        parser.set_defaults(run=command)
