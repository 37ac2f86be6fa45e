"""``rejoinder admin provider add|list|remove`` and login providers in the settings file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rejoinder.cli import main
from rejoinder.errors import ConfigurationError
from rejoinder.settings import load_settings


def run(capsys: pytest.CaptureFixture[str], database: str, *argv: str) -> str:
    main([*argv, "--database", database])
    return capsys.readouterr().out


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REJOINDER_PUBLIC_URL", "https://comments.blog.example")
    db = f"sqlite:///{tmp_path}/cli.db"
    main(["migrate", "--database", db])
    return db


def test_a_provider_is_added_with_its_callback_listed_and_removed(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    out = run(
        capsys, database, "admin", "provider", "add", "github", "--preset", "github",
        "--client-id", "Iv1.abc", "--client-secret", "s3cr3t-value",
    )  # fmt: skip
    assert "provider github (GitHub) added" in out
    assert "https://comments.blog.example/auth/github/callback" in out
    [listed] = [json.loads(line) for line in run(capsys, database, "admin", "provider", "list").splitlines()]
    assert listed == {
        "name": "github",
        "preset": "github",
        "title": "GitHub",
        "issuer": None,
        "client_id": "Iv1.abc",
        "sites": [],
        "from": "database",
        "callback_url": "https://comments.blog.example/auth/github/callback",
    }
    assert "s3cr3t-value" not in run(capsys, database, "admin", "provider", "list")
    assert "removed" in run(capsys, database, "admin", "provider", "remove", "github")
    assert run(capsys, database, "admin", "provider", "list") == ""


def test_bad_providers_are_refused_naming_the_field(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        run(
            capsys,
            database,
            "admin",
            "provider",
            "add",
            "corp",
            "--preset",
            "oidc",
            "--client-id",
            "a",
            "--client-secret",
            "b",
        )
    assert "issuer: must be an http(s) URL" in str(refused.value)
    with pytest.raises(SystemExit) as refused:
        run(
            capsys,
            database,
            "admin",
            "provider",
            "add",
            "email",
            "--preset",
            "github",
            "--client-id",
            "a",
            "--client-secret",
            "b",
        )
    assert "name: must be 1-32 lower-case letters" in str(refused.value)
    with pytest.raises(SystemExit) as refused:
        run(capsys, database, "admin", "provider", "remove", "nothing")
    assert "name: is not a provider" in str(refused.value)


def test_providers_in_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "rejoinder.toml"
    config.write_text(
        '[[login_providers]]\nname = "corp"\npreset = "oidc"\nissuer = "https://id.corp.example"\n'
        'client_id = "a"\nclient_secret = "b"\nsites = ["blog"]\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    [provider] = settings.login_providers
    assert (provider.name, provider.preset, provider.sites) == ("corp", "oidc", ["blog"])
    config.write_text(
        '[[login_providers]]\nname = "corp"\npreset = "oidc"\nclient_id = "a"\nclient_secret = "b"\n'
    )
    with pytest.raises(ConfigurationError, match="needs issuer"):
        load_settings(config, environ={})
