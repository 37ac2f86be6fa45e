"""The ``rejoinder mail`` commands: send a test mail, suppress an address, list an address's
subscriptions, and how a moderator is mailed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rejoinder.cli.options import opened, settings_of, store_options


def cmd_mail_test(args: argparse.Namespace) -> int:
    from rejoinder.notify.letters import Letters
    from rejoinder.notify.mail import Mail, MailFailed, deliver, message_of

    settings = settings_of(args)
    letter = Letters().render("test", args.lang, "test_subject", server=settings.base_url)
    mail = Mail(args.address, letter.subject, letter.text, letter.html)
    try:
        answer = deliver(settings, message_of(settings, mail))
    except MailFailed as exc:
        sys.stderr.write(f"not sent: {exc.message}\n")
        return 1
    sys.stdout.write(f"sent to {args.address} through {settings.smtp_host}:{settings.smtp_port}: {answer}\n")
    return 0


def cmd_mail_suppress(args: argparse.Namespace) -> None:
    from rejoinder.notify.subscriptions import suppress

    with opened(args) as ctx:
        suppress(ctx, args.site, args.address, not args.undo)
    state = "may get mail again" if args.undo else "gets no more mail"
    sys.stdout.write(f"{args.address} {state} from site {args.site}\n")


def cmd_mail_subscriptions(args: argparse.Namespace) -> None:
    from rejoinder.notify.subscriptions import subscriptions_of

    with opened(args) as ctx:
        for sub in subscriptions_of(ctx, args.address.strip().lower()):
            row = {
                "id": sub.id,
                "site": sub.site_key,
                "kind": sub.kind,
                "thread": sub.thread_url or None,
                "comment_id": sub.comment_id,
                "confirmed": sub.confirmed,
            }
            sys.stdout.write(json.dumps(row) + "\n")


def cmd_mail_moderator(args: argparse.Namespace) -> None:
    from rejoinder.accounts import get_user
    from rejoinder.notify import moderators

    with opened(args) as ctx:
        moderator = get_user(ctx, args.email)
        current = moderators.preference(ctx, moderator)
        mode = args.mode or current.mode
        every = current.all_comments if args.all_comments is None else args.all_comments
        if args.mode is not None or args.all_comments is not None:
            moderators.set_preference(ctx, moderator, mode, every)
    sys.stdout.write(json.dumps({"email": moderator.email, "mode": mode, "all_comments": every}) + "\n")


def add_parsers(commands: Any) -> None:
    """Add ``mail test|suppress|moderator|subscriptions`` to the top-level subparsers."""
    mail = commands.add_parser(
        "mail", help="outgoing mail: test it, suppress addresses, moderators' mail, subscriptions"
    ).add_subparsers(dest="mail", required=True)
    test = mail.add_parser(
        "test",
        help="send one test mail now and print what the SMTP server answered",
        description="Send one mail through the configured SMTP server (smtp_host, …) at once, not as a "
        "job, and print the server's answer; exits 1 if it was not sent.",
    )
    test.add_argument("address", help="where to send it")
    test.add_argument("--lang", choices=("en", "uk", "de"), default="en", help="language of the mail")
    store_options(test)
    test.set_defaults(func=cmd_mail_test)

    suppress = mail.add_parser(
        "suppress", help="send an address no more mail from a site (it keeps its subscriptions)"
    )
    suppress.add_argument("address")
    suppress.add_argument("--site", required=True, help="the site's key")
    suppress.add_argument("--undo", action="store_true", help="let the address get mail again")
    store_options(suppress)
    suppress.set_defaults(run=cmd_mail_suppress)

    moderator = mail.add_parser(
        "moderator", help="how a moderator is mailed about held and reported comments (shown, or changed)"
    )
    moderator.add_argument("email", help="the moderator's account")
    moderator.add_argument(
        "--mode", choices=("instant", "hourly", "daily", "off"), help="at once, as a digest, or not at all"
    )
    moderator.add_argument(
        "--all-comments", action=argparse.BooleanOptionalAction, default=None, help="also every new comment"
    )
    store_options(moderator)
    moderator.set_defaults(run=cmd_mail_moderator)

    listing = mail.add_parser("subscriptions", help="an address's subscriptions on every site, as JSON lines")
    listing.add_argument("address")
    store_options(listing)
    listing.set_defaults(run=cmd_mail_subscriptions)
