"""``rejoinder admin provider add|list|remove``: the login providers readers may log in with, stored in the
database (those of the settings file, ``login_providers``, are listed too). ``add`` prints the callback
address to register at the provider."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rejoinder.cli.options import opened, store_options

PRESETS = ("wordpress", "google", "x", "facebook", "github", "oidc")


def cmd_provider_add(args: argparse.Namespace) -> None:
    from rejoinder import providers

    with opened(args) as ctx:
        added = providers.add(
            ctx, args.name, args.preset, args.client_id, args.client_secret, issuer=args.issuer or "",
            site_key=args.site,
        )  # fmt: skip
        print(f"provider {added.name} ({added.display_name}) added")
        callback = providers.callback_url(ctx, added.name)
        print(f"register this callback (redirect) URL at the provider: {callback}")


def cmd_provider_list(args: argparse.Namespace) -> None:
    from rejoinder import providers

    with opened(args) as ctx:
        stored = {p.name for p in ctx.settings.login_providers}
        for provider in providers.configured(ctx):
            print(
                json.dumps(
                    {
                        "name": provider.name,
                        "preset": provider.preset.key,
                        "title": provider.display_name,
                        "issuer": provider.issuer or None,
                        "client_id": provider.client_id,
                        "sites": list(provider.sites),
                        "from": "settings" if provider.name in stored else "database",
                        "callback_url": providers.callback_url(ctx, provider.name),
                    }
                )
            )


def cmd_provider_remove(args: argparse.Namespace) -> None:
    from rejoinder import providers

    with opened(args) as ctx:
        providers.remove(ctx, args.name)
        print(f"provider {args.name} removed")


def add_provider_parser(admin: Any) -> None:
    """``provider add|list|remove`` on the ``admin`` subparsers."""
    provider = admin.add_parser("provider", help="login providers for readers").add_subparsers(
        dest="provider", required=True
    )
    add = provider.add_parser("add", help="add a login provider; prints the callback URL to register")
    add.add_argument("name", help="its name in the callback URL, e.g. github (lower-case letters, digits, -)")
    add.add_argument("--preset", required=True, choices=PRESETS, help="which kind of provider it is")
    add.add_argument("--issuer", help="for --preset oidc: the issuer URL (its discovery document is read)")
    add.add_argument("--client-id", required=True, help="the OAuth client id the provider gave")
    add.add_argument("--client-secret", required=True, help="the OAuth client secret the provider gave")
    add.add_argument("--site", help="offer it on this site only (default: every site)")
    store_options(add)
    add.set_defaults(run=cmd_provider_add)
    listing = provider.add_parser("list", help="list login providers as JSON lines (secrets left out)")
    store_options(listing)
    listing.set_defaults(run=cmd_provider_list)
    remove = provider.add_parser("remove", help="remove a provider added with `provider add`")
    remove.add_argument("name")
    store_options(remove)
    remove.set_defaults(run=cmd_provider_remove)
