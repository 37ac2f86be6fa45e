"""The ``rejoinder webhooks`` commands: add, list and remove a site's webhooks, and see their last
deliveries. Lists are JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rejoinder.cli.options import opened, store_options

EVENT_TYPES = ("comment.created", "comment.edited", "comment.moderated")  # rejoinder.notify.webhooks'


def cmd_add(args: argparse.Namespace) -> None:
    from rejoinder.notify import webhooks

    with opened(args) as ctx:
        hook = webhooks.add(ctx, args.site, args.url, args.event or None)
    sys.stdout.write(
        json.dumps({"id": hook.id, "url": hook.url, "events": hook.events, "secret": hook.secret}) + "\n"
    )
    sys.stderr.write(
        "Keep the secret: the receiver verifies signatures with it, and it is not shown again.\n"
    )


def cmd_list(args: argparse.Namespace) -> None:
    from rejoinder.notify import webhooks

    with opened(args) as ctx:
        for hook in webhooks.list_webhooks(ctx, args.site):
            row = {
                "id": hook.id,
                "url": hook.url,
                "events": hook.events,
                "created_at": hook.created_at.isoformat(),
            }
            sys.stdout.write(json.dumps(row) + "\n")


def cmd_remove(args: argparse.Namespace) -> None:
    from rejoinder.notify import webhooks

    with opened(args) as ctx:
        webhooks.remove(ctx, args.site, args.id)
    sys.stdout.write(f"webhook {args.id} removed\n")


def cmd_deliveries(args: argparse.Namespace) -> None:
    from rejoinder.notify import webhooks

    with opened(args) as ctx:
        for delivery in webhooks.deliveries(ctx, args.site, args.limit):
            row = {
                "id": delivery.id,
                "webhook_id": delivery.webhook_id,
                "message_id": delivery.message_id,
                "type": delivery.event_type,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "response_status": delivery.response_status,
                "last_error": delivery.last_error,
                "created_at": delivery.created_at.isoformat(),
                "attempted_at": delivery.attempted_at.isoformat() if delivery.attempted_at else None,
            }
            sys.stdout.write(json.dumps(row) + "\n")


def add_parsers(commands: Any) -> None:
    """Add ``webhooks add|list|remove|deliveries`` to the top-level subparsers."""
    hooks = commands.add_parser("webhooks", help="a site's webhooks and their deliveries").add_subparsers(
        dest="webhooks", required=True
    )
    add = hooks.add_parser("add", help="POST the site's comment events to URL (prints the signing secret)")
    add.add_argument("url", help="http(s) address that receives the events")
    add.add_argument(
        "--event", action="append", choices=EVENT_TYPES, help="only these types (default: all); repeatable"
    )
    listing = hooks.add_parser("list", help="the site's webhooks, as JSON lines")
    remove = hooks.add_parser("remove", help="remove a webhook (its pending deliveries are dropped)")
    remove.add_argument("id", type=int)
    shown = hooks.add_parser("deliveries", help="the site's last deliveries, newest first, as JSON lines")
    shown.add_argument("--limit", type=int, default=50)
    for parser, run in ((add, cmd_add), (listing, cmd_list), (remove, cmd_remove), (shown, cmd_deliveries)):
        parser.add_argument("--site", required=True, help="the site's key")
        store_options(parser)
        parser.set_defaults(run=run)
