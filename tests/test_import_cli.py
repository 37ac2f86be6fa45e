"""``rejoinder import …`` and ``rejoinder export``, run in-process against a fresh SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rejoinder.cli import main


def run(capsys: pytest.CaptureFixture[str], database: str, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--database", database])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


@pytest.fixture
def database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    main(["admin", "site", "create", "blog", "--database", url])
    capsys.readouterr()
    return url


def test_a_dry_run_prints_counts_per_thread_and_status_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], database: str, shared_dir: Path
) -> None:
    wxr = str(shared_dir / "data/wxr/themeunittestdata.wordpress.xml")
    code, out, _ = run(capsys, database, "import", "wordpress", wxr, "--site", "blog", "--dry-run")
    assert code == 0
    assert "(dry run: nothing written)" in out
    assert "33 comments in 7 threads: 3 pending, 30 published" in out
    assert "would import 33 new, 0 already imported" in out
    assert "template-comments/  “Template: Comments”  (1 pending, 19 published)" in out
    code, out, _ = run(capsys, database, "import", "wordpress", wxr, "--site", "blog")
    assert code == 0 and "imported 33 new, 0 already imported" in out
    code, out, _ = run(capsys, database, "import", "wordpress", wxr, "--site", "blog")
    assert "imported 0 new, 33 already imported" in out


def test_a_malformed_file_fails_with_its_line_and_skip_bad_lists_what_it_skipped(
    capsys: pytest.CaptureFixture[str], database: str, shared_dir: Path
) -> None:
    broken = str(shared_dir / "data/disqus/remark42-testdata-disqus.xml")
    code, out, err = run(capsys, database, "import", "disqus", broken, "--site", "blog")
    assert code == 1 and out == ""
    assert "nothing was imported" in err and "line 1, column 0: the file is not well-formed XML" in err
    code, out, _ = run(capsys, database, "import", "disqus", broken, "--site", "blog", "--skip-bad")
    assert code == 0
    assert "imported 4 new" in out
    assert "line 135, <post> dsq:id=x299986073: is not well-formed XML" in out


def test_a_url_map_file_and_its_mistakes(
    capsys: pytest.CaptureFixture[str], database: str, shared_dir: Path, tmp_path: Path
) -> None:
    isso = str(shared_dir / "data/isso/isso-0.14.db")
    mapping = tmp_path / "urls.txt"
    mapping.write_text("/ https://blog.example/\n")
    code, out, _ = run(capsys, database, "import", "isso", isso, "--site", "blog", "--url-map", str(mapping))
    assert code == 0 and "https://blog.example/blog/2024/05/hello-world/" in out
    mapping.write_text("/ https://blog.example/ extra\n")
    with pytest.raises(SystemExit, match="line 1 must hold two prefixes"):
        main(["import", "isso", isso, "--site", "blog", "--url-map", str(mapping), "--database", database])


def test_export_writes_json_lines_and_wxr(
    capsys: pytest.CaptureFixture[str], database: str, shared_dir: Path, tmp_path: Path
) -> None:
    backup = str(shared_dir / "data/remark42/remark42-backup.gz")
    run(capsys, database, "import", "remark42", backup, "--site", "blog")
    code, out, err = run(capsys, database, "export", "--format", "json", "--site", "blog")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and "exported 17 comments" in err
    assert lines[0]["format"] == "rejoinder-export" and lines[1] == {"site": {"key": "blog", "name": "blog"}}
    assert sum("comment" in line for line in lines) == 17
    target = tmp_path / "blog.xml"
    code, _, err = run(capsys, database, "export", "--format", "wxr", "--site", "blog", "-o", str(target))
    assert code == 0 and target.read_text(encoding="utf-8").count("<wp:comment>") == 17
