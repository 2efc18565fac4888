"""Chart geometry (registry.web.charts.geometry and .gantt): plain numbers, checked without any SVG;
and the macros that draw them escape every text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from registry.web.charts import draw
from registry.web.charts.gantt import GanttRow, gantt_geometry
from registry.web.charts.geometry import bar_geometry, line_geometry, series_geometry

START = date(2026, 3, 1)


def test_charts_geometry_line_points_spread_and_clipped_to_the_plot():
    chart = line_geometry([("a", 0), ("b", 50), ("c", 150)], title="t", x_label="x", y_label="y")
    frame, (line,) = chart.frame, chart.series
    xs = [p.x for p in line.points]
    assert xs[0] == frame.left
    assert xs[2] == frame.left + frame.plot_w
    assert xs[1] == pytest.approx((xs[0] + xs[2]) / 2)
    ys = [p.y for p in line.points]
    assert ys[0] == frame.bottom  # 0 on the axis
    assert ys[2] == frame.top  # 150 drawn at the top edge (100)
    assert [p.text for p in line.points] == ["a:0", "b:50", "c:150"]
    assert [t.text for t in frame.y_ticks] == ["0", "20", "40", "60", "80", "100"]
    assert line_geometry([], title="t", x_label="x", y_label="y") is None


def test_charts_geometry_series_gaps_break_the_line():
    chart = series_geometry(
        ["一", "二", "三", "四"],
        [("甲", [10, None, 30, 40]), ("乙", [None, None, None, None])],
        title="t",
        x_label="x",
        y_label="y",
    )
    first, second = chart.series
    assert len(first.points) == 3
    assert len(first.runs) == 1  # the lone point before the gap draws no line
    assert len(first.runs[0]) == 2
    assert second.points == []
    assert (first.dash, second.dash) == ("", "6 4")  # told apart without colour
    assert first.legend_x < second.legend_x
    assert chart.frame.description == "甲:一 10、三 30、四 40;乙:"


def test_charts_geometry_bars_on_a_round_axis():
    chart = bar_geometry([("AA", 3), ("B", 7), ("未评级", 0)], title="t", x_label="x", y_label="y")
    assert [t.text for t in chart.frame.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    aa, b, none = chart.bars
    assert b.height == pytest.approx(aa.height * 7 / 3)
    assert none.height == 0
    assert [bar.value.text for bar in chart.bars] == ["3", "7", "0"]
    assert aa.x < b.x < none.x


def test_charts_geometry_gantt_places_rows_bands_and_rules():
    rows = [
        GanttRow(
            "SP-01",
            START + timedelta(days=1),
            START + timedelta(days=10),
            "已完成",
            group="第一阶段",
        ),
        GanttRow(
            "SP-02",
            START + timedelta(days=11),
            START + timedelta(days=20),
            "办理中",
            group="第一阶段",
            state="overdue",
            critical=True,
        ),
        GanttRow("SP-03", None, None, "未开始", group="第二阶段"),
        GanttRow("SP-04", START + timedelta(days=5), None, "不适用", group="第二阶段"),
    ]
    chart = gantt_geometry(
        rows,
        ident="g",
        title="t",
        description="d",
        start=START,
        target=START + timedelta(days=30),
        today=START + timedelta(days=15),
    )
    done, late, hatched, skipped = chart.rows
    assert [band.text for band in chart.bands] == ["第一阶段", "第二阶段"]
    assert [row.shape.kind for row in chart.rows] == ["bar", "bar", "hatch", "diamond"]
    per_day = done.shape.width / 10
    assert late.shape.x == pytest.approx(done.shape.x + done.shape.width)
    assert late.shape.style.cls == "gantt-started gantt-overdue gantt-critical"
    assert late.shape.note == "03-21 超时"
    assert done.shape.note == "03-11 ✓"
    assert chart.target.x == pytest.approx(done.shape.x + 30 * per_day)
    assert chart.today.x == pytest.approx(done.shape.x + 14.5 * per_day)
    assert skipped.shape.x == pytest.approx(done.shape.x + 4 * per_day)
    assert hatched.y > late.y > done.y
    assert {key.text for key in chart.legend} >= {"已完成 ✓", "超时", "关键路径", "无法排期"}
    assert chart.height > hatched.y


def test_charts_geometry_gantt_drops_unsafe_links():
    rows = [
        GanttRow("a", START, START, "办理中", href="javascript:alert(1)"),
        GanttRow("b", START, START, "办理中", href="/projects/1"),
    ]
    chart = gantt_geometry(rows, ident="g", title="t", description="d", start=START)
    assert [row.href for row in chart.rows] == [None, "/projects/1"]


def test_charts_draw_escapes_every_text():
    nasty = "<script>alert('x')</script>&"
    chart = bar_geometry([(nasty, 1)], title=nasty, x_label=nasty, y_label=nasty, chart_id=nasty)
    svg = str(draw("bar_chart", chart))
    assert "<script>" not in svg
    assert svg.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;") == 6
    assert 'aria-labelledby="scriptalertxscript-title scriptalertxscript-desc"' in svg
    assert draw("bar_chart", None) == ""
