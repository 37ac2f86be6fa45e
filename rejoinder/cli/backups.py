"""``rejoinder backup FILE`` and ``rejoinder restore FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rejoinder.cli.options import opened, settings_of, store_options


def cmd_backup(args: argparse.Namespace) -> None:
    from rejoinder.backup import backup

    print(backup(settings_of(args), Path(args.file)).summary())


def cmd_restore(args: argparse.Namespace) -> None:
    from rejoinder import audit
    from rejoinder.backup import restore

    restored = restore(settings_of(args), Path(args.file), force=args.force)
    # Written into the restored database: the log that was replaced cannot say so any more.
    with opened(args) as ctx, ctx.db.write() as conn:
        after = {"file": Path(args.file).name, "comments": restored.comments}
        audit.record(conn, audit.cli_actor(), "restore", after=after)
    print(restored.summary("restored"))


def add_parsers(commands: Any) -> None:
    """``backup`` and ``restore`` on the top-level subparsers."""
    copy = commands.add_parser("backup", help="copy the database to FILE while the server runs, and check it")
    copy.add_argument(
        "file", metavar="FILE", help="where to write the backup (SQLite file or pg_dump archive)"
    )
    restoring = commands.add_parser("restore", help="replace the database with a backup, then migrate it")
    restoring.add_argument("file", metavar="FILE", help="a file written by rejoinder backup")
    restoring.add_argument("--force", action="store_true", help="even if a server has the database open")
    for command, run in ((copy, cmd_backup), (restoring, cmd_restore)):
        store_options(command)
        command.set_defaults(run=run)
