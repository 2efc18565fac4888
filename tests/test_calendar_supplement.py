"""Calendar years added from files before chinesecalendar ships them: read, checked, used by the
working-day arithmetic, and still an error for any year nobody added.

The arrangement below is SYNTHETIC test data (not the State Council's 2027 notice)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from registry.services import workdays
from registry.services.errors import RegistryError
from registry.services.scheduling import Step, plan

SYNTHETIC = """\
year: 2027
source: 测试用虚构安排(非真实通知)
holidays:
  - 2027-01-01
  - [2027-01-04, 2027-01-05]
workdays:
  - 2027-01-09
"""


@pytest.fixture
def added(tmp_path):
    (tmp_path / "2027.yaml").write_text(SYNTHETIC, encoding="utf-8")
    yield workdays.load_supplements(tmp_path)
    workdays.load_supplements(None)


def test_calendar_supplement_extends_the_working_day_count_into_the_added_year(added):
    assert added == [2027]
    assert workdays.covered_years()[1] == 2027
    assert not workdays.is_workday(date(2027, 1, 4))  # a weekday off in the file
    assert workdays.is_workday(date(2027, 1, 9))  # a Saturday worked in the file
    assert not workdays.is_workday(date(2027, 1, 10))  # an ordinary Sunday
    # From Thu 2026-12-31: Fri 1 Jan off, 4–5 off, Wed 6 (1), Thu 7 (2), Fri 8 (3), Sat 9 (4).
    assert workdays.add_working_days(date(2026, 12, 31), 4) == date(2027, 1, 9)
    schedule = plan([Step("a", "甲", 30, "工作日")], date(2026, 12, 1), partial=True)
    assert schedule.complete


def test_calendar_supplement_years_nobody_added_are_still_errors(added):
    with pytest.raises(workdays.CalendarRangeError, match="2004–2027"):
        workdays.is_workday(date(2028, 3, 1))


def test_calendar_without_supplements_refuses_2027():
    workdays.load_supplements(None)
    with pytest.raises(workdays.CalendarRangeError, match="尚未纳入"):
        workdays.is_workday(date(2027, 1, 4))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year: 2027\nholidays: []\n", "source"),
        ("year: 2026\nsource: x\n", "已由 chinesecalendar 提供"),
        ("year: 2027\nsource: x\nholidays: [2028-01-01]\n", "以外的日期"),
        ("year: 2027\nsource: x\nworkdays: [2027-01-06]\n", "须为周末"),
        ("year: 2027\nsource: x\nholidays: [2027-01-09]\nworkdays: [2027-01-09]\n", "既放假又上班"),
        ("year: 2027\nsource: x\nholidays: [not-a-date]\n", "无效日期"),
        ("year: [\n", "无法读取"),
    ],
)
def test_calendar_supplement_rejects_a_malformed_file_and_keeps_what_was_loaded(
    tmp_path, text, message
):
    (tmp_path / "2027.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        workdays.load_supplements(tmp_path)
    assert workdays.supplements() == []


def test_calendar_coverage_gap_warns_until_next_year_is_known(added):
    assert workdays.coverage_gap(date(2026, 11, 26)) is None  # 2027 added
    gap = workdays.coverage_gap(date(2027, 3, 1))
    assert "2028 年的节假日安排尚未纳入" in gap


def test_calendar_coverage_gap_names_the_missing_year():
    workdays.load_supplements(None)
    assert "2027 年的节假日安排尚未纳入" in workdays.coverage_gap(date(2026, 11, 26))
    assert workdays.coverage_gap(date(2025, 6, 1)) is None


def test_calendar_fast_path_agrees_with_chinesecalendar_every_day_it_knows():
    import chinese_calendar

    first, last = workdays.covered_years()
    day = date(first, 1, 1)
    while day.year <= min(last, 2026):
        assert workdays.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
