"""Server-rendered SVG charts: no script and no inline style, so the strict CSP holds (colours
and sizes are SVG presentation attributes, which CSP does not treat as inline style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 40
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.0f}k"
    if value != int(value):
        return f"{value:.2f}"
    return f"{int(value)}"


def _frame(low: float, high: float, labels: Sequence[str], title: str) -> list[str]:
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="analytics-chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + plot_height}" stroke="#888"/>',
    ]
    for step in range(5):
        value = low + (high - low) * step / 4
        y = TOP + plot_height - plot_height * step / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#444">{_number(value)}</text>'
        )
    shown = max(1, len(labels) // 8 + (1 if len(labels) % 8 else 0))
    for index, label in enumerate(labels):
        if index % shown:
            continue
        x = LEFT + (plot_width * (index + 0.5) / max(1, len(labels)))
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle" '
            f'fill="#444">{escape(label)}</text>'
        )
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        x = LEFT + index * 110
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 7}" font-size="10" fill="#222">{escape(name)}</text>'
        )
    return parts


def line_chart(
    labels: Sequence[str], series: Mapping[str, Sequence[float | None]], title: str
) -> SafeString:
    """One line per series over ``labels`` (missing values break the line)."""
    values = [value for points in series.values() for value in points if value is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    if high == low:
        high = low + 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(low, high, labels, title)
    for index, (name, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        path: list[str] = []
        for position, value in enumerate(points):
            if value is None:
                continue
            x = LEFT + plot_width * (position + 0.5) / max(1, len(labels))
            y = TOP + plot_height - plot_height * (value - low) / (high - low)
            path.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}">'
                         f"<title>{escape(name)} {escape(labels[position])}: {value}</title>"
                         "</circle>")  # fmt: skip
        if len(path) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(path)}"/>'
            )
    parts.extend(_legend(list(series)))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every text above is escaped


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str) -> SafeString:
    """One bar per label (a funnel: each step's total)."""
    low, high = min([0.0, *values]), max([0.0, *values])
    if high == low:
        high = low + 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(low, high, labels, title)
    slot = plot_width / max(1, len(labels))
    for index, value in enumerate(values):
        top = TOP + plot_height - plot_height * (value - low) / (high - low)
        parts.append(
            f'<rect x="{LEFT + slot * index + slot * 0.15:.1f}" y="{top:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{TOP + plot_height - top:.1f}" '
            f'fill="{COLOURS[index % len(COLOURS)]}"><title>{escape(labels[index])}: {value}'
            "</title></rect>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every text above is escaped
