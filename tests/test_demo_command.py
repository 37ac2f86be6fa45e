"""``rejoinder demo`` as the README's quick start runs it: what it prints, and what it says when its port
is taken (the server itself is not started here; tests/browser/test_demo.py runs it for real)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rejoinder.cli import main
from rejoinder.cli import serve as serve_command
from rejoinder.web import app as web_app


def test_a_taken_port_is_named_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "demo.db"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            main(["demo", "--port", str(port), "--database", f"sqlite:///{database}"])
    assert stopped.value.code == 3
    printed = capsys.readouterr()
    assert "running" not in printed.out
    assert f"127.0.0.1:{port} is in use" in printed.err
    assert f"rejoinder demo --port {port + 10}" in printed.err
    assert not database.exists()


def test_the_demo_prints_its_article_and_how_to_reach_the_dashboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    monkeypatch.setattr(serve_command, "run_server", lambda settings, **_: served.append(settings.base_url))
    monkeypatch.setattr(web_app, "serve_demo_origin", lambda settings, article: None)
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    main(["demo", "--port", str(port), "--database", database])
    lines = capsys.readouterr().out.splitlines()
    assert served == [f"http://127.0.0.1:{port}"]
    assert lines[0] == f"Rejoinder demo is running: open http://127.0.0.1:{port}/demo/"
    assert lines[1] == (
        f"Moderators' dashboard: http://127.0.0.1:{port}/dashboard/ (an account for it: rejoinder admin user "
        f"create EMAIL --site demo --role admin --database {database})"
    )
