"""``rejoinder settings-doc``: the settings reference, generated from the settings' declaration."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rejoinder.settings import settings_reference


def cmd_settings_doc(_args: argparse.Namespace) -> None:
    sys.stdout.write(settings_reference())


def add_parsers(commands: Any) -> None:
    docs = commands.add_parser("settings-doc", help="print the settings reference as a Markdown table")
    docs.set_defaults(run=cmd_settings_doc, config=None)
