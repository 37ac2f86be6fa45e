"""``rejoinder admin user create|list|update|delete|token``: moderator accounts from the terminal.

Passwords are read from the terminal (asked twice) or, when standard input is not a terminal, from its
first line, so scripts can pipe one in; they never appear on the command line. Accounts are printed as
JSON lines; ``token`` prints the new personal token as its last word.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING, Any

from rejoinder.cli.options import opened, store_options

if TYPE_CHECKING:
    from rejoinder.model import Moderator


def _user_json(user: Moderator) -> str:
    roles = {site: role.value for site, role in sorted(user.roles.items())}
    return json.dumps({"id": user.id, "email": user.email, "roles": roles, "totp": user.totp})


def read_password(prompt: str = "Password: ") -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise SystemExit("rejoinder: the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_create(args: argparse.Namespace) -> None:
    from rejoinder import accounts
    from rejoinder.audit import cli_actor

    password = read_password()
    with opened(args) as ctx:
        print(_user_json(accounts.create_user(ctx, cli_actor(), args.email, password, args.site, args.role)))


def cmd_list(args: argparse.Namespace) -> None:
    from rejoinder import accounts

    with opened(args) as ctx:
        for user in accounts.list_users(ctx, args.site):
            print(_user_json(user))


def cmd_update(args: argparse.Namespace) -> None:
    from rejoinder import accounts
    from rejoinder.audit import cli_actor

    if args.role and not args.site:
        raise SystemExit("rejoinder: --role needs --site")
    password = read_password("New password: ") if args.password else None
    with opened(args) as ctx:
        actor = cli_actor()
        user = accounts.update_user(
            ctx,
            actor,
            args.email,
            site_key=args.site,
            role=args.role,
            remove_site=args.remove_site,
            password=password,
        )
        if args.totp == "on":
            factor = accounts.turn_on_totp(ctx, actor, args.email)
            print(f"Add this to an authenticator app (or scan it as a QR code): {factor.uri}")
            print("Recovery codes, each usable once instead of a code (keep them somewhere safe):")
            for code in factor.recovery_codes:
                print(f"  {code}")
        elif args.totp == "off":
            accounts.turn_off_totp(ctx, actor, args.email)
        print(_user_json(accounts.get_user(ctx, user.email)))


def cmd_delete(args: argparse.Namespace) -> None:
    from rejoinder import accounts
    from rejoinder.audit import cli_actor

    with opened(args) as ctx:
        gone = accounts.delete_user(ctx, cli_actor(), args.email)
        print(f"deleted {gone.email} (sessions and tokens revoked)")


def cmd_token(args: argparse.Namespace) -> None:
    from rejoinder import accounts
    from rejoinder.apikeys import ApiKeyKind, create_key
    from rejoinder.audit import cli_actor

    with opened(args) as ctx:
        owner = accounts.get_user(ctx, args.email)
        token = create_key(ctx, ApiKeyKind.PERSONAL, None, args.label, actor=cli_actor(), owner=owner)
        print(f"Personal token of {owner.email} (shown only now): {token}")


def add_user_parser(admin_subparsers: Any) -> None:
    users = admin_subparsers.add_parser(
        "user", help="moderator accounts: create, list, update, delete, issue a personal token"
    ).add_subparsers(dest="user_action", required=True)

    create = users.add_parser(
        "create", help="add a moderator (the password is asked for, or read from stdin)"
    )
    create.add_argument("email", help="the moderator's e-mail address, their login")
    create.add_argument("--site", required=True, metavar="KEY", help="a site they moderate")
    create.add_argument("--role", required=True, choices=("admin", "moderator"), help="their role on it")
    store_options(create)
    create.set_defaults(run=cmd_create)

    listing = users.add_parser("list", help="list moderators as JSON lines")
    listing.add_argument("--site", metavar="KEY", help="only the moderators of this site")
    store_options(listing)
    listing.set_defaults(run=cmd_list)

    update = users.add_parser("update", help="change roles, the password or the second factor")
    update.add_argument("email")
    update.add_argument("--site", metavar="KEY", help="give a role on this site (with --role)")
    update.add_argument("--role", choices=("admin", "moderator"))
    update.add_argument("--remove-site", metavar="KEY", help="take their role on this site away")
    update.add_argument(
        "--password", action="store_true", help="set a new password (asked for; ends their sessions)"
    )
    update.add_argument(
        "--totp",
        choices=("on", "off"),
        help="on: a new authenticator secret and recovery codes, printed once; off: password only",
    )
    store_options(update)
    update.set_defaults(run=cmd_update)

    delete = users.add_parser("delete", help="delete a moderator, their sessions and tokens")
    delete.add_argument("email")
    store_options(delete)
    delete.set_defaults(run=cmd_delete)

    token = users.add_parser("token", help="issue a personal API token and print it (its last word)")
    token.add_argument("email")
    token.add_argument("--label", default="", help="what the token is for (at most 200 characters)")
    store_options(token)
    token.set_defaults(run=cmd_token)
