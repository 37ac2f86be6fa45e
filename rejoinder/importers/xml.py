"""Streaming XML for the parsers: elements by their local name (namespaces differ between versions of one
format, even by scheme: ``http://`` and ``https://wordpress.org/export/1.2/``), and parse errors that name
their line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO

from rejoinder.importers.records import Problem


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def child(element: ET.Element, name: str) -> ET.Element | None:
    for sub in element:
        if local(sub.tag) == name:
            return sub
    return None


def text_of(element: ET.Element, name: str, default: str = "") -> str:
    found = child(element, name)
    if found is None or found.text is None:
        return default
    return found.text


def attribute(element: ET.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return None


class Events:
    """``iterparse`` that remembers the error it stopped at instead of raising it mid-stream."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.problem: Problem | None = None

    def __iter__(self) -> Iterator[tuple[str, ET.Element]]:
        try:
            yield from ET.iterparse(self._source, events=("start", "end"))
        except ET.ParseError as exc:
            line, column = exc.position
            reason = str(exc).split(":")[0]
            self.problem = Problem(
                f"line {line}, column {column}", f"the file is not well-formed XML: {reason}", True
            )
