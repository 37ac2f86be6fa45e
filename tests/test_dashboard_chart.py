"""The overview's chart and the dashboard's words: pure pieces, tested without a server."""

from __future__ import annotations

import re
import string

import pytest

from rejoinder.web.dashboard.chart import Labels, draw, nice_ceiling, totals
from rejoinder.web.dashboard.frame import ticks, web_url, when
from rejoinder.web.dashboard.texts import TEXTS, language

LABELS = Labels("Comments per day", "summary", "comments", "held", "spam", "approved")


def days(*counts: tuple[int, int, int, int]) -> list[dict[str, object]]:
    return [
        {"date": f"2026-11-{n + 1:02d}", "comments": c, "held": h, "spam": s, "approved": a}
        for n, (c, h, s, a) in enumerate(counts)
    ]


def bar_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]


def test_bars_are_proportional_to_the_comments_of_each_day() -> None:
    svg = str(draw(days((10, 2, 1, 7), (5, 0, 0, 5), (0, 0, 0, 0)), LABELS))
    heights = bar_heights(svg)
    assert len(heights) == 3
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.2)
    assert heights[2] == 0
    for series in ("held", "spam", "approved"):
        points = re.search(rf'class="line line-{series}" points="([^"]+)"', svg)
        assert points is not None and len(points.group(1).split()) == 3


def test_the_axis_is_labelled_with_round_numbers() -> None:
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 11, 99, 101, 4999)] == [1, 1, 5, 10, 20, 100, 200, 5000]
    svg = str(draw(days((37, 0, 0, 0)), LABELS))
    assert ">50</text>" in svg and ">25</text>" in svg and ">0</text>" in svg


def test_it_names_itself_for_screen_readers_and_says_each_days_numbers() -> None:
    svg = str(draw(days((4, 1, 2, 3)), LABELS))
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg
    assert "<title>2026-11-01: comments 4, held 1, spam 2, approved 3</title>" in svg


def test_nothing_in_it_is_markup_from_the_data_nor_blocked_by_the_csp() -> None:
    hostile = [{"date": "<script>alert(1)</script>", "comments": "9", "held": -3, "spam": True}]
    svg = str(draw(hostile, Labels("<b>", "\"'", "c", "h", "s", "a")))
    assert "<script" not in svg and "<b>" not in svg
    assert not re.search(r"\s(style|on[a-z]+)=", svg)
    assert totals(hostile) == {"comments": 0, "held": 0, "spam": 0, "approved": 0}


def test_no_days_draws_an_empty_chart() -> None:
    assert "<rect" not in str(draw([], LABELS))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", ["uk", "de"])
def test_every_language_says_everything_english_says_with_the_same_placeholders(lang: str) -> None:
    assert set(TEXTS[lang]) == set(TEXTS["en"])
    for key, text in TEXTS["en"].items():
        assert placeholders(TEXTS[lang][key]) == placeholders(text), key


def test_no_word_is_hidden_by_a_method_of_the_catalogue() -> None:
    # Jinja reads t.copy as dict.copy, not as the word "copy".
    assert not set(TEXTS["en"]) & set(dir(dict))


def test_the_language_comes_from_the_query_then_the_cookie_then_the_browser() -> None:
    assert language("de", "uk", "en") == "de"
    assert language("xx", "uk", "de") == "uk"
    assert language(None, None, "fr-FR,de;q=0.8,en;q=0.5") == "de"
    assert language(None, None, None) == "en"


def test_help_text_shows_its_names_as_code_and_nothing_else_as_markup() -> None:
    assert str(ticks("`none` or <b>`all`</b>")) == "<code>none</code> or &lt;b&gt;<code>all</code>&lt;/b&gt;"


def test_links_are_only_web_addresses_and_dates_read_the_same_in_every_language() -> None:
    assert web_url("javascript:alert(1)") == "" and web_url("https://ada.example") == "https://ada.example"
    assert when("2026-12-02T14:05:09.123456Z") == "2026-12-02 14:05 UTC" and when("yesterday") == ""
