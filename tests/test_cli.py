"""The ``rejoinder`` admin commands, run in-process against a fresh SQLite file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rejoinder.cli import build_parser, main
from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.errors import ThreadClosed
from rejoinder.model import Author
from rejoinder.settings import load_settings
from rejoinder.sites import list_sites
from rejoinder.wiring import open_context

URL = "https://blog.example/a-post"


def run(capsys: pytest.CaptureFixture[str], database: str, *argv: str) -> str:
    main([*argv, "--database", database])
    return capsys.readouterr().out


def test_sites_are_created_listed_and_updated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    created = json.loads(
        run(capsys, db, "admin", "site", "create", "blog", "--origin", "https://Blog.Example/")
    )
    assert created == {
        "key": "blog",
        "name": "blog",
        "allowed_origins": ["https://blog.example"],
        "settings": {"restrict_thread_urls": True},
    }
    updated = json.loads(
        run(
            capsys,
            db,
            "admin",
            "site",
            "update",
            "blog",
            "--name",
            "The blog",
            "--moderation",
            "--max-depth",
            "3",
            "--origin",
            "https://www.blog.example",
        )
    )
    assert updated["name"] == "The blog"
    assert updated["allowed_origins"] == ["https://blog.example", "https://www.blog.example"]
    assert updated["settings"] == {"restrict_thread_urls": True, "premoderation": "all", "max_depth": 3}
    listed = [json.loads(line) for line in run(capsys, db, "admin", "site", "list").splitlines()]
    assert [site["key"] for site in listed] == ["blog"]


def test_a_bad_site_key_is_refused_with_the_rule(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["admin", "site", "create", "Not A Key", "--database", f"sqlite:///{tmp_path}/cli.db"])
    assert "key: must be 1-64 lower-case letters" in str(exit.value)


def test_threads_are_closed_and_opened_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    run(capsys, db, "admin", "site", "create", "blog")
    ctx = open_context(load_settings(environ={}, overrides={"database_url": db}))
    try:

        def post() -> None:
            post_comment(ctx, NewComment(site="blog", url=URL, body="hello", author=Author("Ada")), Client())

        post()
        assert "closed" in run(capsys, db, "admin", "thread", "close", "blog", URL)
        with pytest.raises(ThreadClosed):
            post()
        assert "open" in run(capsys, db, "admin", "thread", "open", "blog", URL)
        post()
    finally:
        ctx.close()


def _leaf_commands() -> list[tuple[str, argparse.ArgumentParser]]:
    found = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if parser.get_default("run") or parser.get_default("func"):
            found.append((" ".join(path), parser))
        for sub in subs:
            for name, child in sub.choices.items():
                walk(child, [*path, name])

    walk(build_parser(), [])
    return found


def test_every_command_on_the_store_reads_settings_the_same_way() -> None:
    """A command with --database has --config too: the TOML file `serve` reads is readable by all."""
    for path, parser in _leaf_commands():
        options = {option for action in parser._actions for option in action.option_strings}
        assert ("--database" in options) == ("--config" in options), path


def test_a_site_created_with_the_servers_config_is_the_servers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "rejoinder.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/server.db"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REJOINDER_CONFIG", str(config))
    main(["admin", "site", "create", "blog"])
    assert f"created in sqlite:///{tmp_path}/server.db" in capsys.readouterr().err
    settings = load_settings(config)  # what `serve --config FILE` reads
    ctx = open_context(settings)
    try:
        assert [site.key for site in list_sites(ctx)] == ["blog"]
    finally:
        ctx.close()
    assert not (tmp_path / "rejoinder-data").exists()  # nothing went to the default database
