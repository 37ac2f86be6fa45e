"""The overview's chart, drawn on the server as SVG: comments per day as bars, and held, spam and approved
as lines over them. Pure: numbers in, markup out; no script and no style attribute, so the page's CSP
holds and the colours come from the stylesheet (light and dark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 720
HEIGHT = 240
LEFT = 40  # room for the y axis' labels
BOTTOM = 24  # room for the dates
TOP = 10
SERIES = ("held", "spam", "approved")  # drawn as lines, in this order, over the bars of all comments


@dataclass(frozen=True)
class Labels:
    title: str
    summary: str
    comments: str
    held: str
    spam: str
    approved: str


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… at or above ``value`` (at least 1): round axis labels."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def draw(days: Sequence[Mapping[str, object]], labels: Labels) -> Markup:
    """An ``<svg>`` of ``days`` (each ``{"date", "comments", "held", "spam", "approved"}``, oldest first)."""
    count = max(len(days), 1)
    peak = max((_number(day, name) for day in days for name in ("comments", *SERIES)), default=0)
    top = nice_ceiling(peak)
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / count

    def x(i: int) -> float:
        return LEFT + slot * i + slot / 2

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        ' aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(labels.title)}</title>',
        f'<desc id="chart-desc">{escape(labels.summary)}</desc>',
    ]
    for value in (0, top // 2, top) if top > 1 else (0, top):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 8}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value}</text>'
        )
    bar_w = max(slot * 0.7, 1)
    for i, day in enumerate(days):
        comments = _number(day, "comments")
        hint = (
            f"{day.get('date', '')}: {labels.comments} {comments}, {labels.held} {_number(day, 'held')}, "
            f"{labels.spam} {_number(day, 'spam')}, {labels.approved} {_number(day, 'approved')}"
        )
        parts.append(
            f'<rect class="bar" x="{x(i) - bar_w / 2:.1f}" y="{y(comments):.1f}" width="{bar_w:.1f}"'
            f' height="{y(0) - y(comments):.1f}"><title>{escape(hint)}</title></rect>'
        )
    for name in SERIES:
        points = " ".join(f"{x(i):.1f},{y(_number(day, name)):.1f}" for i, day in enumerate(days))
        if points:
            parts.append(f'<polyline class="line line-{name}" points="{points}"/>')
    for i in sorted({0, len(days) // 2, len(days) - 1}):
        if 0 <= i < len(days):
            anchor = "start" if i == 0 and len(days) > 1 else "end" if i == len(days) - 1 and i else "middle"
            date = escape(str(days[i].get("date", "")))
            parts.append(
                f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">{date}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def totals(days: Sequence[Mapping[str, object]]) -> dict[str, int]:
    return {name: sum(_number(day, name) for day in days) for name in ("comments", *SERIES)}


def _number(day: Mapping[str, object], name: str) -> int:
    value = day.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
