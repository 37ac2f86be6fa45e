"""The command-line reference (``docs/reference/cli.md``) against the parser: every command ``rejoinder``
has is in its table with each of its options, and every command and option the table names exists."""

from __future__ import annotations

import argparse
import re
from functools import cache
from pathlib import Path

import pytest

from rejoinder.cli import build_parser

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md"
# Every command that touches the database takes these; the page says so once, above the table.
SHARED = {"-h", "--help", "--database", "--config"}
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")

Path_ = tuple[str, ...]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def own_options(parser: argparse.ArgumentParser) -> list[list[str]]:
    """Each option of a command, as all its spellings (``["-o", "--output"]``)."""
    return [
        action.option_strings
        for action in parser._actions
        if action.option_strings and not set(action.option_strings) <= SHARED
    ]


def every_command(parser: argparse.ArgumentParser, path: Path_ = ()) -> dict[Path_, argparse.ArgumentParser]:
    """Every command that runs something: the leaves, and a group that runs on its own (``admin token``)."""
    found = {}
    children = subcommands(parser)
    if path and (not children or own_options(parser)):
        found[path] = parser
    for name, child in children.items():
        found |= every_command(child, (*path, name))
    return found


def resolve(words: list[str], start: Path_, tree: argparse.ArgumentParser) -> list[Path_]:
    """The commands a documented form names: ``webhooks list|deliveries`` is two, ``token [create]`` one."""
    node = tree
    for name in start:
        node = subcommands(node)[name]
    paths = [start]
    for word in words:
        names = word.strip("[]").split("|")
        children = subcommands(node)
        if not children or not all(name in children for name in names):
            break
        optional = word.startswith("[")  # `admin token [create]`: the group runs the child by itself
        paths = [*(paths if optional else []), *((*start_, name) for start_ in paths for name in names)]
        node = children[names[0]]
    return paths


def table_rows() -> list[tuple[list[str], str]]:
    """Each row of the table: the forms in its first cell (code spans), and the whole row's text."""
    rows = []
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `rejoinder "):
            line = line.replace("\\|", "|")
            rows.append((re.findall(r"`([^`]+)`", first_cell(line)), line))
    return rows


def first_cell(row: str) -> str:
    """The commands' forms; the description after them may quote other programs' options (pg_dump's)."""
    return re.split(r"` \| ", row, maxsplit=1)[0] + "`"


def prose() -> str:
    """The page outside its table: options shared by several commands are described there."""
    return "\n".join(
        line for line in REFERENCE.read_text(encoding="utf-8").splitlines() if not line.startswith("|")
    )


@cache
def documented() -> dict[Path_, str]:
    """Each documented command and the text of the row that documents it."""
    tree = build_parser()
    commands: dict[Path_, str] = {}
    for forms, row in table_rows():
        first = forms[0].split()[1:]
        paths = resolve(first, (), tree)
        parent = paths[-1][:-1]
        for form in forms[1:]:
            words = form.split()
            if words[0].startswith("-"):  # `--all-dead`: another form of the same command
                continue
            start = parent if words[0].strip("[]").split("|")[0] in subcommands(_node(tree, parent)) else ()
            paths += resolve(words, start, tree)
        for path in filter(None, paths):
            commands[path] = commands.get(path, "") + row
    return commands


def _node(tree: argparse.ArgumentParser, path: Path_) -> argparse.ArgumentParser:
    for name in path:
        tree = subcommands(tree)[name]
    return tree


COMMANDS = every_command(build_parser())


def test_every_command_is_in_the_reference() -> None:
    missing = sorted(" ".join(path) for path in set(COMMANDS) - set(documented()))
    assert not missing, f"commands missing from docs/reference/cli.md: {missing}"


def test_every_command_the_reference_names_exists() -> None:
    unknown = sorted(" ".join(path) for path in set(documented()) - set(COMMANDS))
    assert not unknown, f"docs/reference/cli.md names commands rejoinder does not have: {unknown}"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=[" ".join(path) for path in sorted(COMMANDS)])
def test_every_option_is_documented_and_every_documented_one_exists(path: Path_) -> None:
    row = documented().get(path)
    if row is None:
        pytest.skip("the command itself is missing (see test_every_command_is_in_the_reference)")
    in_row = set(OPTION.findall(row))
    shared = set(OPTION.findall(prose()))
    options = own_options(COMMANDS[path])
    undocumented = [spellings[-1] for spellings in options if not set(spellings) & (in_row | shared)]
    assert not undocumented, (
        f"rejoinder {' '.join(path)}: options not in docs/reference/cli.md: {undocumented}"
    )
    # A row may document several commands (`list` / `revoke ID`): its options exist in one of them.
    siblings = [parser for other, parser in COMMANDS.items() if other in _paths_of_row(row)]
    known = SHARED | {
        spelling for parser in siblings for spellings in own_options(parser) for spelling in spellings
    }
    made_up = sorted(set(OPTION.findall(first_cell(row))) - known)
    assert not made_up, f"docs/reference/cli.md names options rejoinder {' '.join(path)} lacks: {made_up}"


def _paths_of_row(row: str) -> set[Path_]:
    return {path for path, text in documented().items() if row in text}


# Every page a reader follows commands from, the reference included.
PAGES = [REFERENCE.parents[2] / "README.md", *sorted((REFERENCE.parents[1]).rglob("*.md"))]
# `rejoinder` followed by the words of one command, up to where a shell or the prose ends it.
INVOCATION = re.compile(r"(?:^|[\s`(/])rejoinder((?:[ \t]+[^\s`;&#)'\"]+)+)")


def invocations(page: Path) -> list[tuple[int, list[str]]]:
    found = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for match in INVOCATION.finditer(line.replace("\\|", "|")):
            found.append((number, match.group(1).split()))
    return found


def misnamed(words: list[str], tree: argparse.ArgumentParser) -> list[str]:
    """The options an invocation gives that its command lacks (nothing when the words are prose)."""
    node, walked = tree, 0
    for word in words:
        names = word.strip("[]").split("|")
        children = subcommands(node)
        if not children or not all(name in children for name in names):
            break
        node, walked = children[names[0]], walked + 1
    if not walked:
        return []  # "rejoinder is …": prose, not a command
    # Stopped at a group (`rejoinder import SOURCE FILE --site …`, `rejoinder import --teach`): the options of
    # any of its commands.
    candidates = [node, *subcommands(node).values()]
    known = SHARED | {
        spelling for parser in candidates for spellings in own_options(parser) for spelling in spellings
    }
    rest = words[walked:]
    rest = rest[: rest.index("|")] if "|" in rest else rest  # `list … | delete EMAIL`: the next form
    given = [option for word in rest for option in OPTION.findall(word.split("=")[0])]
    return [option for option in given if option.startswith("--") and option not in known]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(REFERENCE.parents[2])) for page in PAGES])
def test_every_command_the_docs_show_takes_the_options_they_give_it(page: Path) -> None:
    tree = build_parser()
    wrong = [
        f"line {number}: rejoinder {' '.join(words)}: {options}"
        for number, words in invocations(page)
        if (options := misnamed(words, tree))
    ]
    assert not wrong, f"{page.name}:\n" + "\n".join(wrong)


def test_the_checker_flags_an_option_a_command_lacks() -> None:
    tree = build_parser()
    assert misnamed(["webhooks", "list", "--site", "K", "--limit", "N"], tree) == ["--limit"]
    assert misnamed(["webhooks", "deliveries", "--site", "K", "--limit", "N"], tree) == []
    assert misnamed(["serve", "--wrokers", "2"], tree) == ["--wrokers"]
    assert misnamed(["is", "a", "comment", "server"], tree) == []
