"""Roadmaps for the demo projects (示例) of `registry seed --demo`: each category at a different
point of its plan, with actual dates, steps in progress, a due-date warning and overdue steps,
the demo staff account as 帮办管家 / 审批专家, and the notifications the deadline check raises.

Every date is laid out backwards from the day of seeding, so the demo looks the same whenever it
is seeded: actual dates fall on working days, the step meant to be due soon is placed from its
template duration to finish on the next working day (到期预警), and the late steps are weeks past
their planned finish (超时). Idempotent: a demo project that already has a land-contract date or
steps is left alone.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import Project, User
from registry.models.catalogue import TimeUnit
from registry.models.roadmap import RoadmapStep, StepStatus
from registry.pure.workdays import add_working_days, is_workday, on_or_before_workday
from registry.services import market, roadmaps
from registry.services.errors import RegistryError

DONE, STARTED, SUBMITTED = (
    StepStatus.DONE.value,
    StepStatus.STARTED.value,
    StepStatus.SUBMITTED.value,
)
# In place of a start date: started so that the step is planned to finish on the next working day.
DUE_NEXT = "due-next-working-day"

# Project serial (the last part of its code) → (land-contract date, steps covered by the
# regional assessment, staff roles, progress as (key, status, started, submitted, finished) in
# the order it happened). Dates are in days from the day of seeding (negative: before it), each
# moved back to a working day.
PLANS: dict[str, tuple[int, tuple[str, ...], tuple[str, ...], list[tuple]]] = {
    # 民营/外资, nearly through: the environmental approval is due within days (到期预警).
    "900101": (
        -157,
        ("ZJ-04", "SP-06"),
        ("concierge", "expert"),
        [
            ("SP-01", DONE, -156, None, -156),
            ("ZJ-11", DONE, -156, None, -146),
            ("ZJ-03", DONE, -155, None, -58),
            ("ZJ-14", DONE, -150, None, -111),
            ("ZJ-15", DONE, -150, None, -108),
            ("SP-03", DONE, -143, None, -118),
            ("SP-10", DONE, -107, None, -90),
            ("ZJ-16", DONE, -87, None, -34),
            ("SP-12", DONE, -31, None, -14),
            ("SP-05", SUBMITTED, DUE_NEXT, DUE_NEXT, None),
        ],
    ),
    # 简易低风险厂房, half way: the construction drawings are late (超时).
    "900102": (
        -45,
        (),
        ("concierge",),
        [
            ("SP-01", DONE, -44, None, -44),
            ("SP-05", DONE, -43, None, -43),
            ("ZJ-11", DONE, -44, None, -38),
            ("ZJ-04", DONE, -43, None, -31),
            ("ZJ-14", DONE, -44, None, -31),
            ("ZJ-15", DONE, -44, None, -30),
            ("SP-03", DONE, -37, None, -13),
            ("SP-06", DONE, -30, None, -6),
            # four weeks from 33 days ago: late by days, even when its end moves past a weekend
            ("ZJ-16", STARTED, -33, None, None),
        ],
    ),
    # 国有, in the last stage: drawing review and the tender agency run in parallel.
    "900103": (
        -185,
        (),
        ("concierge", "expert"),
        [
            ("SP-01", DONE, -184, None, -184),
            ("ZJ-11", DONE, -184, None, -171),
            ("ZJ-03", DONE, -183, None, -104),
            ("ZJ-04", DONE, -183, None, -146),
            ("ZJ-14", DONE, -178, None, -139),
            ("ZJ-15", DONE, -178, None, -136),
            ("SP-03", DONE, -170, None, -146),
            ("SP-06", DONE, -143, None, -118),
            ("SP-10", DONE, -135, None, -115),
            ("SP-05", DONE, -101, None, -48),
            ("ZJ-16", DONE, -114, None, -62),
            ("SP-12", STARTED, -48, None, None),
            ("ZJ-23", STARTED, -45, None, None),
        ],
    ),
    # 民营/外资, early: the environmental report, soil and water plan, survey and planning review
    # are all late (超时), so the plan runs past its target.
    "900104": (
        -136,
        (),
        ("concierge",),
        [
            ("SP-01", DONE, -135, None, -135),
            ("ZJ-11", DONE, -135, None, -122),
            ("ZJ-03", STARTED, -134, None, None),
            ("ZJ-04", STARTED, -125, None, None),
            ("ZJ-14", STARTED, -126, None, None),
            ("SP-03", DONE, -121, None, -97),
            ("ZJ-15", DONE, -134, None, -94),
            ("SP-10", SUBMITTED, -93, -93, None),
        ],
    ),
}


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def land_contract_date(serial: str, today: date) -> date:
    """The demo project's land-contract date when seeded on `today` (its code's year is that
    date's year)."""
    return on_or_before_workday(today + timedelta(days=PLANS[serial][0]))


def _start_for_finish(finish: date, step: RoadmapStep) -> date:
    """The start from which the step is planned to finish on `finish` (its last working day on
    or before `finish`, for a step counted in working days)."""
    if step.unit != TimeUnit.WORKING_DAY.value:
        return finish - timedelta(days=max(step.duration - 1, 0))
    day, left = on_or_before_workday(finish), step.duration - 1
    while left > 0:
        day -= timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def _date(step: RoadmapStep, today: date, offset: int | str | None) -> date | None:
    """One of the step's actual dates as of `today`."""
    if offset is None:
        return None
    if offset == DUE_NEXT:
        return _start_for_finish(add_working_days(today, 1), step)
    return on_or_before_workday(today + timedelta(days=offset))


def seed_demo_roadmaps(today: date | None = None, lead: int | None = None) -> int:
    """Give each demo project without a plan its land-contract date, roadmap, staff and progress
    as of `today` (the clock's), then run the deadline check; returns how many projects were set
    up (0 when already done)."""
    today = today or clock.today()
    lead = current_app.config["DEADLINE_WARNING_DAYS"] if lead is None else lead
    staff = _user("demo-staff")
    if staff is None:
        return 0
    made = 0
    for serial, (_land, regional, roles, progress) in PLANS.items():
        project = db.session.scalar(
            select(Project).where(Project.is_demo.is_(True), Project.code.endswith(f"-{serial}"))
        )
        if project is None or project.land_contract_date or project.steps:
            continue
        project.land_contract_date = land_contract_date(serial, today)
        roadmaps.create_roadmap(project, actor=staff)
        code = project.code
        roadmaps.assign_staff(
            staff,
            code,
            concierge=staff if "concierge" in roles else None,
            expert=staff if "expert" in roles else None,
        )
        for key in regional:
            roadmaps.set_options(
                staff, code, key, applicable=True, covered_by_regional=True, self_prepared=False
            )
        steps = {s.key: s for s in project.steps}
        for key, status, *offsets in progress:
            if key not in steps:
                continue  # an admin removed the step from the template before seeding
            started, submitted, finished = (_date(steps[key], today, o) for o in offsets)
            try:
                roadmaps.record_progress(
                    staff,
                    code,
                    key,
                    status=status,
                    started_on=started,
                    submitted_on=submitted,
                    finished_on=finished,
                    today=today,
                )
            except RegistryError:
                continue  # an admin changed the template so that this entry no longer fits
        made += 1
    if made:
        roadmaps.check_deadlines(today, lead)
    return made


# Projects that went all the way to the construction permit (示例), so that the oversight
# dashboard (/stats) has days to permit, time per stage and per department on a fresh install:
# (serial, industry, name, category, days from land contract to permit, days before the day of
# seeding that the permit was issued). Three within their category's target, one over it; both
# dates are moved back to a working day, which adds at most a holiday week to the days, so the
# ones within keep more than that to spare.
PERMITS = [
    ("900105", "34", "示例汽车零部件厂房(示例)", "民营/外资", 146, 40),
    ("900106", "39", "示例仓储物流标准厂房(示例)", "简易低风险厂房", 48, 100),
    ("900107", "72", "示例创新服务中心(示例)", "国有", 195, 150),
    ("900108", "35", "示例新材料研发楼(示例)", "民营/外资", 181, 230),
]
# How much longer or shorter than its planned duration each step of those projects ran, drawn
# per step (seeded per project) before the whole run is fitted to the project's days to permit.
PACES = (0.6, 0.8, 0.9, 1.0, 1.0, 1.1, 1.3)


def seed_demo_permits(today: date | None = None) -> list[Project]:
    """Add the demo projects that obtained their construction permit (PERMITS), through the
    services: registered for the demo enterprise, their roadmap from the template, every
    applicable step finished (started and finished dates laid out backwards from the seeding day);
    returns the projects added (none when present, or without the demo accounts)."""
    today = today or clock.today()
    staff, owner = _user("demo-staff"), _user("demo-enterprise")
    if staff is None or owner is None or owner.enterprise_id is None:
        return []
    made = []
    for serial, industry, name, category, days, ago in PERMITS:
        if db.session.scalar(
            select(Project.id).where(Project.is_demo.is_(True), Project.code.endswith(f"-{serial}"))
        ):
            continue
        permit = on_or_before_workday(today - timedelta(days=ago))
        land = on_or_before_workday(permit - timedelta(days=days))
        project = market.create_project(
            owner,
            code=f"{land.year}-120116-{industry}-03-{serial}",
            name=name,
            category=category,
            location="天津滨海高新区(示例)",
        )
        project.is_demo = True
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor=staff)
        roadmaps.assign_staff(staff, project.code, concierge=staff, expert=None)
        rng = random.Random(int(serial))  # noqa: S311 - reproducible demo data, not a secret
        runs = _finished_runs(project, land, permit, rng)
        for step in sorted(project.steps, key=lambda s: runs.get(s.key, (land, land))):
            if step.key in runs:
                started, finished = runs[step.key]
                roadmaps.record_progress(
                    staff,
                    project.code,
                    step.key,
                    status=DONE,
                    started_on=started,
                    finished_on=finished,
                    today=today,
                )
        made.append(project)
    return made


def _finished_runs(
    project: Project, land: date, permit: date, rng: random.Random
) -> dict[str, tuple[date, date]]:
    """(started, finished) of each applicable step: each step starts the day after the last of
    its predecessors finished and runs its planned length times a pace from PACES; the whole run
    is then stretched or shrunk so that the permit step finishes on `permit`, each date moved
    back to a working day (a monotone map, so the order of the steps is kept)."""
    steps = {s.key: s for s in project.steps if not s.skipped}
    offsets: dict[str, tuple[int, int]] = {}

    def run(key: str) -> tuple[int, int]:
        if key not in offsets:
            step = steps[key]
            start = max((run(d)[1] + 1 for d in step.depends_on or () if d in steps), default=0)
            length = step.duration * (7 / 5 if step.unit == TimeUnit.WORKING_DAY.value else 1)
            offsets[key] = (start, start + max(round(length * rng.choice(PACES)) - 1, 0))
        return offsets[key]

    for key in sorted(steps, key=lambda k: (steps[k].stage, steps[k].sequence)):
        run(key)
    permit_key = current_app.config.get("STATS_PERMIT_STEP", "SP-15")
    total = offsets.get(permit_key, max(offsets.values(), key=lambda o: o[1]))[1] or 1
    scale = Decimal((permit - land).days) / Decimal(total)

    def day(offset: int) -> date:
        days = int((Decimal(offset) * scale).to_integral_value(ROUND_HALF_UP))
        return on_or_before_workday(land + timedelta(days=days))

    return {key: (day(start), day(finish)) for key, (start, finish) in offsets.items()}
