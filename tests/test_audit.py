"""The audit log covers what the terminal changes too: sites, threads, imports and commenters' data
requests, each under the name of the user who ran the command (``cli:$USER``); e-mail addresses of data
requests only as keyed hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rejoinder.audit import cli_actor, entries
from rejoinder.cli import main
from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.model import Author
from rejoinder.settings import load_settings
from rejoinder.wiring import open_context

URL = "https://blog.example/a-post"


def test_admin_commands_are_in_the_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "alice")
    database = ["--database", f"sqlite:///{tmp_path}/cli.db"]
    main(["admin", "site", "create", "blog", "--origin", "https://blog.example", *database])
    main(["admin", "site", "update", "blog", "--set", "premoderation=first", *database])
    ctx = open_context(load_settings(environ={}, overrides={"database_url": database[1]}))
    try:
        post_comment(ctx, NewComment("blog", URL, "Mine", author=Author("Me", "me@example.org")), Client())
        main(["admin", "thread", "close", "blog", URL, *database])
        main(["privacy", "export", "--email", "me@example.org", *database])
        main(["privacy", "erase", "--email", "me@example.org", *database])
        logged, _ = entries(ctx, cli_actor())
    finally:
        ctx.close()
    capsys.readouterr()
    actions = [(e.action, e.site) for e in reversed(logged)]
    assert actions == [
        ("site.create", "blog"),
        ("settings.change", "blog"),
        ("thread.close", "blog"),
        ("privacy.export", None),
        ("privacy.erase", None),
    ]
    assert {e.actor for e in logged} == {"cli:alice"}
    by_action = {e.action: e for e in logged}
    assert by_action["settings.change"].before == {"premoderation": None}
    assert by_action["settings.change"].after == {"premoderation": "first"}
    assert by_action["thread.close"].after == {"url": URL}
    erase = by_action["privacy.erase"]
    assert erase.after["comments"] == 1 and "me@example.org" not in json.dumps(erase.after)
    assert erase.after["email_hash"] == by_action["privacy.export"].after["email_hash"]


def test_an_import_is_in_the_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shared_dir: Path
) -> None:
    monkeypatch.setenv("USER", "bob")
    database = ["--database", f"sqlite:///{tmp_path}/cli.db"]
    main(["admin", "site", "create", "blog", *database])
    wxr = str(shared_dir / "data/wxr/themeunittestdata.wordpress.xml")
    with pytest.raises(SystemExit):
        main(["import", "wordpress", wxr, "--site", "blog", *database])
    capsys.readouterr()
    ctx = open_context(load_settings(environ={}, overrides={"database_url": database[1]}))
    try:
        logged, _ = entries(ctx, cli_actor())
    finally:
        ctx.close()
    imported = logged[0]
    assert (imported.action, imported.actor, imported.site) == ("import", "cli:bob", "blog")
    assert imported.after == {
        "source": "wordpress",
        "file": "themeunittestdata.wordpress.xml",
        "created": 33,
        "existing": 0,
    }


def test_a_restore_is_in_the_restored_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "carol")
    database = ["--database", f"sqlite:///{tmp_path}/cli.db"]
    main(["admin", "site", "create", "blog", *database])
    main(["backup", str(tmp_path / "copy.db"), *database])
    main(["restore", str(tmp_path / "copy.db"), *database])
    assert "restored" in capsys.readouterr().out
    ctx = open_context(load_settings(environ={}, overrides={"database_url": database[1]}))
    try:
        logged, _ = entries(ctx, cli_actor())
    finally:
        ctx.close()
    assert [(e.action, e.actor, e.after) for e in logged] == [
        ("restore", "cli:carol", {"file": "copy.db", "comments": 0}),
        ("site.create", "cli:carol", logged[1].after),
    ]
