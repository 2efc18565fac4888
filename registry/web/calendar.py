"""The working-day calendar for admins (mounted under /admin as admin.calendar.*): each year's
layer (entered, packaged, provisional) and the form to enter or correct a year's arrangement."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from registry.kernel import clock
from registry.policy import require
from registry.pure import workdays
from registry.services import calendars
from registry.web.forms import Form, parse_version
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
# A refused change is rolled back, and the calendar re-reads what is stored (the service had
# already switched this process to the uncommitted arrangement).
work = UnitOfWork(undo=workdays.mark_stale)


class CalendarYearForm(Form):
    """One year's arrangement as the State Council's notice gives it."""

    version = HiddenField()
    notice_title = StringField(
        "通知标题",
        validators=[Length(max=200)],
        description="如:国务院办公厅关于2027年部分节假日安排的通知",
    )
    notice_number = StringField(
        "通知文号", validators=[Length(max=64)], description="如:国办发明电〔2026〕7号"
    )
    notice_date = DateField("通知发布日期", validators=[Optional()])
    holidays = TextAreaField(
        "放假日期",
        validators=[Length(max=4000)],
        description="每行一个日期或日期范围,如 2027-01-01 或 2027-02-05 至 2027-02-11(含周末)。",
    )
    workdays = TextAreaField(
        "调休上班日期",
        validators=[Length(max=2000)],
        description="每行一个日期,须为周六或周日;没有则留空。",
    )


class RemoveForm(Form):
    """Remove an entered year (back to the package or the provisional calendar)."""

    version = HiddenField()


def _examples(form: CalendarYearForm, year: int) -> None:
    """The hints' examples in the year being entered (they named 2027 for every year)."""
    form.notice_title.description = f"如:国务院办公厅关于{year}年部分节假日安排的通知"
    form.notice_number.description = f"如:国办发明电〔{year - 1}〕7号"
    form.holidays.description = (
        f"每行一个日期或日期范围,如 {year}-01-01 或 {year}-10-01 至 {year}-10-07(含周末)。"
    )


def _moved(moves: list) -> str:
    """What a change did to the open dates ("0 个日期随之调整,相关人员已收到通知" told of no one)."""
    if not moves:
        return "没有未到期的日期因此变化。"
    return f"{len(moves)} 个未到期日期随之调整(提前或推后),相关人员已收到通知。"


def _year(year: int) -> int:
    if not calendars.FIRST_YEAR <= year <= calendars.LAST_YEAR:
        abort(404)
    return year


@bp.get("")
@require("calendar.manage")
def list_years():
    """Every year from last year to five years ahead, with the layer in force."""
    this = clock.today().year
    rows = calendars.overview(range(this - 1, min(this + 6, calendars.LAST_YEAR + 1)))
    entered = [y for y in workdays.entered_years() if not this - 1 <= y <= this + 5]
    return render_template(
        "admin/calendar_years.html",
        rows=rows,
        entered_elsewhere=entered,
        package_years=workdays.package_years(),
        note=workdays.PROVISIONAL_NOTE,
    )


@bp.route("/<int:year>", methods=["GET", "POST"])
@require("calendar.manage")
def edit_year(year: int):
    """Enter or correct a year; one service call, one commit; the dates it moved are listed."""
    year = _year(year)
    row = calendars.get_year(year)
    form = CalendarYearForm(obj=row if row is not None else None)
    _examples(form, year)
    if not form.is_submitted():
        form.version.data = str(row.version) if row else ""
        if row is not None:
            form.holidays.data = "\n".join(row.holidays)
            form.workdays.data = "\n".join(row.workdays)
    return work.page(
        form,
        lambda: calendars.save_year(
            actor(),
            year,
            holidays=calendars.parse_days(form.holidays.data, "holidays"),
            makeups=calendars.parse_days(form.workdays.data, "workdays"),
            title=form.notice_title.data,
            number=form.notice_number.data,
            notice_date=form.notice_date.data,
            version=parse_version(form.version.data) if form.version.data else None,
        ),
        done=lambda moved: f"已保存 {year} 年放假安排;{_moved(moved)}",
        to=url_for("admin.calendar.list_years"),
        template="admin/calendar_year.html",
        year=year,
        row=row,
        arrangement=workdays.arrangement(year),
        remove_form=RemoveForm(version=row.version if row else ""),
    )


@bp.post("/<int:year>/remove")
@require("calendar.manage")
def remove_year(year: int):
    """Remove an entered year; its dates return to the package or the provisional calendar."""
    year = _year(year)
    form = RemoveForm()
    moves = work.act(
        lambda: calendars.remove_year(actor(), year, version=parse_version(form.version.data)),
        form=form,
        invalid="页面已过期,请刷新后重试。",
        back=url_for("admin.calendar.edit_year", year=year),
    )
    flash(f"已删除 {year} 年录入的放假安排;{_moved(moves)}", "success")
    if (Path(current_app.config.get("CALENDAR_DIR") or "") / f"{year}.yaml").is_file():
        flash(
            f"注意:日历目录中仍有 {year}.yaml,下次运行 registry seed 时会重新载入;如不再需要,请一并删除该文件。",
            "warning",
        )
    return redirect(url_for("admin.calendar.list_years"))
