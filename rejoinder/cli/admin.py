"""``rejoinder admin site …`` and ``rejoinder admin thread …``: manage sites and close threads. Sites are
printed as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rejoinder.cli.options import opened, safe_url, store_options

if TYPE_CHECKING:
    from rejoinder.model import Site


def _site_json(site: Site) -> str:
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
    from rejoinder.sitesettings import SiteSettings

    named: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair}: write NAME=VALUE")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        field = SiteSettings.model_fields.get(name.strip())
        if field is not None and "tuple" in str(field.annotation) and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        named[name.strip()] = value
    return named


def cmd_site_create(args: argparse.Namespace) -> None:
    from rejoinder.sites import create_site

    with opened(args) as ctx:
        print(
            _site_json(create_site(ctx, args.key, args.name or args.key, args.origin, **_site_settings(args)))
        )
        # Said because a site created in another database than the server's is the classic first mistake.
        print(f"site {args.key} created in {safe_url(ctx.settings)}", file=sys.stderr)


def cmd_site_update(args: argparse.Namespace) -> None:
    from rejoinder.sites import update_site

    with opened(args) as ctx:
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

    with opened(args) as ctx:
        for site in list_sites(ctx):
            print(_site_json(site))


def cmd_thread_close(args: argparse.Namespace) -> None:
    from rejoinder.threads import close_thread

    with opened(args) as ctx:
        close_thread(ctx, args.key, args.url, closed=args.action == "close")
        print(f"thread {args.url} of {args.key}: {'closed' if args.action == 'close' else 'open'}")


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
        help="hold every new comment for a moderator (premoderation=all; --no-moderation: none)",
    )
    parser.add_argument("--require-name-email", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--privacy-url", help="the site's page on how comment data is processed")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="settings",
        help="any other site setting, e.g. --set premoderation=first --set banned_domains=a.example,b.test "
        "(docs/reference/site-settings.md); a value is read as JSON when it parses, lists may be "
        "comma-separated",
    )


def add_site_and_thread_parsers(admin: Any) -> None:
    """``site create|update|list`` and ``thread close|open`` on the ``admin`` subparsers."""
    site = admin.add_parser("site", help="create, update or list sites").add_subparsers(
        dest="site", required=True
    )
    create = site.add_parser("create", help="add a site")
    _site_options(create, creating=True)
    store_options(create)
    create.set_defaults(run=cmd_site_create)
    update = site.add_parser("update", help="change a site")
    _site_options(update, creating=False)
    store_options(update)
    update.set_defaults(run=cmd_site_update)
    listing = site.add_parser("list", help="list sites as JSON lines")
    store_options(listing)
    listing.set_defaults(run=cmd_site_list)

    thread = admin.add_parser("thread", help="close or reopen a thread").add_subparsers(
        dest="thread", required=True
    )
    for action in ("close", "open"):
        command = thread.add_parser(action, help=f"{action} a thread to new comments")
        command.add_argument("key", help="the site's key")
        command.add_argument("url", help="the article's address")
        store_options(command)
        command.set_defaults(run=cmd_thread_close, action=action)
