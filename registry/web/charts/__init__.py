"""Small server-side SVG charts (no JavaScript, nothing inline that the CSP would block).

The geometry is computed by pure functions (`geometry.py`, `gantt.py`); the SVG is drawn by the
autoescaped Jinja macros in `templates/_macros/charts.html`, so every text is escaped there and
the result is Markup. A chart is an image for sighted users only: templates ALWAYS put a <table>
with the same data beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from registry.config import PROJECT_ROOT
from registry.web.charts.gantt import SKIPPED_STATUSES, Gantt, GanttRow, gantt_geometry
from registry.web.charts.geometry import (
    BarChart,
    LineChart,
    bar_geometry,
    line_geometry,
    series_geometry,
)

__all__ = [
    "SKIPPED_STATUSES",
    "GanttRow",
    "bar_chart",
    "draw",
    "gantt_chart",
    "line_chart",
    "series_chart",
]


def _num(value: float) -> str:
    """A coordinate, compact and locale-free (one decimal at most)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _points(pairs: list[tuple[float, float]]) -> str:
    """The `points` of a polyline."""
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in pairs)


@cache
def _macros() -> Any:
    """The chart macros, loaded once, from their own autoescaping environment (a chart can be
    drawn without an application, as the tests do)."""
    environment = Environment(
        loader=FileSystemLoader(PROJECT_ROOT / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    environment.filters.update(num=_num, points=_points)
    return environment.get_template("_macros/charts.html").module


def draw(macro: str, chart: LineChart | BarChart | Gantt | None) -> Markup:
    """Draw `chart` with one of the macros; no chart (no data) draws nothing."""
    if chart is None:
        return Markup("")
    return getattr(_macros(), macro)(chart)


def line_chart(points: Sequence[tuple[str, float]], **options: Any) -> Markup:
    """A line chart of (label, value) points in order, as an accessible SVG: role="img" with
    <title> and <desc> (named by aria-labelledby), axis labels, one circle per point carrying its
    own <title>. Empty for no points. Options: see `geometry.line_geometry`."""
    return draw("line_chart", line_geometry(points, **options))


def series_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], **options: Any
) -> Markup:
    """Several lines over the same x labels with a legend; None is a gap. Empty when no series has
    a value. Options: see `geometry.series_geometry`."""
    return draw("line_chart", series_geometry(labels, series, **options))


def bar_chart(bars: Sequence[tuple[str, float]], **options: Any) -> Markup:
    """A vertical bar chart of (label, value ≥ 0) pairs, each bar labelled with its value. Empty
    for no bars. Options: see `geometry.bar_geometry`."""
    return draw("bar_chart", bar_geometry(bars, **options))


def gantt_chart(rows: Sequence[GanttRow], **options: Any) -> Markup:
    """A roadmap Gantt chart: one row per step, labelled stage bands, month ticks, a 目标 line, a
    今天 line and a legend; each bar followed by its finish date and ✓ / ⚠ / 超时, so that print
    and greyscale read without colour. No rows says 暂无步骤. Options: see
    `gantt.gantt_geometry`."""
    return draw("gantt", gantt_geometry(rows, **options))
