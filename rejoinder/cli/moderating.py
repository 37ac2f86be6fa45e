"""``rejoinder mod list|show|approve|spam|delete``: the moderation queue from the terminal, acting as the
user running the command (``cli:$USER`` in the audit log). Comments are printed as JSON lines."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rejoinder.cli.options import opened, store_options

if TYPE_CHECKING:
    from rejoinder.queue import QueueItem

STATUSES = ("pending", "spam", "reported", "published", "deleted")


def _item(item: QueueItem, *, full: bool = False) -> dict[str, Any]:
    comment = item.comment
    out: dict[str, Any] = {
        "id": comment.id,
        "site": item.site,
        "status": comment.status.value,
        "created_at": comment.created_at.isoformat(),
        "author": comment.author.name,
        "email": comment.author.email,
        "thread": item.thread_url,
        "verdict": {"action": item.verdict_action, "score": item.verdict_score},
        "reports": len([r for r in item.reports if not r.resolved]),
    }
    if full:
        out.update(
            body=comment.body,
            ip=comment.remote_addr,
            reasons=item.verdict_reasons,
            parent=item.parent.id if item.parent else None,
            history={
                "approved": item.history.approved,
                "spam": item.history.spam,
                "deleted": item.history.deleted,
                "first_seen": item.history.first_seen.isoformat() if item.history.first_seen else None,
            },
            report_texts=[{"reason": r.reason, "text": r.text} for r in item.reports],
        )
    else:
        out["text"] = comment.body[:120]
    return out


def cmd_list(args: argparse.Namespace) -> None:
    from rejoinder import queue
    from rejoinder.audit import cli_actor

    filters = queue.QueueFilter(
        args.site, args.status, args.q, args.author, args.email, args.ip, args.url, args.sort
    )
    with opened(args) as ctx:
        items, next_cursor = queue.list_queue(ctx, cli_actor(), filters, args.cursor, args.limit)
        for item in items:
            print(json.dumps(_item(item), ensure_ascii=False))
        if next_cursor:
            print(json.dumps({"next_cursor": next_cursor}))


def cmd_show(args: argparse.Namespace) -> None:
    from rejoinder import queue
    from rejoinder.audit import cli_actor

    with opened(args) as ctx:
        print(
            json.dumps(
                _item(queue.get_item(ctx, cli_actor(), args.id), full=True), ensure_ascii=False, indent=2
            )
        )


def cmd_act(args: argparse.Namespace) -> None:
    from rejoinder import moderation
    from rejoinder.audit import cli_actor

    with opened(args) as ctx:
        done = moderation.moderate_many(ctx, cli_actor(), moderation.decision_of(args.action), args.ids)
        for comment_id in done.done:
            print(f"{args.action}: comment {comment_id}")
        for skipped in done.skipped:
            print(f"skipped: comment {skipped.id} {skipped.reason}")
        print(f"undo token: {done.undo}")


def add_parsers(commands: Any) -> None:
    group = commands.add_parser(
        "mod", help="the moderation queue: list, show, approve, spam, delete"
    ).add_subparsers(dest="mod_command", required=True)
    listing = group.add_parser("list", help="comments of the queue as JSON lines (held ones by default)")
    listing.add_argument("--site", metavar="KEY", help="one site (default: every site)")
    listing.add_argument("--status", choices=STATUSES, default="pending")
    listing.add_argument("--q", default="", metavar="TEXT", help="only comments whose text contains TEXT")
    listing.add_argument("--author", default="", help="only authors whose name contains this")
    listing.add_argument("--email", default="", help="only this author e-mail address")
    listing.add_argument("--ip", default="", help="only this client address")
    listing.add_argument("--url", default="", help="only threads whose address starts with this")
    listing.add_argument("--sort", choices=("newest", "oldest"), default="newest")
    listing.add_argument("--limit", type=int, default=50, help="comments per page (at most 100)")
    listing.add_argument("--cursor", help="the next_cursor a previous page printed")
    store_options(listing)
    listing.set_defaults(run=cmd_list)
    show = group.add_parser("show", help="one comment with its text, verdict, reasons and author history")
    show.add_argument("id", type=int)
    store_options(show)
    show.set_defaults(run=cmd_show)
    for action, what in (
        ("approve", "publish"),
        ("spam", "mark as spam (the filter learns)"),
        ("delete", "delete"),
    ):
        command = group.add_parser(action, help=f"{what} comments")
        command.add_argument("ids", type=int, nargs="+", metavar="ID")
        store_options(command)
        command.set_defaults(run=cmd_act, action=action)
