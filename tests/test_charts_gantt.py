"""The roadmap Gantt chart (registry.web.charts.gantt_chart): a pure function, no app needed.

Positions are checked against each other (pixels per day taken from one bar), so the tests hold
whatever the margins are."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from registry.web.charts import GanttRow, gantt_chart

SVG = "{http://www.w3.org/2000/svg}"
START = date(2026, 3, 1)  # the land-contract date


def _day(n: int) -> date:
    return START + timedelta(days=n)


def _chart(rows, **kwargs):
    kwargs.setdefault("ident", "roadmap")
    kwargs.setdefault("title", "项目路线图")
    kwargs.setdefault("description", "各步骤计划办理时间")
    kwargs.setdefault("start", START)
    svg = str(gantt_chart(rows, **kwargs))
    return svg, ET.fromstring(svg)  # noqa: S314 - our own output, parsed to read positions


def _classes(element) -> set[str]:
    return set(element.get("class", "").split())


def _rows(root) -> list:
    return [g for g in root.iter(f"{SVG}g") if "gantt-row" in _classes(g)]


def _bar(row):
    bars = [r for r in row.iter(f"{SVG}rect") if "gantt-bar" in _classes(r)]
    assert len(bars) == 1
    return bars[0]


def _texts(element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def _line_x(root, cls: str) -> float:
    group = next(g for g in root.iter(f"{SVG}g") if cls in _classes(g))
    line = group.find(f"{SVG}line")
    assert line.get("x1") == line.get("x2")
    return float(line.get("x1"))


def test_charts_gantt_bars_proportional_to_dates():
    rows = [
        GanttRow("SP-01 立项", _day(1), _day(10), "已完成"),  # 10 days, inclusive
        GanttRow("SP-02 规划许可", _day(11), _day(40), "办理中"),  # 30 days
    ]
    _, root = _chart(rows)
    first, second = (_bar(r) for r in _rows(root))
    per_day = float(first.get("width")) / 10
    assert per_day > 0
    assert float(second.get("width")) == pytest.approx(30 * per_day, abs=0.2)
    assert float(second.get("x")) - float(first.get("x")) == pytest.approx(10 * per_day, abs=0.2)
    # Consecutive steps touch: the first ends where the second begins.
    assert float(first.get("x")) + float(first.get("width")) == pytest.approx(
        float(second.get("x")), abs=0.2
    )


def test_charts_gantt_target_and_today_lines_at_their_dates():
    rows = [
        GanttRow("SP-01 立项", _day(1), _day(20), "已完成"),
        GanttRow("SP-02 规划许可", _day(21), _day(80), "办理中"),
    ]
    svg, root = _chart(rows, target=_day(90), today=_day(30))
    bar = _bar(_rows(root)[0])
    origin, per_day = float(bar.get("x")), float(bar.get("width")) / 20  # origin: left of day 1
    # The target line sits at the end of the target day: 90 days from the land contract.
    assert _line_x(root, "gantt-target") == pytest.approx(origin + 90 * per_day, abs=0.2)
    assert "目标 (90 天)" in svg
    # The today line in the middle of today (day 30).
    assert _line_x(root, "gantt-today") == pytest.approx(origin + 29.5 * per_day, abs=0.2)
    assert "今天" in svg


def test_charts_gantt_today_far_away_is_not_drawn():
    rows = [GanttRow("SP-01 立项", _day(1), _day(20), "办理中")]
    _, root = _chart(rows, today=_day(-30))  # before the land contract
    assert not [g for g in root.iter(f"{SVG}g") if "gantt-today" in _classes(g)]
    _, root = _chart(rows, today=_day(3000))  # years after the plan
    assert not [g for g in root.iter(f"{SVG}g") if "gantt-today" in _classes(g)]
    _, root = _chart(rows, today=_day(200))  # months after the plan: still drawn
    assert [g for g in root.iter(f"{SVG}g") if "gantt-today" in _classes(g)]


def test_charts_gantt_axis_has_month_labels():
    rows = [GanttRow("SP-01 立项", _day(1), _day(120), "未开始")]
    svg, _ = _chart(rows)
    for month in ("2026-04", "2026-05", "2026-06"):
        assert f">{month}</text>" in svg


def test_charts_gantt_critical_path_has_its_class_and_outline():
    rows = [
        GanttRow("SP-01 立项", _day(1), _day(10), "已完成", critical=True),
        GanttRow("SP-02 环评", _day(1), _day(5), "未开始"),
    ]
    svg, root = _chart(rows)
    critical, other = (_bar(r) for r in _rows(root))
    assert "gantt-critical" in _classes(critical)
    assert critical.get("stroke-width") == "2"
    assert "gantt-critical" not in _classes(other)
    assert "gantt-row-critical" in _classes(_rows(root)[0])
    assert "关键路径" in svg  # in the legend


@pytest.mark.parametrize(
    ("state", "cls", "marker"),
    [
        ("warning", "gantt-warning", "⚠"),
        ("overdue", "gantt-overdue", "超时"),
        ("到期预警", "gantt-warning", "⚠"),  # DeadlineState's values work too
        ("超时", "gantt-overdue", "超时"),
    ],
)
def test_charts_gantt_deadline_states_readable_without_colour(state, cls, marker):
    rows = [GanttRow("SP-05 环评审批", _day(1), _day(14), "办理中", state=state)]
    _, root = _chart(rows)
    row = _rows(root)[0]
    assert cls in _classes(_bar(row))
    # The text after the bar: the finish date and the marker.
    assert f"{_day(14):%m-%d} {marker}" in _texts(row)


def test_charts_gantt_finish_date_and_done_tick_follow_the_bar():
    rows = [
        GanttRow("SP-01 立项", _day(1), _day(14), "已完成"),
        GanttRow("SP-02 规划", _day(15), _day(20), "未开始"),
    ]
    _, root = _chart(rows)
    done, pending = _rows(root)
    assert "03-15 ✓" in _texts(done)
    assert "03-21" in _texts(pending)
    assert "gantt-done" in _classes(_bar(done))
    assert "gantt-pending" in _classes(_bar(pending))


def test_charts_gantt_actual_dates_drawn_as_a_thin_bar():
    rows = [
        GanttRow(
            "SP-01 立项", _day(1), _day(10), "已完成", actual_start=_day(3), actual_finish=_day(7)
        )
    ]
    _, root = _chart(rows)
    row = _rows(root)[0]
    bar = _bar(row)
    actual = next(r for r in row.iter(f"{SVG}rect") if "gantt-actual" in _classes(r))
    per_day = float(bar.get("width")) / 10
    assert float(actual.get("x")) == pytest.approx(float(bar.get("x")) + 2 * per_day, abs=0.2)
    assert float(actual.get("width")) == pytest.approx(5 * per_day, abs=0.2)
    assert float(actual.get("height")) < float(bar.get("height"))


def test_charts_gantt_unschedulable_rows_are_hatched():
    rows = [
        GanttRow("SP-01 立项", _day(1), _day(10), "办理中"),
        GanttRow("SP-09 人防审查", None, None, "未开始"),
    ]
    svg, root = _chart(rows)
    row = _rows(root)[1]
    assert not [r for r in row.iter(f"{SVG}rect") if "gantt-bar" in _classes(r)]
    band = next(r for r in row.iter(f"{SVG}rect") if "gantt-unscheduled" in _classes(r))
    assert band.get("fill") == "url(#roadmap-hatch)"
    assert 'id="roadmap-hatch"' in svg
    assert "无法排期" in _texts(row)


@pytest.mark.parametrize(
    ("status", "start", "finish", "note"),
    [
        ("不适用", _day(5), _day(5), "不适用"),
        ("已由区域评估覆盖", _day(5), _day(5), "区域评估覆盖"),
        ("未开始", _day(6), _day(5), "不占时间"),  # finish before start: no days at all
    ],
)
def test_charts_gantt_skipped_steps_are_diamonds(status, start, finish, note):
    rows = [GanttRow("SP-03 压覆矿产", start, finish, status)]
    _, root = _chart(rows)
    row = _rows(root)[0]
    assert not [r for r in row.iter(f"{SVG}rect") if "gantt-bar" in _classes(r)]
    assert [p for p in row.iter(f"{SVG}path") if "gantt-skipped" in _classes(p)]
    assert note in _texts(row)


def test_charts_gantt_escapes_every_text_and_stays_csp_clean():
    nasty = "<script>alert('x')</script> \"q\" & <b>"
    rows = [
        GanttRow(nasty, _day(1), _day(10), "办理中", group=nasty, href='/p?a=1&b="><script>'),
        GanttRow("SP-02", _day(1), _day(10), "办理中", href="javascript:alert(1)"),
        GanttRow("SP-03", _day(1), _day(10), "办理中", href=" java\tscript:alert(1)"),
    ]
    svg, root = _chart(rows, title=nasty, description=nasty, ident='x" onload="alert(1)')
    assert "<script" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;q&#34; &amp; &lt;b&gt;" in svg
    assert not re.search(r"\son\w+=", svg)  # no inline event handlers
    assert " style=" not in svg
    assert "javascript" not in svg.lower()
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "xonloadalert1-title xonloadalert1-desc"
    assert root.find(f"{SVG}title").text == nasty
    assert root.find(f"{SVG}desc").text == nasty
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ['/p?a=1&b="><script>']  # escaped, parsed back
    assert "".join(root.find(f"{SVG}g[@class='gantt-group']").itertext()) == nasty


def test_charts_gantt_long_labels_truncated_with_full_title():
    label = "SP-02 建设用地规划许可证核发(含规划条件核实、用地预审与选址意见书合并办理)"
    _, root = _chart([GanttRow(label, _day(1), _day(10), "办理中")])
    text = _rows(root)[0].find(f"{SVG}text")
    assert text.find(f"{SVG}title").text == label
    shown = "".join(text.itertext()).removeprefix(label)
    assert shown.endswith("…")
    assert len(shown) < len(label)


def test_charts_gantt_groups_and_height_grow_with_rows():
    one = [GanttRow("SP-01", _day(1), _day(10), "办理中", group="第一阶段 立项用地规划许可")]
    many = one + [
        GanttRow(f"SP-{n:02}", _day(n), _day(n + 5), "未开始", group="第二阶段 工程建设许可")
        for n in range(2, 12)
    ]
    _, small = _chart(one)
    _, big = _chart(many)
    assert int(big.get("height")) > int(small.get("height")) + 10 * 20
    assert big.get("viewBox").endswith(big.get("height"))
    bands = [g for g in big.iter(f"{SVG}g") if "gantt-group" in _classes(g)]
    assert ["".join(g.itertext()) for g in bands] == [
        "第一阶段 立项用地规划许可",
        "第二阶段 工程建设许可",
    ]


def test_charts_gantt_empty_says_no_steps():
    svg, root = _chart([])
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "项目路线图"
    assert "暂无步骤" in svg
    assert not list(root.iter(f"{SVG}rect"))


def _contrast_on_white(colour: str) -> float:
    """WCAG 2 contrast ratio of a #rrggbb colour against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_charts_gantt_line_labels_are_readable_on_white():
    """The 今天 label (11 px, on the chart's white) was #d35400, 4.17:1 (a tester's finding, stop
    30; axe does not read SVG text): the 目标 and 今天 labels keep WCAG AA's 4.5:1."""
    rows = [GanttRow("SP-01 立项", _day(1), _day(20), "办理中")]
    _, root = _chart(rows, target=_day(90), today=_day(30))
    labels = [
        text
        for g in root.iter(f"{SVG}g")
        if _classes(g) & {"gantt-today", "gantt-target"}
        for text in g.iter(f"{SVG}text")
    ]
    assert len(labels) == 2
    for text in labels:
        colour = text.get("fill")
        colour = "#000000" if colour == "#000" else colour
        assert _contrast_on_white(colour) >= 4.5, (text.text, colour)
