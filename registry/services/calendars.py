"""Entering a year's official holiday arrangement (放假安排) and what follows from it.

When a year's arrangement is entered, corrected or removed, every open date that depends on the
calendar is recomputed — roadmap plans, running service timers, contract and rating windows, the
公示期 and objection windows of credit notices, regulators' answer deadlines — and each person
whose date moved gets a notification "old → new". A date that had already passed before the
change is never reopened (it keeps its value and is not announced).

Services flush and log; the caller commits.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, appcontext_pushed, current_app, has_app_context
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from registry import policy, yamlfile
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.versions import StaleEdit, check_version
from registry.models.accounts import User
from registry.models.calendar import CalendarOrigin, CalendarYear
from registry.models.credit import WINDOW_MOVES, CreditRecord, Objection
from registry.models.market import Engagement
from registry.models.projects import Project
from registry.models.roadmap import Notification
from registry.pure import workdays
from registry.services import notify
from registry.services.audit import record
from registry.services.calendar_dates import STORED, Move, open_dates
from registry.services.errors import NotFound, RegistryError

FIRST_YEAR, LAST_YEAR = 2004, workdays.LAST_YEAR
RANGE = re.compile(
    r"^\s*(\d{4}-\d{1,2}-\d{1,2})\s*(?:(?:~|～|至|到|--|—|–)\s*(\d{4}-\d{1,2}-\d{1,2}))?\s*$"
)
MAX_DAYS = 60


class StaleCalendar(StaleEdit):
    """The year was changed by someone else since the form was opened."""

    message_text = "该年度安排已被他人修改,请刷新页面后重新录入。"


# --------------------------------------------------------------------------- parsing and checks


def _parse_date(text: str, line: int, label: str) -> date:
    try:
        year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day)
    except ValueError:
        raise RegistryError(label, f"第 {line} 行的日期无效:{text}") from None


def parse_days(text: str | None, field: str) -> list[date]:
    """Days typed one per line, as a date or a range ("2027-02-05 至 2027-02-11"), in order;
    a day listed twice is an error, as is a malformed line."""
    days: list[date] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        match = RANGE.match(raw.replace("/", "-").replace(".", "-"))
        if match is None:
            raise RegistryError(
                field,
                f"第 {number} 行无法识别:{raw.strip()[:40]}(格式:2027-01-01 或 2027-02-05 至 2027-02-11)",
            )
        first = _parse_date(match.group(1), number, field)
        last = _parse_date(match.group(2), number, field) if match.group(2) else first
        if last < first or (last - first).days > MAX_DAYS:
            raise RegistryError(field, f"第 {number} 行的日期范围无效:{raw.strip()[:40]}")
        days.extend(first + timedelta(days=n) for n in range((last - first).days + 1))
    return days


def check_arrangement(year: int, holidays: list[date], makeups: list[date]) -> None:
    """A holiday is listed once, a make-up working day falls on a weekend, every day is in the
    year, and no day is both."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise RegistryError("year", f"年份须在 {FIRST_YEAR}–{LAST_YEAR} 之间")
    for field, label, days in (
        ("holidays", "放假日期", holidays),
        ("workdays", "调休上班日期", makeups),
    ):
        seen: set[date] = set()
        for day in days:
            if day.year != year:
                raise RegistryError(field, f"{label}须在 {year} 年内:{day.isoformat()}")
            if day in seen:
                raise RegistryError(field, f"{label}重复列出:{day.isoformat()}")
            seen.add(day)
    if not holidays:
        raise RegistryError("holidays", "请填写放假日期")
    weekdays = [d for d in makeups if d.weekday() < 5]
    if weekdays:
        raise RegistryError("workdays", f"调休上班日须为周六或周日:{weekdays[0].isoformat()}")
    both = sorted(set(holidays) & set(makeups))
    if both:
        raise RegistryError("workdays", f"同一天既放假又上班:{both[0].isoformat()}")


def _notice(title: str | None, number: str | None, notice_date: date | None) -> dict[str, Any]:
    title, number = (title or "").strip(), (number or "").strip()
    if not title or len(title) > 200:
        raise RegistryError("notice_title", "请填写通知标题(200 字以内)")
    if not number or len(number) > 64:
        raise RegistryError("notice_number", "请填写通知文号(如 国办发明电〔2026〕7号)")
    if not isinstance(notice_date, date):
        raise RegistryError("notice_date", "请填写通知发布日期(YYYY-MM-DD)")
    if notice_date > clock.today():
        raise RegistryError("notice_date", "通知发布日期不能晚于今天")
    return {"notice_title": title, "notice_number": number, "notice_date": notice_date}


def _snapshot(row: CalendarYear | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "year": row.year,
        "holidays": list(row.holidays),
        "workdays": list(row.workdays),
        "notice_title": row.notice_title,
        "notice_number": row.notice_number,
        "notice_date": row.notice_date.isoformat(),
        "origin": row.origin,
    }


# --------------------------------------------------------------------------- reading


def get_year(year: int) -> CalendarYear | None:
    """The entered arrangement of a year, if any."""
    return db.session.get(CalendarYear, year)


def overview(years: range) -> list[tuple[workdays.YearArrangement, CalendarYear | None]]:
    """Each year's arrangement in force and the entered row behind it (the admin list)."""
    rows = {r.year: r for r in db.session.scalars(select(CalendarYear))}
    return [(workdays.arrangement(y), rows.get(y)) for y in years]


# --------------------------------------------------------------------------- changing


def save_year(
    actor: User | str,
    year: int,
    *,
    holidays: list[date],
    makeups: list[date],
    title: str | None,
    number: str | None,
    notice_date: date | None,
    version: int | None = None,
    origin: str = CalendarOrigin.ADMIN.value,
) -> list[Move]:
    """Enter or correct a year's arrangement; returns the open dates it moved (each announced).
    `version` is the row's version the form was opened on (None: the year had no entry then)."""
    check_arrangement(year, holidays, makeups)
    notice = _notice(title, number, notice_date)
    row = get_year(year)
    if (row.version if row is not None else None) != (None if version is None else int(version)):
        raise StaleCalendar()  # changed, entered or removed by someone else since
    before = _snapshot(row)
    values = {
        "holidays": [d.isoformat() for d in sorted(holidays)],
        "workdays": [d.isoformat() for d in sorted(makeups)],
        "origin": origin,
        **notice,
    }
    if before is not None and before == _snapshot(CalendarYear(year=year, **values)):
        return []  # nothing changed (seeding a file twice)
    old = open_dates(open_only=True)
    if row is None:
        row = CalendarYear(year=year, **values)
        db.session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    row.updated_by_id = actor.id if isinstance(actor, User) else None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise StaleCalendar() from None  # another admin entered the same year at the same time
    return _follow("calendar.save", actor, row, old, before=before, after=_snapshot(row))


def remove_year(actor: User | str, year: int, *, version: int | None = None) -> list[Move]:
    """Remove an entered arrangement: the year falls back to the package or the provisional
    calendar; the dates that depend on it move back, and are announced."""
    row = get_year(year)
    if row is None:
        raise NotFound("该年度未录入放假安排")
    check_version(row.version, version, StaleCalendar)
    before = _snapshot(row)
    old = open_dates(open_only=True)
    db.session.delete(row)
    db.session.flush()
    return _follow("calendar.remove", actor, row, old, before=before, after={})


def _follow(
    action: str,
    actor: User | str,
    row: CalendarYear,
    old: dict,
    *,
    before: dict | None,
    after: dict,
) -> list[Move]:
    """After a year was saved or removed: use the rows now stored, move the open dates that
    depend on the year (announced), and audit the change with how many dates moved."""
    _use_rows()
    moves = _apply(f"{row.year} 年放假安排调整", row.year, old, actor)
    record(action, actor=actor, of=row, before=before, after=after | {"moved": len(moves)})
    return moves


def resync_stored(actor: str = "system:check-deadlines") -> list[Move]:
    """Move the stored open deadlines (service due dates, credit windows, answer deadlines) that
    differ from the calendar now in force — a year made official by a chinesecalendar upgrade —
    and announce them. Idempotent: a second run finds nothing."""
    old = {k: m for k, m in open_dates(open_only=True).items() if k[0] in STORED}
    moves = []
    with _window_moves():
        for key, move in old.items():
            new = _recompute(key)
            if new is not None and new != move.old:
                moves.append(Move(key, move.label, move.old, new, move.user_ids, None, move.link))
        db.session.flush()
    _announce("工作日历更新", moves)
    _audit_moves(actor, None, moves)
    return moves


def load_files(folder: str | Path | None, actor: str = "system:seed") -> dict[str, list[int]]:
    """Enter the arrangements of seeds/calendar/<year>.yaml. A year an admin has entered on the
    site is left as it is (the admin's entry wins); a file's year is updated when the file
    changes. Returns the years loaded, unchanged and skipped."""
    result: dict[str, list[int]] = {"loaded": [], "unchanged": [], "skipped": []}
    for path in sorted(Path(folder).glob("*.yaml")) if folder and Path(folder).is_dir() else []:
        data = _read_file(path)
        year = data["year"]
        row = get_year(year)
        if row is not None and row.origin == CalendarOrigin.ADMIN.value:
            result["skipped"].append(year)
            continue
        version = row.version if row is not None else None
        try:
            save_year(
                actor,
                year,
                holidays=data["holidays"],
                makeups=data["workdays"],
                title=data["title"],
                number=data["number"],
                notice_date=data["notice_date"],
                origin=CalendarOrigin.FILE.value,
                version=version,
            )
        except RegistryError as error:
            raise RegistryError(None, f"日历文件 {path.name}:{error.message}") from None
        changed = get_year(year).version != version
        result["loaded" if changed else "unchanged"].append(year)
    return result


def _read_file(path: Path) -> dict[str, Any]:
    """year, notice title / number / date, holidays and workdays (dates or [from, to] pairs)."""
    try:
        data = yamlfile.read(path)
    except (OSError, yaml.YAMLError) as error:
        raise RegistryError(None, f"无法读取日历文件 {path.name}:{error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise RegistryError(None, f"日历文件 {path.name} 须含 year(年份)")

    def days(key: str) -> list[date]:
        lines = []
        for value in data.get(key) or []:
            lines.append(" 至 ".join(map(str, value)) if isinstance(value, list) else str(value))
        try:
            return parse_days("\n".join(lines), key)
        except RegistryError as error:
            raise RegistryError(None, f"日历文件 {path.name} 的 {key}:{error.message}") from None

    notice_date = data.get("notice_date")
    if isinstance(notice_date, str):
        try:
            notice_date = date.fromisoformat(notice_date)
        except ValueError:
            notice_date = None
    return {
        "year": data["year"],
        "title": data.get("notice_title") or data.get("source"),
        "number": data.get("notice_number") or data.get("source"),
        "notice_date": notice_date,
        "holidays": days("holidays"),
        "workdays": days("workdays"),
    }


def _use_rows() -> None:
    """The entered layer as this transaction sees it (committed or not)."""
    rows = db.session.scalars(select(CalendarYear)).all()
    workdays.use({row.year: _arrangement(row) for row in rows}, token=None)


def _arrangement(row: CalendarYear) -> workdays.YearArrangement:
    """An entered calendar_years row as an arrangement."""
    source = f"{row.notice_title}({row.notice_number})"
    return workdays.entered(row.year, row.holidays or [], row.workdays or [], source)


def reload() -> None:
    """Read the entered arrangements from the database (a small table: a few rows a decade) and
    switch to them when their content differs from what this process holds."""
    with db.session.no_autoflush:
        rows = db.session.scalars(select(CalendarYear).order_by(CalendarYear.year)).all()
        token = (
            str(db.session.get_bind().url),
            tuple(
                (r.year, tuple(r.holidays or ()), tuple(r.workdays or ()), r.notice_number)
                for r in rows
            ),
        )
    if token != workdays.entered_token():
        workdays.use({row.year: _arrangement(row) for row in rows}, token)


def _reload_in_app() -> bool:
    """The calendar's loader: re-read the entered layer, when there is a database to ask."""
    if not has_app_context():
        return False
    reload()
    return True


def init_app(app: Flask) -> None:
    """Re-read the entered years in each app context (another worker may have entered one since)."""
    workdays.set_loader(_reload_in_app)
    appcontext_pushed.connect(workdays.mark_stale)


@contextmanager
def _window_moves() -> Iterator[None]:
    """Let this session move published credit windows (the ORM refuses it otherwise)."""
    db.session.info[WINDOW_MOVES] = True
    try:
        yield
    finally:
        db.session.info.pop(WINDOW_MOVES, None)


def _recompute(key: tuple[str, int]) -> date | None:
    """The date of one open item under the calendar now in force (stored dates are rewritten)."""

    kind, ident = key
    if kind == "due":
        engagement = db.session.get(Engagement, ident)
        new = workdays.add_working_days(engagement.contract_date, engagement.committed_days)
        if new != engagement.due_date:
            # A derived deadline, written without the version bump (open forms stay valid).
            db.session.execute(
                update(Engagement)
                .where(Engagement.id == ident)
                .values(due_date=new)
                .execution_options(synchronize_session=False)
            )
            set_committed_value(engagement, "due_date", new)
        return new
    if kind in ("disclosure", "objection"):
        item = db.session.get(CreditRecord, ident)
        published = clock.local_date(item.published_at)
        setting = "CREDIT_DISCLOSURE_DAYS" if kind == "disclosure" else "CREDIT_OBJECTION_DAYS"
        new = workdays.add_working_days(published, int(current_app.config[setting]))
        column = "disclosure_until" if kind == "disclosure" else "objection_until"
        if new != getattr(item, column):
            setattr(item, column, new)
        return new
    if kind == "answer":
        objection = db.session.get(Objection, ident)
        new = workdays.add_working_days(
            clock.local_date(objection.submitted_at), int(current_app.config["CREDIT_ANSWER_DAYS"])
        )
        if new != objection.answer_due:
            objection.answer_due = new
        return new
    return None  # steps, contract and rating windows are computed, not stored


def _apply(
    heading: str, year: int, old: dict[tuple[str, int], Move], actor: User | str
) -> list[Move]:
    """Rewrite the stored open dates, re-plan roadmaps, then announce every open date that moved
    — also one moved before today (it is then past, and its people must know)."""
    from registry.services.roadmaps import plans

    with _window_moves():
        for key in old:
            _recompute(key)
        db.session.flush()
    # Every stored plan: past dates, totals and provisional marks move too, not only open dates.
    for project in plans.planned_projects():
        plans.replan(project)
    new = open_dates(open_only=False)
    moves = [
        Move(key, move.label, move.old, new[key].old, move.user_ids, move.project_id, move.link)
        for key, move in old.items()
        if key in new and new[key].old != move.old
    ]
    _announce(heading, moves)
    _audit_moves(actor, year, moves)
    return moves


def _audit_moves(actor: User | str, year: int | None, moves: list[Move]) -> None:
    """One audit entry per stored deadline that moved (plans and live windows are computed)."""
    for move in moves:
        if move.key[0] in STORED:
            record(
                "calendar.move",
                actor=actor,
                object_type=move.key[0],
                object_id=move.key[1],
                before={"date": move.old.isoformat()},
                after={"date": move.new.isoformat(), "year": year},
            )


KIND, TOPIC = "日期调整", "calendar"  # how the inbox labels a moved date; its mail choice


def _announce(heading: str, moves: list[Move]) -> None:
    """One notification per project (its people read project notifications) and one per user
    for everything else, each listing old → new."""
    from registry.services.roadmaps.deadlines import project_people

    today = clock.today()
    heading = f"{heading},以下日期随之变更"
    by_project: dict[int, list[Move]] = defaultdict(list)
    by_user: dict[int, list[Move]] = defaultdict(list)
    for move in moves:
        if move.project_id is not None:
            by_project[move.project_id].append(move)
        for user_id in move.user_ids:
            by_user[user_id].append(move)

    def text(items: list[Move]) -> str:
        lines = [f"{m.label}:{m.old.isoformat()} → {m.new.isoformat()}" for m in items]
        return f"{heading}:" + ";".join(lines) + "。"

    for project_id, items in by_project.items():
        notification = Notification(
            project_id=project_id,
            kind=KIND,
            topic=TOPIC,
            due_on=today,
            message=text(items),
            link=items[0].link,
        )
        db.session.add(notification)
        # Its people read the project's notification in the site; they are also mailed.
        project = db.session.get(Project, project_id)
        notify.notify(
            project_people(project),
            TOPIC,
            notification.message,
            link=notification.link or f"/projects/{project.code}/roadmap",
            kind=KIND,
            in_site=False,
        )
    for user_id, items in by_user.items():
        links = {m.link for m in items}
        notify.notify(
            [db.session.get(User, user_id)],
            TOPIC,
            text(items),
            link=links.pop() if len(links) == 1 else "/my/notifications",
            kind=KIND,
        )
    db.session.flush()


# The State Council publishes next year's arrangement in November or December: before then a
# reminder about next year could not be acted on (ten a year taught admins to ignore it: a
# tester, stop 31).
ANNOUNCED_FROM_MONTH = 11


def worth_telling(years: list[int], today: date) -> list[int]:
    """Of the years without an official arrangement, those an admin can act on now: this year,
    and next year from November."""
    return [y for y in years if y <= today.year or today.month >= ANNOUNCED_FROM_MONTH]


def tell_admins_provisional(years: list[int], today: date) -> int:
    """The admins who enter calendars are told that these years have no official arrangement yet,
    once a month while that lasts: the daily check found it, but said so only in its log and on
    /healthz (a tester, stop 29). Returns how many were told."""
    if not years:
        return 0
    listed = "、".join(str(y) for y in years)
    return notify.notify(
        notify.people(policy.action_accounts("calendar.manage")),
        "calendar",
        f"{listed} 年尚无官方放假安排,相关日期{workdays.PROVISIONAL_NOTE}。"
        "国务院办公厅公布当年节假日安排后,请录入工作日历。",
        link="/admin/calendar",
        kind="待录入日历",
        once_key=f"calendar-provisional:{listed}:{today:%Y-%m}",
    )
