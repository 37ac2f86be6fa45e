"""Thread URLs: the shortcut for addresses that are already normal gives what full parsing gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder import urls
from rejoinder.urls import BadURL, normalise_url

PIECES = st.sampled_from(
    [
        "https://",
        "http://",
        "HTTPS://",
        "/",
        "//",
        "blog.example",
        "Blog.Example",
        ":443",
        ":8080",
        "?",
        "#",
        "a",
        "Z",
        "0",
        ".",
        "-",
        "_",
        "~",
        "%20",
        "@",
        "user@",
        ":",
        ";",
        "=",
        "&",
        "utm_source=x",
        "ref=y",
        "é",
        " ",
        "\t",
        "[::1]",
        "..",
        "!",
        "$",
        "(",
        "*",
        "+",
        ",",
    ]
)


def slow(url: str) -> str:
    """``normalise_url`` without its shortcut."""
    return urls._normalise(url)


def outcome(url: str, normalise: object) -> str:
    try:
        return normalise(url)  # type: ignore[operator,no-any-return]
    except BadURL as exc:
        return f"BadURL: {exc}"


@settings(max_examples=1000)
@given(st.lists(PIECES, max_size=12).map("".join))
def test_the_shortcut_agrees_with_full_parsing(url: str) -> None:
    assert outcome(url, normalise_url) == outcome(url, slow)


def test_normal_addresses_are_kept_as_they_are() -> None:
    for url in ["https://blog.example/posts/0419", "http://a.example/", "/2026/12/post-1", "/"]:
        assert normalise_url(url) == slow(url) == url
    assert normalise_url("https://Blog.Example:443/x?utm_source=a#top") == "https://blog.example/x"
