"""Progress on a project's steps: the status and dates the enterprise or staff enter, and the
options (applies, covered by the zone's regional assessment, prepared by the enterprise itself);
each change re-plans the project."""

from __future__ import annotations

from datetime import date
from typing import Required, TypedDict, Unpack

from registry.extensions import db
from registry.kernel.versions import StaleEdit, check_version, flush_checked
from registry.models.accounts import User
from registry.models.projects import Project
from registry.models.roadmap import (
    RoadmapStep,
    StepStatus,
)
from registry.services import market
from registry.services.audit import record, snapshot
from registry.services.errors import NotFound, RegistryError
from registry.services.roadmaps.plans import replan

# Only the dates a status has are kept (and checked): 办理中 has a start, 已提交 a start and a
# submission, 已完成 a start, perhaps a submission, and a finish; 未开始 none.
KEPT_DATES = {
    StepStatus.PENDING: (),
    StepStatus.STARTED: ("started_on",),
    StepStatus.SUBMITTED: ("started_on", "submitted_on"),
    StepStatus.DONE: ("started_on", "submitted_on", "finished_on"),
}
NEEDED_DATES = {
    StepStatus.STARTED: ("started_on",),
    StepStatus.SUBMITTED: ("started_on", "submitted_on"),
    StepStatus.DONE: ("started_on", "finished_on"),
}
DATE_LABELS = {"started_on": "开始日期", "submitted_on": "提交日期", "finished_on": "办结日期"}


class StaleStep(StaleEdit):
    """The step changed since the progress or options form was rendered."""

    message_text = "该步骤已被他人更新,请刷新后重试"


def _step(project: Project, key: str) -> RoadmapStep:
    step = next((s for s in project.steps if s.key == key), None)
    if step is None:
        raise NotFound("该项目没有这个步骤")
    return step


def get_step_for(user: User, code: str, key: str) -> RoadmapStep:
    """A step of a project the user may see; NotFound for an unknown project or step."""
    return _step(market.get_project_for(user, code), key)


class Progress(TypedDict, total=False):
    """A step's progress as its form gives it: the status (办理中 / 已提交 / 已完成) and the dates
    that status keeps."""

    status: Required[str | None]
    started_on: date | None
    submitted_on: date | None
    finished_on: date | None


def record_progress(
    user: User,
    code: str,
    key: str,
    *,
    version: int | None = None,
    today: date | None = None,
    **progress: Unpack[Progress],
) -> RoadmapStep:
    """Enter a step's progress (办理中 / 已提交 / 已完成 with dates) and re-plan from it."""
    project, step = _step_at(user, code, key, version)
    today = today or market.today()
    try:
        new = StepStatus(progress["status"])
    except ValueError:
        raise RegistryError("status", "请选择办理状态") from None
    if new == StepStatus.NOT_APPLICABLE:
        raise RegistryError("status", "“不适用”请在办理选项中设置")
    if step.status == StepStatus.NOT_APPLICABLE.value:
        raise RegistryError("status", "该步骤目前设为“不适用”,请先在办理选项中设为适用")
    given = {name: progress.get(name) for name in ("started_on", "submitted_on", "finished_on")}
    dates = _progress_dates(new, given, project, today)
    before = snapshot(step)
    step.status = new.value
    for name, value in dates.items():
        setattr(step, name, value)
    return _saved("roadmap.progress", user, project, step, before)


def _progress_dates(
    new: StepStatus, given: dict[str, date | None], project: Project, today: date
) -> dict[str, date | None]:
    """The dates the new status keeps (the others dropped), checked: those it needs are given,
    none lies in the future or before the land contract, and they come in order."""
    dates = {name: value if name in KEPT_DATES[new] else None for name, value in given.items()}
    for name in NEEDED_DATES.get(new, ()):
        if dates[name] is None:
            raise RegistryError(name, f"状态为“{new.value}”时须填写{DATE_LABELS[name]}")
    for name, value in dates.items():
        if value is None:
            continue
        if value > today:
            raise RegistryError(name, f"{DATE_LABELS[name]}不能晚于今天")
        if project.land_contract_date and value < project.land_contract_date:
            raise RegistryError(name, f"{DATE_LABELS[name]}不能早于土地出让合同签订日")
    started_on, submitted_on, finished_on = (
        dates["started_on"],
        dates["submitted_on"],
        dates["finished_on"],
    )
    if started_on and submitted_on and submitted_on < started_on:
        raise RegistryError("submitted_on", "提交日期不能早于开始日期")
    if started_on and finished_on and finished_on < started_on:
        raise RegistryError("finished_on", "办结日期不能早于开始日期")
    if submitted_on and finished_on and finished_on < submitted_on:
        raise RegistryError("finished_on", "办结日期不能早于提交日期")
    return dates


def set_options(
    user: User,
    code: str,
    key: str,
    *,
    applicable: bool,
    covered_by_regional: bool,
    self_prepared: bool,
    version: int | None = None,
) -> RoadmapStep:
    """Choose whether a step applies, is covered by the zone's regional assessment (no time), or
    is prepared by the enterprise itself (shorter); then re-plan."""
    project, step = _step_at(user, code, key, version)
    if covered_by_regional and not step.regional_assessment:
        raise RegistryError("covered_by_regional", "该步骤不在区域评估覆盖范围内")
    if self_prepared and step.self_prepare_duration is None:
        raise RegistryError("self_prepared", "该步骤不可由企业自行编制")
    if not applicable and step.status in (StepStatus.DONE.value, StepStatus.SUBMITTED.value):
        raise RegistryError("applicable", "已提交或已完成的步骤不能设为不适用")
    before = snapshot(step)
    step.covered_by_regional, step.self_prepared = covered_by_regional, self_prepared
    if not applicable:
        step.status = StepStatus.NOT_APPLICABLE.value
        step.started_on = step.submitted_on = step.finished_on = None
    elif step.status == StepStatus.NOT_APPLICABLE.value:
        step.status = StepStatus.PENDING.value
    return _saved("roadmap.options", user, project, step, before)


def _step_at(user: User, code: str, key: str, version: int | None) -> tuple[Project, RoadmapStep]:
    """The project the user may see and its step, as of the version the form was rendered from."""
    project = market.get_project_for(user, code)
    step = _step(project, key)
    check_version(step.version, version, StaleStep)
    return project, step


def _saved(
    action: str, user: User, project: Project, step: RoadmapStep, before: dict
) -> RoadmapStep:
    """Flush the step's change (a stale one is refused), re-plan the project, then audit the
    step as re-planned."""
    flush_checked(db.session, StaleStep)
    replan(project)
    record(
        action,
        actor=user,
        object_type="project",
        object_id=f"{project.code}/{step.key}",
        before=before,
        after=snapshot(step),
    )
    return step
