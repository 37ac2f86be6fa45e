"""``rejoinder settings-doc [--site]``: the server's or the sites' settings reference, generated from the
settings' declarations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rejoinder.settings import settings_reference


def cmd_settings_doc(args: argparse.Namespace) -> None:
    if args.site:
        from rejoinder.sitesettings import site_settings_reference

        sys.stdout.write(site_settings_reference())
    else:
        sys.stdout.write(settings_reference())


def add_parsers(commands: Any) -> None:
    docs = commands.add_parser(
        "settings-doc",
        help="print the settings reference (or, with --site, the site settings') as a Markdown table",
    )
    docs.add_argument("--site", action="store_true", help="the per-site settings instead of the server's")
    docs.set_defaults(run=cmd_settings_doc, config=None)
