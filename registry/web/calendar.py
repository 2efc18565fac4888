"""The working-day calendar for admins (mounted under /admin as admin.calendar.*): each year's
layer (entered, packaged, provisional) and the form to enter or correct a year's arrangement."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from registry.kernel import clock
from registry.policy import require
from registry.pure import workdays
from registry.services import calendars
from registry.services.errors import RegistryError
from registry.web.forms import Form, parse_version
from registry.web.unit_of_work import Confirmation, UnitOfWork, actor, confirmed

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


STALE = "页面已过期,请刷新后重试。"


def _removal(year: int, form: RemoveForm) -> Confirmation:
    """The confirmation page of removing an entered year: what its dates fall back to."""
    row = calendars.get_year(year)
    if row is None:
        raise RegistryError(None, "该年度未录入放假安排")
    package = workdays.package_arrangement(year)
    fallback = "chinesecalendar 收录的官方安排" if package is not None else "按法定节假日推算(暂定)"
    return Confirmation(
        title=f"删除 {year} 年录入的放假安排",
        facts=[
            ("通知", f"{row.notice_title or '—'}({row.notice_number or '无文号'})"),
            ("删除后该年按", fallback),
        ],
        carry={"version": form.version.data or ""},
        warning=(
            "确认后删除,不能恢复(可重新录入)。未到期的日期随之重新计算,提前或推后的日期将通知相关"
            "人员;已到期的日期不变。"
        ),
        button="确认删除",
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
    context = {
        "year": year,
        "row": row,
        "arrangement": workdays.arrangement(year),
        "remove_form": RemoveForm(version=row.version if row else ""),
    }
    if request.method == "POST" and not confirmed() and form.validate_on_submit():
        missing = _statutory_missing(year, form)
        if missing:
            return work.confirm_form(
                form,
                lambda: _implausible(year, missing),
                back=url_for("admin.calendar.edit_year", year=year),
                template="admin/calendar_year.html",
                **context,
            )
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
        **context,
    )


def _statutory_missing(year: int, form: CalendarYearForm) -> list[str]:
    """The statutory days off (《全国年节及纪念日放假办法》) the entered arrangement would make
    working days; none when the lines cannot be read (saving reports that on the form)."""
    try:
        holidays = calendars.parse_days(form.holidays.data, "holidays")
        makeups = calendars.parse_days(form.workdays.data, "workdays")
        calendars.check_arrangement(year, holidays, makeups)
    except RegistryError:
        return []
    holidays, makeups = set(holidays), set(makeups)
    return [
        f"{day:%Y-%m-%d}({name})"
        for day, name in workdays.statutory_holidays(year).items()
        if day not in holidays and (day.weekday() < 5 or day in makeups)
    ]


def _implausible(year: int, missing: list[str]) -> Confirmation:
    """An arrangement that leaves statutory days off as working days: said before it is saved
    (one that listed only 元旦 made 春节 and 国庆 working days, moved deadlines and told people:
    a tester, stop 31)."""
    return Confirmation(
        title=f"保存 {year} 年放假安排",
        facts=[("以下法定节假日将成为工作日", "、".join(missing))],
        carry={k: v for k, v in request.form.items() if k != "csrf_token"},
        warning=(
            "国务院办公厅的放假安排通常包含全部法定节假日。请核对通知原文:如有遗漏,请返回修改;"
            "确认无误再保存。保存后未到期的日期随之重新计算,并通知相关人员。"
        ),
        button="确认保存",
    )


@bp.post("/<int:year>/remove")
@require("calendar.manage")
def remove_year(year: int):
    """Remove an entered year; its dates return to the package or the provisional calendar."""
    year = _year(year)
    form = RemoveForm()
    back = url_for("admin.calendar.edit_year", year=year)
    if not confirmed():
        return work.confirm(lambda: _removal(year, form), form=form, invalid=STALE, back=back)
    moves = work.act(
        lambda: calendars.remove_year(actor(), year, version=parse_version(form.version.data)),
        form=form,
        invalid=STALE,
        back=back,
    )
    flash(f"已删除 {year} 年录入的放假安排;{_moved(moves)}", "success")
    if (Path(current_app.config.get("CALENDAR_DIR") or "") / f"{year}.yaml").is_file():
        flash(
            f"注意:日历目录中仍有 {year}.yaml,下次运行 registry seed 时会重新载入;如不再需要,请一并删除该文件。",
            "warning",
        )
    return redirect(url_for("admin.calendar.list_years"))
