"""Small server-side SVG charts (no JavaScript, nothing inline that the CSP would block).

Every text that reaches the SVG is escaped here, so the result is returned as Markup. A chart is
an image for sighted users only: templates ALWAYS put a <table> with the same data beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markupsafe import Markup, escape

_ID = re.compile(r"[^A-Za-z0-9_-]")
MAX_X_LABELS = 8


def _num(value: float) -> str:
    """A coordinate, compact and locale-free."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _value(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    chart_id: str = "chart",
    description: str | None = None,
    y_min: float = 0,
    y_max: float = 100,
    y_ticks: int = 5,
    width: int = 640,
    height: int = 280,
) -> Markup:
    """A line chart of (label, value) points in order, as an accessible SVG string.

    role="img" with <title> and <desc> (named by aria-labelledby); axis labels; one circle per
    point carrying its own <title>. Values outside [y_min, y_max] are drawn at the edge.
    An empty series gives an empty Markup (the template says there is no data)."""
    if not points:
        return Markup("")
    if y_max <= y_min:
        raise ValueError("y_max must exceed y_min")
    ident = _ID.sub("", chart_id) or "chart"
    left, right, top, bottom = 56, 16, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(points)

    def x_at(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_at(value: float) -> float:
        clipped = min(max(value, y_min), y_max)
        return top + plot_h * (1 - (clipped - y_min) / (y_max - y_min))

    if description is None:
        description = "、".join(f"{label}:{_value(value)}" for label, value in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        '<g class="chart-grid" stroke="#d0d4da" stroke-width="1">',
    ]
    for step in range(y_ticks + 1):
        value = y_min + (y_max - y_min) * step / y_ticks
        y = _num(y_at(value))
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}"/>')
    parts.append("</g>")
    parts.append('<g class="chart-axis" fill="#333" font-size="12">')
    for step in range(y_ticks + 1):
        value = y_min + (y_max - y_min) * step / y_ticks
        parts.append(
            f'<text x="{left - 8}" y="{_num(y_at(value) + 4)}" text-anchor="end">'
            f"{escape(_value(value))}</text>"
        )
    every = max(1, -(-count // MAX_X_LABELS))
    for index, (label, _) in enumerate(points):
        if index % every and index != count - 1:
            continue
        parts.append(
            f'<text x="{_num(x_at(index))}" y="{top + plot_h + 18}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append(
        f'<text x="{_num(left + plot_w / 2)}" y="{height - 12}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text x="14" y="{_num(top + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_num(top + plot_h / 2)})">{escape(y_label)}</text>'
    )
    parts.append("</g>")
    parts.append(
        f'<line class="chart-axis-line" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}" stroke="#333" stroke-width="1"/>'
    )
    coordinates = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, (_, v) in enumerate(points))
    parts.append(
        f'<polyline class="chart-line" points="{coordinates}" fill="none" '
        f'stroke="#0b5cad" stroke-width="2"/>'
    )
    parts.append('<g class="chart-points" fill="#0b5cad">')
    for index, (label, value) in enumerate(points):
        parts.append(
            f'<circle cx="{_num(x_at(index))}" cy="{_num(y_at(value))}" r="4">'
            f"<title>{escape(label)}:{escape(_value(value))}</title></circle>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
