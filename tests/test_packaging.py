"""What ``pip install .`` puts in place: every file the package reads at run time (templates, static files,
migrations, data) is named by the package data in ``pyproject.toml``.

The suite runs on an editable install, which reads the source tree and would never notice a file left out
of the wheel; this test reads the declaration the wheel is built from instead.
"""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rejoinder"


def declared() -> set[Path]:
    """The files setuptools adds as package data: its globs, relative to the package, ``**`` recursive."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["rejoinder"]
    return {
        PACKAGE / name
        for pattern in patterns
        for name in glob.glob(pattern, root_dir=PACKAGE, recursive=True)
        if (PACKAGE / name).is_file()
    }


def in_a_package(path: Path) -> bool:
    """A module that package discovery finds by itself: every folder from it up to ``rejoinder`` has an
    ``__init__.py``."""
    folder = path.parent
    while folder != ROOT:
        if not (folder / "__init__.py").is_file():
            return False
        folder = folder.parent
    return True


def shipped_files() -> list[Path]:
    return [
        path
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def test_every_file_of_the_package_is_in_the_wheel() -> None:
    data = declared()
    left_out = [
        str(path.relative_to(ROOT))
        for path in shipped_files()
        if path not in data and not (path.suffix == ".py" and in_a_package(path))
    ]
    assert not left_out, f"not in [tool.setuptools.package-data] of pyproject.toml: {sorted(left_out)}"


def test_the_dashboards_templates_are_package_data() -> None:
    # The dashboard's pages live in a folder of their own under web/templates.
    names = {str(path.relative_to(PACKAGE)) for path in declared()}
    assert "web/templates/dashboard/login.html" in names
    assert "web/templates/demo.html" in names
