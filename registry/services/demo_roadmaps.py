"""Roadmaps for the demo projects (示例) of `registry seed --demo`: each category at a different
point of its plan, with actual dates, steps in progress, a due-date warning and overdue steps as
of late November 2026, the demo staff account as 帮办管家 / 审批专家, and the notifications the
deadline check raises on them.

Dates are fixed in 2026 (the working-day calendar ends with 2026): seeded on a later day the same
projects simply show more overdue steps; progress dated after `today` is left out. Idempotent: a
demo project that already has a land-contract date or steps is left alone.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from registry.extensions import db
from registry.models import Project, User
from registry.models.roadmap import StepStatus
from registry.services import market, roadmaps
from registry.services.errors import RegistryError

DONE, STARTED, SUBMITTED = (
    StepStatus.DONE.value,
    StepStatus.STARTED.value,
    StepStatus.SUBMITTED.value,
)

# project code → (land-contract date, steps covered by the regional assessment, staff roles,
# progress as (key, status, started, submitted, finished) in the order it happened).
PLANS: dict[str, tuple[date, tuple[str, ...], tuple[str, ...], list[tuple]]] = {
    # 民营/外资, nearly through: the environmental approval is due within days (到期预警).
    "2026-120116-34-03-900101": (
        date(2026, 6, 22),
        ("ZJ-04", "SP-06"),
        ("concierge", "expert"),
        [
            ("SP-01", DONE, date(2026, 6, 23), None, date(2026, 6, 23)),
            ("ZJ-11", DONE, date(2026, 6, 23), None, date(2026, 7, 3)),
            ("ZJ-03", DONE, date(2026, 6, 24), None, date(2026, 9, 29)),
            ("ZJ-14", DONE, date(2026, 6, 29), None, date(2026, 8, 7)),
            ("ZJ-15", DONE, date(2026, 6, 29), None, date(2026, 8, 10)),
            ("SP-03", DONE, date(2026, 7, 6), None, date(2026, 7, 31)),
            ("SP-10", DONE, date(2026, 8, 11), None, date(2026, 8, 28)),
            ("ZJ-16", DONE, date(2026, 8, 31), None, date(2026, 10, 23)),
            ("SP-12", DONE, date(2026, 10, 26), None, date(2026, 11, 12)),
            ("SP-05", SUBMITTED, date(2026, 9, 30), date(2026, 9, 30), None),
        ],
    ),  # fmt: skip
    # 简易低风险厂房, half way: the construction drawings are late (超时).
    "2026-120116-39-03-900102": (
        date(2026, 10, 12),
        (),
        ("concierge",),
        [
            ("SP-01", DONE, date(2026, 10, 13), None, date(2026, 10, 13)),
            ("SP-05", DONE, date(2026, 10, 14), None, date(2026, 10, 14)),
            ("ZJ-11", DONE, date(2026, 10, 13), None, date(2026, 10, 19)),
            ("ZJ-04", DONE, date(2026, 10, 14), None, date(2026, 10, 26)),
            ("ZJ-14", DONE, date(2026, 10, 13), None, date(2026, 10, 26)),
            ("ZJ-15", DONE, date(2026, 10, 13), None, date(2026, 10, 27)),
            ("SP-03", DONE, date(2026, 10, 20), None, date(2026, 11, 13)),
            ("SP-06", DONE, date(2026, 10, 27), None, date(2026, 11, 20)),
            ("ZJ-16", STARTED, date(2026, 10, 28), None, None),
        ],
    ),  # fmt: skip
    # 国有, in the last stage: drawing review and the tender agency run in parallel.
    "2026-120116-72-03-900103": (
        date(2026, 5, 25),
        (),
        ("concierge", "expert"),
        [
            ("SP-01", DONE, date(2026, 5, 26), None, date(2026, 5, 26)),
            ("ZJ-11", DONE, date(2026, 5, 26), None, date(2026, 6, 8)),
            ("ZJ-03", DONE, date(2026, 5, 27), None, date(2026, 8, 14)),
            ("ZJ-04", DONE, date(2026, 5, 27), None, date(2026, 7, 3)),
            ("ZJ-14", DONE, date(2026, 6, 1), None, date(2026, 7, 10)),
            ("ZJ-15", DONE, date(2026, 6, 1), None, date(2026, 7, 13)),
            ("SP-03", DONE, date(2026, 6, 9), None, date(2026, 7, 3)),
            ("SP-06", DONE, date(2026, 7, 6), None, date(2026, 7, 31)),
            ("SP-10", DONE, date(2026, 7, 14), None, date(2026, 8, 3)),
            ("SP-05", DONE, date(2026, 8, 17), None, date(2026, 10, 9)),
            ("ZJ-16", DONE, date(2026, 8, 4), None, date(2026, 9, 25)),
            ("SP-12", STARTED, date(2026, 10, 9), None, None),
            ("ZJ-23", STARTED, date(2026, 10, 12), None, None),
        ],
    ),  # fmt: skip
    # 民营/外资, early: survey late (超时), design review due soon; the plan runs into 2027.
    "2026-120116-35-03-900104": (
        date(2026, 7, 13),
        (),
        ("concierge",),
        [
            ("SP-01", DONE, date(2026, 7, 14), None, date(2026, 7, 14)),
            ("ZJ-11", DONE, date(2026, 7, 14), None, date(2026, 7, 27)),
            ("ZJ-03", STARTED, date(2026, 7, 15), None, None),
            ("ZJ-04", STARTED, date(2026, 7, 24), None, None),
            ("ZJ-14", STARTED, date(2026, 7, 23), None, None),
            ("SP-03", DONE, date(2026, 7, 28), None, date(2026, 8, 21)),
            ("ZJ-15", DONE, date(2026, 7, 15), None, date(2026, 8, 24)),
            ("SP-10", SUBMITTED, date(2026, 8, 25), date(2026, 8, 25), None),
        ],
    ),  # fmt: skip
}


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def seed_demo_roadmaps(today: date | None = None, lead: int | None = None) -> int:
    """Give each demo project without a plan its land-contract date, roadmap, staff and progress,
    then run the deadline check; returns how many projects were set up (0 when already done)."""
    today = today or market.today()
    lead = current_app.config["DEADLINE_WARNING_DAYS"] if lead is None else lead
    staff = _user("demo-staff")
    if staff is None:
        return 0
    made = 0
    for code, (land, regional, roles, progress) in PLANS.items():
        project = db.session.scalar(select(Project).where(Project.code == code))
        if project is None or not project.is_demo or project.land_contract_date or project.steps:
            continue
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor=staff)
        roadmaps.assign_staff(
            staff, code, concierge=staff if "concierge" in roles else None,
            expert=staff if "expert" in roles else None,
        )  # fmt: skip
        for key in regional:
            roadmaps.set_options(staff, code, key, applicable=True, covered_by_regional=True,
                                 self_prepared=False)  # fmt: skip
        for key, status, started, submitted, finished in progress:
            if max(d for d in (started, submitted, finished) if d) > today:
                continue  # seeded "before" that day: the step has not got that far yet
            try:
                roadmaps.record_progress(staff, code, key, status=status, started_on=started,
                                         submitted_on=submitted, finished_on=finished,
                                         today=today)  # fmt: skip
            except RegistryError:
                continue  # an admin changed the template before seeding; skip that entry
        made += 1
    if made:
        roadmaps.check_deadlines(today, lead)
    return made
