"""A late project's roadmap says so: the headline comes from the forecast the step table shows
(never the original plan's slack), and an overdue badge looks as serious as the step is late
(registry/pure/lateness.py), on the roadmap page, the staff project list and the dashboard."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Project, RoadmapStep, User
from registry.pure.lateness import LEVELS, lateness
from registry.services import roadmaps
from tests import factories

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

LAND = date(2026, 3, 2)


def _project(app, make_user) -> tuple[str, date]:
    """An enterprise's 民营/外资 project planned from LAND; returns its code and SP-01's planned finish."""
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        project.land_contract_date = LAND
        roadmaps.create_roadmap(project, actor=db.session.get(User, owner.id))
        db.session.commit()
        finish = db.session.scalar(
            select(RoadmapStep.planned_finish)
            .join(Project)
            .where(Project.code == project.code, RoadmapStep.key == "SP-01")
        )
        return project.code, finish


def _headline(html: str) -> str:
    match = re.search(r'<p class="plan-total[^"]*">(.*?)</p>', html, re.S)
    assert match, "the plan section has a headline"
    return re.sub(r"<[^>]+>|\s+", "", match.group(1))


def _state_cell(html: str, key: str) -> str:
    row = re.search(rf'<tr id="row-{key}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[7]


@pytest.mark.parametrize(
    ("late", "label", "css"), [(2, "轻度", "tag-late-1"), (95, "严重", "tag-late-3")]
)
def test_roadmap_headline_states_the_forecast_of_a_late_project(
    app, client, make_user, login, frozen_clock, late, label, css
):
    frozen_clock.freeze(LAND)
    code, first_finish = _project(app, make_user)
    login(make_user("staff"))
    on_time = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    plan = re.search(r"计划(\d+)天/目标160天,余量(\d+)天", _headline(on_time))
    assert plan, _headline(on_time)  # on the day of the land contract the plan leads
    planned_days = int(plan.group(1))

    frozen_clock.freeze(first_finish + timedelta(days=late))
    login(make_user("staff"))
    html = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    headline = _headline(html)
    forecast = re.search(r"按当前进度预计(\d+)天/目标160天,(余量|超出)(\d+)天", headline)
    assert forecast, headline
    days = int(forecast.group(1))
    assert days > planned_days  # the late first step pushes everything after it
    assert (forecast.group(2) == "超出") == (days > 160)
    assert int(forecast.group(3)) == abs(160 - days)
    assert f"余量{160 - planned_days}天" not in headline  # the plan's slack is not the headline
    assert f"原计划 {planned_days} 天 / 目标 160 天" in html  # still stated, below it
    # The table shows the same forecast: the last step's 预计 date is the headline's finish.
    finish = re.search(r"预计 (\d{4}-\d{2}-\d{2}) 取得施工许可", html).group(1)
    assert f"预计 {finish}" in html.split('id="steps-caption"')[1]
    # The late step's badge carries its level, in words and in its class.
    cell = _state_cell(html, "SP-01")
    assert f"超时 {late} 天({label})" in cell
    assert css in cell
    assert f"(最久 {late} 天,{label})" in html  # the alerts above the table
    # Only what there is: no warning-styled "0 项" beside the overdue count (stop 30).
    alerts = html.split('class="plan-alerts"')[1].split("</p>")[0]
    assert "到期预警" not in alerts


def test_roadmap_headline_badges_differ_on_staff_list_and_dashboard(
    app, client, make_user, login, frozen_clock
):
    frozen_clock.freeze(LAND)
    near, near_finish = _project(app, make_user)
    far, far_finish = _project(app, make_user)
    # Both projects share LAND, so one day makes SP-01 of each equally late; move one instead.
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == far))
        project.land_contract_date = LAND - timedelta(days=93)
        db.session.commit()
    frozen_clock.freeze(near_finish + timedelta(days=2))
    login(make_user("staff"))
    board = client.get("/staff/deadlines").get_data(as_text=True)
    listing = client.get("/staff/projects").get_data(as_text=True)
    for html in (board, listing):
        near_row = next(row for row in html.split("<tr") if near in row)
        far_row = next(row for row in html.split("<tr") if far in row)
        assert "tag-late-1" in near_row
        assert "轻度" in near_row
        assert "tag-late-3" in far_row
        assert "严重" in far_row
    assert "超时 2 天(轻度)" in board


def test_roadmap_headline_lateness_levels_are_ordered_and_cover_every_late_day():
    assert lateness(None) is None
    assert lateness(0) is None
    assert [lateness(d).label for d in (1, 7, 8, 30, 31, 400)] == [
        "轻度",
        "轻度",
        "较重",
        "较重",
        "严重",
        "严重",
    ]
    assert [level.from_days for level in LEVELS] == sorted(level.from_days for level in LEVELS)
    assert len({level.css for level in LEVELS}) == len(LEVELS)
