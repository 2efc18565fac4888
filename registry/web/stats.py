"""The oversight dashboard (/stats): the zone's timeliness and the marketplace's health for
everyone, with the 超时通报 list and the integrity signals (待核查线索) for staff and admins. Every
figure is a table, drawn also as an SVG chart where one helps, and downloadable as CSV. The public
page and its CSVs are cached per data generation and day (page_cache)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template
from flask_login import current_user
from markupsafe import Markup

from registry.policy import PUBLIC, require, sees_stats_detail
from registry.services import market, stats
from registry.web.charts import bar_chart, series_chart
from registry.web.exports import csv_bytes
from registry.web.page_cache import cached_page

bp = Blueprint("stats", __name__)


def _figures() -> stats.Stats:
    return stats.dashboard(
        market.today(),
        lead=current_app.config["DEADLINE_WARNING_DAYS"],
        settings=stats.Settings.from_config(current_app.config),
        staff=sees_stats_detail(current_user),
    )


def _number(cell) -> float:
    """A table cell as a chart value (a share "66.7%" as 66.7; "—" as 0)."""
    if isinstance(cell, int | float):
        return float(cell)
    text = str(cell).rstrip("%")
    try:
        return float(text)
    except ValueError:
        return 0.0


def charts(figures: stats.Stats) -> dict[str, Markup]:
    """The SVG charts beside the tables (the tables carry the same figures)."""
    permit = figures.table("permit-by-category")
    quarters = figures.table("permit-by-quarter")
    labels = sorted({row[0] for row in quarters.rows})
    series = []
    for category in (row[0] for row in permit.rows):
        values = {row[0]: row[4] for row in quarters.rows if row[1] == category}
        if values:
            series.append((category, [_number(values[q]) if q in values else None for q in labels]))
    stages = figures.table("time-by-stage")
    alerts = figures.table("alerts-by-department")
    methods = figures.table("requests-by-method")
    concentration = figures.table("award-concentration")
    return {
        "permit-by-category": bar_chart(
            [(row[0], _number(row[3])) for row in permit.rows if row[2]],
            title="已取得施工许可项目的平均用时(目标:民营/外资 160 天、简易低风险 60 天、国有 210 天)",
            x_label="项目类别",
            y_label="平均用时(天)",
            chart_id="stats-permit",
        ),
        "permit-by-quarter": series_chart(
            labels,
            series,
            title="各季度取得施工许可项目的平均用时",
            x_label="取得施工许可的季度",
            y_label="平均用时(天)",
            y_max=250,
            chart_id="stats-quarters",
        )
        if labels
        else Markup(""),
        "time-by-stage": bar_chart(
            [(f"{row[0][:4]} {row[1]}", _number(row[6])) for row in stages.rows],
            title="各阶段按时办结率(%)",
            x_label="审批阶段与计时单位",
            y_label="按时办结率(%)",
            chart_id="stats-stages",
        ),
        "alerts-by-department": bar_chart(
            [(row[0], float(row[2])) for row in alerts.rows[:10]],
            title="各部门超时步骤数(前 10)",
            x_label="部门",
            y_label="超时步骤(个)",
            chart_id="stats-alerts",
        ),
        "requests-by-method": bar_chart(
            [(row[0], float(row[1])) for row in methods.rows if row[0] != "合计"],
            title="选取公告数(按选取方式)",
            x_label="选取方式",
            y_label="公告(个)",
            chart_id="stats-methods",
        ),
        "award-concentration": bar_chart(
            [(row[0].split(" ")[0], float(row[4])) for row in concentration.rows],
            title="各服务事项中选集中度(HHI)",
            x_label="服务事项",
            y_label="HHI",
            chart_id="stats-hhi",
        ),
    }


def _refs(cell) -> stats.Refs | None:
    """The requests a cell names (linked on the page), or None for a plain cell."""
    return cell if isinstance(cell, stats.Refs) else None


@bp.get("/stats")
@require(PUBLIC)
@cached_page
def show_stats():
    """The dashboard: public figures for everyone, the staff's on top for staff and admins."""
    figures = _figures()
    return render_template("stats/show.html", stats=figures, charts=charts(figures), refs=_refs)


@bp.get("/stats/<name>.csv")
@require(PUBLIC)
@cached_page
def export_csv(name: str):
    """One of the dashboard's tables as CSV (the same rows as the page, all of them); a staff
    table for anyone else is not found. Page-cached for the public with its file name."""
    table = _figures().tables.get(name[:60])
    if table is None:
        abort(404)
    response = Response(csv_bytes(table.columns, table.rows), mimetype="text/csv")
    filename = f"stats-{table.name}-{market.today():%Y%m%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
