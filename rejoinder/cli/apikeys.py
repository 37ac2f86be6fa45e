"""The ``rejoinder admin token`` and ``rejoinder admin akismet-key`` commands: issue, list and revoke keys.

A new key is printed alone on stdout, so that a script can capture it; lists are JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rejoinder.cli.options import opened, store_options

if TYPE_CHECKING:  # the parsers are built on every run: the store is imported only by the commands
    from rejoinder.apikeys import ApiKey

ADMIN, AKISMET = "admin", "akismet"  # the values of rejoinder.apikeys.ApiKeyKind


def _key_json(key: ApiKey) -> str:
    return json.dumps(
        {
            "id": key.id,
            "kind": key.kind.value,
            "site": key.site_key,
            "label": key.label,
            "created_at": key.created_at.isoformat(),
            "calls": key.calls,
        }
    )


def _label_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label", default="", help="what the key is for, shown by list (at most 200 characters)"
    )


def cmd_token_create(args: argparse.Namespace) -> None:
    from rejoinder.apikeys import create_key

    with opened(args) as ctx:
        sys.stdout.write(create_key(ctx, ADMIN, None, args.label) + "\n")


def cmd_akismet_key_create(args: argparse.Namespace) -> None:
    from rejoinder.apikeys import create_key, find_site

    with opened(args) as ctx:
        site = find_site(ctx, args.site)
        sys.stdout.write(create_key(ctx, AKISMET, site.key, args.label) + "\n")


def cmd_key_list(args: argparse.Namespace) -> None:
    from rejoinder.apikeys import find_site, list_keys

    with opened(args) as ctx:
        site_key = find_site(ctx, args.site).key if getattr(args, "site", None) else None
        for key in list_keys(ctx, args.kind, site_key):
            sys.stdout.write(_key_json(key) + "\n")


def cmd_key_revoke(args: argparse.Namespace) -> None:
    from rejoinder.apikeys import revoke_key

    with opened(args) as ctx:
        sys.stdout.write(_key_json(revoke_key(ctx, args.id, args.kind)) + "\n")


def _list_and_revoke(actions: Any, kind: str, what: str) -> None:
    listing = actions.add_parser("list", help=f"list {what}s as JSON lines (never the keys themselves)")
    if kind == AKISMET:
        listing.add_argument("--site", metavar="KEY_OR_URL", help="only the keys of this site")
    store_options(listing)
    listing.set_defaults(run=cmd_key_list, kind=kind)
    revoke = actions.add_parser("revoke", help=f"revoke a {what} for good")
    revoke.add_argument("id", type=int, help=f"the {what}'s id, as list shows it")
    store_options(revoke)
    revoke.set_defaults(run=cmd_key_revoke, kind=kind)


def add_admin_token_parser(admin_subparsers: Any) -> None:
    """``rejoinder admin token [create|list|revoke ID]``; plain ``rejoinder admin token`` issues one."""
    token = admin_subparsers.add_parser(
        "token", help="issue (the default), list or revoke admin tokens for the moderation API"
    )
    _label_option(token)
    store_options(token)
    token.set_defaults(run=cmd_token_create)
    actions = token.add_subparsers(dest="token_action", metavar="{create,list,revoke}")
    create = actions.add_parser("create", help="issue an admin token and print it (it is shown only once)")
    _label_option(create)
    store_options(create)
    create.set_defaults(run=cmd_token_create)
    _list_and_revoke(actions, ADMIN, "admin token")


def add_akismet_key_parser(admin_subparsers: Any) -> None:
    """``rejoinder admin akismet-key create --site KEY_OR_URL [--label L] | list [--site S] | revoke ID``."""
    akismet = admin_subparsers.add_parser(
        "akismet-key", help="issue, list or revoke keys for the Akismet-compatible API of a site"
    ).add_subparsers(dest="akismet_action", required=True)
    create = akismet.add_parser("create", help="issue a key for one site and print it (shown only once)")
    create.add_argument(
        "--site",
        required=True,
        metavar="KEY_OR_URL",
        help="the site's key, or an address on one of its allowed origins, e.g. https://blog.example",
    )
    _label_option(create)
    store_options(create)
    create.set_defaults(run=cmd_akismet_key_create)
    _list_and_revoke(akismet, AKISMET, "Akismet key")
