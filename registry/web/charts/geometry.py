"""Geometry of the line, series and bar charts: plain numbers and labels, no markup.

Pure functions of their arguments, so a test can check where a point or a bar lands without
parsing any SVG; `templates/_macros/charts.html` draws the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

_ID = re.compile(r"[^A-Za-z0-9_-]")
MAX_X_LABELS = 8


def clean_id(ident: str, default: str) -> str:
    """An element id prefix reduced to letters, digits, "_" and "-" (never empty)."""
    return _ID.sub("", ident) or default


def format_value(value: float) -> str:
    """A value as the charts print it: one decimal, a whole number without ".0"."""
    return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Label:
    """A text at a point (or a point with its tooltip)."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Plot:
    """The plot box of a chart inside its margins, and its y scale: values outside
    [y_min, y_max] land on the edge."""

    left: float
    top: float
    plot_w: float
    plot_h: float
    y_min: float
    y_max: float

    @classmethod
    def inside(
        cls, size: tuple[int, int], margins: tuple[int, int, int, int], y_range: tuple[float, float]
    ) -> Plot:
        """The box of a `size` chart within (left, right, top, bottom) margins."""
        (width, height), (left, right, top, bottom) = size, margins
        return cls(left, top, width - left - right, height - top - bottom, *y_range)

    def y_at(self, value: float) -> float:
        """The y of a value."""
        clipped = min(max(value, self.y_min), self.y_max)
        return self.top + self.plot_h * (1 - (clipped - self.y_min) / (self.y_max - self.y_min))


@dataclass(frozen=True)
class Frame(Plot):
    """What every chart shares: its plot box and scale, the named <svg>, the grid, tick labels,
    axis titles, the x axis."""

    ident: str
    title: str
    description: str
    width: int
    height: int
    grid: list[float]  # y of each horizontal grid line
    y_ticks: list[Label]
    x_ticks: list[Label]
    x_title: Label
    y_title: Label  # drawn rotated a quarter turn about its own point

    @property
    def bottom(self) -> float:
        """The y of the x axis."""
        return self.top + self.plot_h


@dataclass(frozen=True)
class Series:
    """One line of a chart: its style, legend sample, unbroken runs and points."""

    name: str
    colour: str
    dash: str
    marker: str  # "circle" | "square"
    legend_x: float
    runs: list[list[tuple[float, float]]]  # only runs of two or more points are drawn
    points: list[Label]  # each point with its tooltip


@dataclass(frozen=True)
class LineChart:
    """A chart of one or more lines over the same x labels."""

    frame: Frame
    series: list[Series]
    legend: bool  # a named legend along the top (series charts)


@dataclass(frozen=True)
class Bar:
    """One bar: its rectangle, tooltip and the value printed above it."""

    x: float
    y: float
    width: float
    height: float
    tip: str
    value: Label


@dataclass(frozen=True)
class BarChart:
    """A vertical bar chart."""

    frame: Frame
    bars: list[Bar] = field(default_factory=list)


def _frame(
    plot: Plot,
    size: tuple[int, int],
    ticks: list[float],
    x_labels: Sequence[tuple[float, str]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    description: str,
    chart_id: str = "chart",
) -> Frame:
    """The frame of a chart: grid lines and tick labels at `ticks`, x labels at their x."""
    left, top, plot_w, plot_h = plot.left, plot.top, plot.plot_w, plot.plot_h
    return Frame(
        **asdict(plot),
        ident=clean_id(chart_id, "chart"),
        title=title,
        description=description,
        width=size[0],
        height=size[1],
        grid=[plot.y_at(value) for value in ticks],
        y_ticks=[Label(left - 8, plot.y_at(value) + 4, format_value(value)) for value in ticks],
        x_ticks=[Label(x, top + plot_h + 18, text) for x, text in x_labels],
        x_title=Label(left + plot_w / 2, size[1] - 12, x_label),
        y_title=Label(14, top + plot_h / 2, y_label),
    )


def _thinned(labels: Sequence[str], x_at: Callable[[int], float]) -> list[tuple[float, str]]:
    """At most about MAX_X_LABELS x labels, evenly spaced, always with the last one."""
    count = len(labels)
    every = max(1, -(-count // MAX_X_LABELS))
    return [
        (x_at(index), label)
        for index, label in enumerate(labels)
        if not index % every or index == count - 1
    ]


# Series styles told apart by more than colour (dash pattern and marker shape).
SERIES_STYLES = (
    {"colour": "#0b5cad", "dash": "", "marker": "circle"},
    {"colour": "#b35900", "dash": "6 4", "marker": "square"},
    {"colour": "#2e7d32", "dash": "2 3", "marker": "circle"},
)


def _describe(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]) -> str:
    """The text equivalent of a series chart: each series' name and its values by label."""
    return ";".join(
        f"{name}:"
        + "、".join(
            f"{label} {format_value(v)}"
            for label, v in zip(labels, values, strict=False)
            if v is not None
        )
        for name, values in series
    )


def series_geometry(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
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
    height: int = 300,
    legend: bool = True,
) -> LineChart | None:
    """Named lines over the same x labels, with a legend along the top; None is a gap (no point,
    the line breaks), values outside [y_min, y_max] land on the edge. None when no series has a
    value. Without `legend`, one unnamed line (see line_geometry)."""
    if not labels or not any(v is not None for _, values in series for v in values):
        return None
    if y_max <= y_min:
        raise ValueError("y_max must exceed y_min")
    # Room for the legend and the last x label; a lone line needs neither.
    margins = (56, 48, 36, 64) if legend else (56, 16, 16, 64)
    plot = Plot.inside((width, height), margins, (y_min, y_max))
    left, plot_w, y_at = plot.left, plot.plot_w, plot.y_at
    count = len(labels)

    def x_at(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    frame = _frame(
        plot,
        (width, height),
        [y_min + (y_max - y_min) * step / y_ticks for step in range(y_ticks + 1)],
        _thinned(labels, x_at),
        title=title,
        x_label=x_label,
        y_label=y_label,
        chart_id=chart_id,
        description=_describe(labels, series) if description is None else description,
    )
    lines = []
    for number, (name, values) in enumerate(series):
        style = SERIES_STYLES[number % len(SERIES_STYLES)]
        runs: list[list[tuple[float, float]]] = [[]]
        dots = []
        for index, value in enumerate(values[:count]):
            if value is None:
                runs.append([])
                continue
            runs[-1].append((x_at(index), y_at(value)))
            tip = f"{labels[index]}:{format_value(value)}"
            dots.append(Label(x_at(index), y_at(value), f"{name} {tip}" if legend else tip))
        lines.append(
            Series(
                name=name,
                colour=style["colour"],
                dash=style["dash"],
                marker=style["marker"],
                legend_x=left + number * 180,
                # A lone line is drawn whole; a run of one point in a series has no line.
                runs=[r for r in runs if len(r) > 1 or not legend],
                points=dots,
            )
        )
    return LineChart(frame=frame, series=lines, legend=legend)


def line_geometry(
    points: Sequence[tuple[str, float]],
    *,
    description: str | None = None,
    height: int = 280,
    **options: Any,
) -> LineChart | None:
    """One line through (label, value) points in order, each point with its own tooltip; None
    for no points. Options as for series_geometry (title, x_label, y_label are required)."""
    if not points:
        return None
    if description is None:
        description = "、".join(f"{label}:{format_value(value)}" for label, value in points)
    return series_geometry(
        [label for label, _ in points],
        [("", [value for _, value in points])],
        description=description,
        height=height,
        legend=False,
        **options,
    )


def _round_top(highest: float) -> float:
    """A round top for a count axis: 1, 2, 5 × a power of ten (and 25 …), at least 1."""
    y_max = 1.0
    while y_max < highest:
        for factor in (2, 2.5, 2):
            y_max *= factor
            if y_max >= highest:
                break
    return y_max


def bar_geometry(
    bars: Sequence[tuple[str, float]],
    *,
    description: str | None = None,
    width: int = 640,
    height: int = 280,
    **names: str,
) -> BarChart | None:
    """Vertical bars of (label, value ≥ 0) pairs on a round axis, each labelled with its value;
    None for no bars. `names` as for series_geometry (title, x_label, y_label are required;
    chart_id)."""
    if not bars:
        return None
    y_max = _round_top(max(max(value for _, value in bars), 0))
    plot = Plot.inside((width, height), (56, 16, 24, 64), (0, y_max))
    ticks = 5 if y_max >= 5 else int(y_max)
    slot = plot.plot_w / len(bars)
    bar_w = min(64.0, slot * 0.6)
    frame = _frame(
        plot,
        (width, height),
        [y_max * step / ticks for step in range(ticks + 1)],
        [(plot.left + slot * (i + 0.5), label) for i, (label, _) in enumerate(bars)],
        description="、".join(f"{label}:{format_value(value)}" for label, value in bars)
        if description is None
        else description,
        **names,
    )
    shapes = []
    for index, (label, value) in enumerate(bars):
        middle, y = plot.left + slot * (index + 0.5), plot.y_at(value)
        shapes.append(
            Bar(
                x=middle - bar_w / 2,
                y=y,
                width=bar_w,
                height=frame.bottom - y,
                tip=f"{label}:{format_value(value)}",
                value=Label(middle, y - 4, format_value(value)),
            )
        )
    return BarChart(frame=frame, bars=shapes)
