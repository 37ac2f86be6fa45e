"""A request's target is split into its path and query as uvicorn's ``httptools.parse_url`` splits it,
for every target the request parser lets through (``web/wire.request_target``)."""

from __future__ import annotations

import httptools
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.web.wire import request_target

TARGET_BYTES = st.sampled_from(
    [
        b"/",
        b"?",
        b"#",
        b"%",
        b"%2F",
        b"a",
        b"Z",
        b"0",
        b"=",
        b"&",
        b":",
        b"@",
        b";",
        b"+",
        b"~",
        b"\t",
        b"\x0c",
    ]
    + [b"\x01", b"\x7f", b"\xc3\xa9", b"*", b"http://blog.example", b"\\", b'"', b"[", b"]"]
)


def parsed_by_uvicorn(target: bytes) -> tuple[bytes, bytes] | None:
    """The path and query uvicorn reads of ``target``, or None when the request parser refuses it."""
    targets: list[bytes] = []

    class Callbacks:
        def on_url(self, url: bytes) -> None:
            targets.append(url)

    try:
        httptools.HttpRequestParser(Callbacks()).feed_data(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        parsed = httptools.parse_url(b"".join(targets))
    except (httptools.HttpParserError, httptools.HttpParserInvalidURLError):
        return None
    return parsed.path, parsed.query or b""


@settings(max_examples=2000)
@given(st.lists(TARGET_BYTES, max_size=12).map(b"".join))
def test_a_target_is_split_as_uvicorn_splits_it(target: bytes) -> None:
    expected = parsed_by_uvicorn(target)
    if expected is not None:
        assert request_target(target) == expected


def test_a_counts_query_is_split_at_its_first_question_mark() -> None:
    target = b"/api/v1/counts?site=a&url=https%3A%2F%2Fblog.example%2F%3Fp%3D1&url=%2Fabout?x"
    assert request_target(target) == (
        b"/api/v1/counts",
        b"site=a&url=https%3A%2F%2Fblog.example%2F%3Fp%3D1&url=%2Fabout?x",
    )
    assert request_target(b"/api/v1/comments#top") == (b"/api/v1/comments", b"")
    assert request_target(b"http://blog.example/api/v1/comments?site=a") == (b"/api/v1/comments", b"site=a")
