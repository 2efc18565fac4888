"""Roadmap scheduling on China's working-day calendar (pure functions, no database).

Expected dates are written out from the State Council's published arrangements, not computed with
the library under test: 2026 Spring Festival off 15–23 Feb with make-up working Saturdays 14 and
28 Feb; National Day off 1–7 Oct with make-up working days Sun 20 Sep and Sat 10 Oct.
"""

from __future__ import annotations

from datetime import date

import pytest

from registry.pure.scheduling import CycleError, Step, plan
from registry.pure.workdays import CalendarRangeError

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

W, D = "工作日", "日"


def test_scheduling_working_days_skip_the_spring_festival_and_count_make_up_saturdays():
    schedule = plan([Step("a", "施工许可", 5, W)], date(2026, 2, 12))
    step = schedule.steps["a"]
    assert step.start == date(2026, 2, 13)  # Fri
    # Fri 13 (1), Sat 14 make-up (2), holiday 15–23, Tue 24 (3), Wed 25 (4), Thu 26 (5)
    assert step.finish == date(2026, 2, 26)


def test_scheduling_calendar_days_count_holidays_but_end_on_a_working_day():
    """Calendar days (日) count rest days, but a period whose last day is a rest day ends on the
    next working day (《民法典》第二百零三条). A tester found permits planned on a Sunday inside
    the 元旦 holiday (stop 29)."""
    # 12 Feb + 10 days = Sun 22 Feb, inside the Spring Festival holiday (15–23 Feb): Tue 24 Feb.
    schedule = plan([Step("a", "公示", 10, D)], date(2026, 2, 12))
    assert schedule.steps["a"].finish == date(2026, 2, 24)
    # 2 Feb + 10 days = Thu 12 Feb, a working day: as counted.
    assert plan([Step("a", "公示", 10, D)], date(2026, 2, 2)).steps["a"].finish == date(2026, 2, 12)
    # A chain: each period ends on a working day, the next counts from there.
    chain = [Step("a", "甲", 10, D), Step("b", "乙", 4, D, depends_on=("a",))]
    schedule = plan(chain, date(2026, 4, 1))  # 1 Apr + 10 = Sat 11 Apr → Mon 13 Apr
    assert schedule.steps["a"].finish == date(2026, 4, 13)
    assert schedule.steps["b"].finish == date(2026, 4, 17)


def test_scheduling_national_day_and_the_make_up_saturday_after_it():
    schedule = plan([Step("a", "审查", 3, W)], date(2026, 9, 30))
    # holiday 1–7 Oct; Thu 8 (1), Fri 9 (2), Sat 10 make-up (3)
    assert schedule.steps["a"].finish == date(2026, 10, 10)


def test_scheduling_parallel_branches_wait_for_the_longest_and_mark_the_critical_path():
    steps = [
        Step("land", "用地规划许可", 3, W),
        Step("eia", "环评批复", 10, D),
        Step("plan", "工程规划许可", 2, W, depends_on=("land", "eia")),
    ]
    schedule = plan(steps, date(2026, 3, 2), target_days=60)  # Mon
    assert schedule.steps["land"].finish == date(2026, 3, 5)
    assert schedule.steps["eia"].finish == date(2026, 3, 12)
    assert schedule.steps["plan"].ready == date(2026, 3, 12)  # waits for the longer branch
    assert schedule.steps["plan"].finish == date(2026, 3, 16)  # Fri 13 (1), Mon 16 (2)
    assert schedule.critical_path == ["eia", "plan"]
    assert schedule.steps["land"].slack_days == 7
    assert not schedule.steps["land"].critical
    assert schedule.total_days == 14
    assert schedule.margin_days == 46


@pytest.mark.parametrize(("category_target", "expected_margin"), [(160, 146), (60, 46), (210, 196)])
def test_scheduling_total_against_each_category_target(category_target, expected_margin):
    steps = [Step("a", "甲", 10, D), Step("b", "乙", 4, D, depends_on=("a",))]
    schedule = plan(steps, date(2026, 4, 13), target_days=category_target)  # ends on workdays
    assert schedule.total_days == 14
    assert schedule.margin_days == expected_margin


def test_scheduling_overrun_is_negative_margin():
    schedule = plan([Step("a", "甲", 70, D)], date(2026, 4, 1), target_days=60)
    assert schedule.margin_days == -10


def test_scheduling_regional_assessment_removes_a_step_but_keeps_the_chain():
    steps = [
        Step("land", "用地", 3, W),
        Step("eia", "环评", 20, W, depends_on=("land",)),
        Step("permit", "施工许可", 1, W, depends_on=("eia",)),
    ]
    full = plan(steps, date(2026, 3, 2))
    covered = plan(steps, date(2026, 3, 2), skip={"eia"})
    assert covered.steps["eia"].skipped
    assert covered.steps["permit"].ready == covered.steps["land"].finish
    assert covered.finish < full.finish


def test_scheduling_self_prepared_material_shortens_its_step():
    steps = [Step("report", "节能报告", 15, W, self_prepare_duration=5)]
    assert plan(steps, date(2026, 3, 2), self_prepared={"report"}).steps["report"].duration == 5
    assert plan(steps, date(2026, 3, 2)).steps["report"].duration == 15


def test_scheduling_replans_from_actual_dates():
    steps = [Step("a", "甲", 5, W), Step("b", "乙", 2, W, depends_on=("a",))]
    late = plan(steps, date(2026, 3, 2), actual={"a": (date(2026, 3, 3), date(2026, 3, 20))})
    assert late.steps["a"].finish == date(2026, 3, 20)
    assert late.steps["b"].ready == date(2026, 3, 20)
    assert late.steps["b"].finish == date(2026, 3, 24)  # Mon 23 (1), Tue 24 (2)
    started = plan(steps, date(2026, 3, 2), actual={"a": (date(2026, 3, 9), None)})
    assert started.steps["a"].finish == date(2026, 3, 13)  # Mon 9 counts as day 1


def test_scheduling_cycles_and_unknown_predecessors_are_errors():
    with pytest.raises(CycleError, match="循环依赖"):
        plan([Step("a", "甲", 1, W, ("b",)), Step("b", "乙", 1, W, ("a",))], date(2026, 3, 2))
    with pytest.raises(ValueError, match="不存在"):
        plan([Step("a", "甲", 1, W, ("x",))], date(2026, 3, 2))


def test_scheduling_across_a_year_without_an_arrangement_marks_the_steps_provisional():
    steps = [Step("a", "甲", 5, W), Step("b", "乙", 30, W, ("a",)), Step("c", "丙", 2, D, ("b",))]
    schedule = plan(steps, date(2026, 12, 1))
    assert schedule.complete
    assert schedule.steps["a"].finish == date(2026, 12, 8)  # inside 2026: official
    assert not schedule.steps["a"].provisional
    # 30 working days from 8 Dec 2026 reach into 2027 (元旦 off, provisional), and the
    # calendar-day step after it inherits the mark.
    assert schedule.steps["b"].finish == date(2027, 1, 20)
    assert schedule.steps["b"].provisional
    assert schedule.steps["c"].provisional
    assert schedule.provisional_years == [2027]


def test_scheduling_a_calendar_day_step_ending_in_a_provisional_year_is_provisional():
    """A tester (stop 31): a 7-日 step from 19 Jan 2028 ran into the provisional 春节 and was moved
    to 31 Jan, yet not marked 暂定 (only working-day steps were). A calendar-day step is
    provisional when its end falls in a year without an arrangement, and only then."""
    late_jan = plan([Step("a", "甲", 7, D)], date(2028, 1, 19)).steps["a"]
    assert late_jan.finish > date(2028, 1, 26)  # moved past the provisional holiday
    assert late_jan.provisional
    ends_in_2026 = plan([Step("a", "甲", 7, D)], date(2026, 3, 2)).steps["a"]
    assert not ends_in_2026.provisional
    into_2027 = plan([Step("a", "甲", 40, D)], date(2026, 12, 1)).steps["a"]
    assert into_2027.provisional  # its last day is in 2027


def test_scheduling_only_dates_past_2099_are_left_unscheduled():
    steps = [Step("a", "甲", 5, W), Step("b", "乙", 30, W, ("a",))]
    schedule = plan(steps, date(2099, 12, 1), partial=True)
    assert schedule.steps["a"].finish == date(2099, 12, 8)
    assert schedule.unscheduled == ["b"]
    assert "1901–2099" in schedule.error
    with pytest.raises(CalendarRangeError):
        plan(steps, date(2099, 12, 1))


def test_scheduling_forecast_pushes_late_work_past_today():
    steps = [Step("a", "甲", 10, D), Step("b", "乙", 10, D, ("a",)), Step("c", "丙", 5, D)]
    start = date(2026, 3, 1)
    baseline = plan(steps, start, actual={"a": (date(2026, 3, 2), None)})
    assert baseline.steps["a"].finish == date(2026, 3, 11)
    forecast = plan(steps, start, actual={"a": (date(2026, 3, 2), None)}, as_of=date(2026, 3, 20))
    assert forecast.steps["a"].finish == date(2026, 3, 20)  # still open today
    assert forecast.steps["b"].finish == date(2026, 3, 30)  # waits for it, full duration
    assert forecast.steps["c"].start == date(2026, 3, 21)  # not started: from today on
    done = plan(
        steps, start, actual={"a": (date(2026, 3, 2), date(2026, 3, 9))}, as_of=date(2026, 3, 20)
    )
    assert done.steps["a"].finish == date(2026, 3, 9)


def test_scheduling_a_finished_step_needs_no_calendar_even_at_its_end():
    """Started 2 Dec and finished 10 Dec 2026: its 30 working days would run into 2027, but the
    actual dates are known, so it (and what follows, when that fits) is dated."""
    steps = [Step("a", "甲", 30, W), Step("b", "乙", 5, D, ("a",))]
    schedule = plan(
        steps,
        date(2026, 12, 1),
        actual={"a": (date(2026, 12, 2), date(2026, 12, 10))},
        partial=True,
    )
    assert schedule.complete
    assert schedule.steps["a"].finish == date(2026, 12, 10)
    assert schedule.steps["b"].finish == date(2026, 12, 15)


def test_scheduling_a_loop_is_named_without_the_steps_leading_to_it():
    steps = [Step("a", "甲", 1, W, ("b",)), Step("b", "乙", 1, W, ("b",))]
    with pytest.raises(CycleError) as raised:
        plan(steps, date(2026, 3, 2))
    assert str(raised.value) == "审批步骤之间存在循环依赖:b → b"
