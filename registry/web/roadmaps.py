"""Project roadmaps: the one-map page with its Gantt, progress entry, options, the one-time
checklist, and project registration by staff."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from markupsafe import Markup

from registry.models import Project, User
from registry.models.roadmap import StepKind, StepStatus
from registry.policy import can, require
from registry.services import accounts, market, roadmaps
from registry.web.charts import GanttRow, gantt_chart
from registry.web.deadlines import render_board
from registry.web.forms import Form, options, parse_version
from registry.web.roadmap_forms import (
    AssignForm,
    OptionsForm,
    ParticularsForm,
    ProgressForm,
    StaffProjectForm,
)
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("roadmaps", __name__)

REGIONAL = "已由区域评估覆盖"  # the Gantt's name for a step the regional assessment covers
work = UnitOfWork()


def _project(code: str) -> Project:
    """A project the signed-in user may see, or 404 (another enterprise's project included)."""
    return work.found(roadmaps.get_roadmap_for, actor(), code)


def _view(project: Project) -> roadmaps.Roadmap:
    return roadmaps.roadmap(
        project, today=market.today(), lead=current_app.config["DEADLINE_WARNING_DAYS"]
    )


# ------------------------------------------------------------------ staff pickers


def _active_staff() -> dict[str, User]:
    """Enabled staff accounts by id (as the select submits it)."""
    return {str(u.id): u for u in accounts.list_active_staff()}


def _fill_staff(form, staff: dict[str, User]) -> None:
    choices = options(
        [("", "—(暂不指定)"), *((i, u.display_name or u.username) for i, u in staff.items())]
    )
    form.concierge.choices = choices
    form.expert.choices = list(choices)


# ------------------------------------------------------------------ the roadmap page


def _gantt_rows(view: roadmaps.Roadmap) -> list[GanttRow]:
    rows = []
    for row in view.rows:
        step = row.step
        start, finish, status = row.start, row.finish, step.status
        if step.status == StepStatus.NOT_APPLICABLE.value or step.covered_by_regional:
            # A diamond where the step would have been ready; it takes no time.
            start, finish = row.ready, None
            status = step.status if step.status == StepStatus.NOT_APPLICABLE.value else REGIONAL
        rows.append(
            GanttRow(
                label=f"{step.key} {step.name}",
                start=start,
                finish=finish,
                status=status,
                critical=row.critical,
                state=row.state.value,
                group=row.stage_name,
                actual_start=step.started_on,
                actual_finish=step.finished_on,
                # No links inside the chart: an image (role="img") must not hold interactive
                # content (WCAG 4.1.2, axe nested-interactive); the table beside it has them.
            )
        )
    return rows


def _gantt(view: roadmaps.Roadmap) -> Markup:
    project = view.project
    if project.land_contract_date is None:
        return Markup("")
    start = project.land_contract_date
    if view.total_days is not None:
        summary = f"计划 {view.total_days} 天,目标 {view.target_days} 天"
    else:
        summary = f"部分步骤无法排期,目标 {view.target_days} 天"
    return gantt_chart(
        _gantt_rows(view),
        ident="roadmap-gantt",
        title=f"{project.name} 审批路线图(甘特图)",
        description=(
            f"自土地出让合同签订日 {start:%Y-%m-%d} 起共 {len(view.rows)} 个步骤;{summary}。"
            "各步骤的日期、状态和关键路径见图下表格。"
        ),
        start=start,
        target=start + timedelta(days=view.target_days),
        today=view.today,
        width=960,
    )


def _with_ids(form: Form, prefix: str) -> Form:
    """Unique element ids for one of many same-shaped forms on a page (names stay plain)."""
    for field in form:
        field.id = f"{prefix}-{field.short_name}"
    return form


def _progress_form(step) -> ProgressForm:
    form = ProgressForm(formdata=None)
    form.version.data = str(step.version)
    # A step not yet begun offers 办理中 (the next thing to record), not 未开始 again.
    shown = {StepStatus.STARTED.value, StepStatus.SUBMITTED.value, StepStatus.DONE.value}
    form.status.data = step.status if step.status in shown else StepStatus.STARTED.value
    form.started_on.data = step.started_on
    form.submitted_on.data = step.submitted_on
    form.finished_on.data = step.finished_on
    return form


def _options_form(step) -> OptionsForm:
    form = OptionsForm(formdata=None)
    form.version.data = str(step.version)
    form.applicable.data = step.status != StepStatus.NOT_APPLICABLE.value
    form.covered_by_regional.data = step.covered_by_regional
    form.self_prepared.data = step.self_prepared
    return form


def _render_roadmap(project: Project, *, failed: tuple[str, str, Form] | None = None):
    """The roadmap page; `failed` is (step key, "progress" | "options", form with errors)."""
    view = _view(project)
    forms = {}
    for row in view.rows:
        step = row.step
        progress, opts = _progress_form(step), _options_form(step)
        if failed and failed[0] == step.key:
            if failed[1] == "progress":
                progress = failed[2]
            else:
                opts = failed[2]
        forms[step.key] = (
            _with_ids(progress, f"progress-{step.key}"),
            _with_ids(opts, f"options-{step.key}"),
        )
    assign = None
    if can(actor(), "projects.staff"):
        assign = AssignForm(formdata=None)
        _fill_staff(assign, _active_staff())
        assign.concierge.data = str(project.concierge_id or "")
        assign.expert.data = str(project.expert_id or "")
    return render_template(
        "roadmaps/show_roadmap.html",
        project=project,
        view=view,
        # Each service's latest request here: a step names where its selection stands instead
        # of offering a second one.
        requests=market.latest_requests_by_item(project.id),
        gantt=_gantt(view),
        forms=forms,
        assign=assign,
        failed_key=failed[0] if failed else None,
        Kind=StepKind,
        Status=StepStatus,
    )


@bp.get("/projects/<code>/roadmap")
@require("roadmaps.view")
def show_roadmap(code: str):
    """The project's roadmap ("一张图"): facts, plan against target, Gantt, table, forms."""
    return _render_roadmap(_project(code))


# The two forms under each step: the form, the fields it passes on, what it saves and what an
# invalid one asks for.
_STEP_FORMS = {
    "progress": (
        ProgressForm,
        ("status", "started_on", "submitted_on", "finished_on"),
        "办理进度",
        "请修正下方的问题",
    ),
    "options": (
        OptionsForm,
        ("applicable", "covered_by_regional", "self_prepared"),
        "办理选项",
        "请刷新页面后重试",
    ),
}


def _step_action(code: str, key: str, kind: str, save, **extra):
    """Save a step's progress or options (`kind`, with `save`) and re-plan; a refusal shows the
    roadmap again with the step's form and its errors."""
    form_class, fields, saved_what, fix = _STEP_FORMS[kind]
    form = form_class()
    project = work.found(roadmaps.get_step_for, actor(), code, key).project
    saved = work.submit(
        form,
        lambda: save(
            actor(),
            code,
            key,
            **form.data_of(*fields),
            version=parse_version(form.version.data),
            **extra,
        ),
    )
    if saved:
        flash(f"步骤 {key} 的{saved_what}已保存,路线图已重新排期。", "success")
        return redirect(url_for("roadmaps.show_roadmap", code=code, _anchor=f"step-{key}"))
    # What went wrong is listed once, on the step's form (the flash repeated it).
    flash(f"步骤 {key} 未保存,{fix}。", "error")
    return _render_roadmap(project, failed=(key, kind, form))


@bp.post("/projects/<code>/steps/<key>/progress")
@require("roadmaps.progress")
def record_progress(code: str, key: str):
    """Enter a step's progress (status and dates) and re-plan."""
    return _step_action(code, key, "progress", roadmaps.record_progress, today=market.today())


@bp.post("/projects/<code>/steps/<key>/options")
@require("roadmaps.progress")
def set_options(code: str, key: str):
    """Choose whether a step applies, is covered by the regional assessment, or self-prepared."""
    return _step_action(code, key, "options", roadmaps.set_options)


def _warn_land_contract(day) -> None:
    """Flash the warning for a land-contract date after today (accepted, planned from it)."""
    warning = market.land_contract_warning(day)
    if warning:
        flash(warning, "warning")


@bp.route("/projects/<code>/edit", methods=["GET", "POST"])
@require("roadmaps.progress")
def edit_project(code: str):
    """Change the land-contract date, building type, area and location; the roadmap re-plans."""
    project = _project(code)
    form = ParticularsForm(obj=project)
    if work.submit(
        form,
        lambda: roadmaps.update_project(actor(), code, **form.particulars()),
    ):
        flash("项目信息已保存,路线图已重新排期。", "success")
        _warn_land_contract(form.land_contract_date.data)
        return redirect(url_for("roadmaps.show_roadmap", code=code))
    return render_template("roadmaps/edit_project.html", form=form, project=project)


@bp.post("/projects/<code>/assign")
@require("projects.staff")
def assign_staff(code: str):
    """Name (or change) the project's 帮办管家 and 审批专家."""
    _project(code)
    staff = _active_staff()
    form = AssignForm()
    _fill_staff(form, staff)
    target = url_for("roadmaps.show_roadmap", code=code)
    work.act(
        lambda: roadmaps.assign_staff(
            actor(),
            code,
            concierge=staff.get(form.concierge.data),
            expert=staff.get(form.expert.data),
        ),
        form=form,
        invalid="未保存:请从列表中选择在岗的政务办工作人员。",
        back=target,
        prefix="未保存:",
    )
    flash("帮办管家和审批专家已更新。", "success")
    return redirect(target)


# ------------------------------------------------------------------ one-time checklist


@bp.get("/projects/<code>/checklist")
@require("roadmaps.view")
def show_checklist(code: str):
    """The printable one-time checklist (一次性告知): approvals, services, conditional steps."""
    project = _project(code)
    view = _view(project)
    approvals, not_applicable = [], []
    services: dict[str, tuple] = {}  # code → (service item, the applicable rows that need it)
    for row in view.rows:
        if row.step.status == StepStatus.NOT_APPLICABLE.value:
            not_applicable.append(row)
            continue
        if row.step.kind == StepKind.APPROVAL.value:
            approvals.append(row)
        for item in row.services:
            services.setdefault(item.code, (item, []))[1].append(row)
    return render_template(
        "roadmaps/checklist.html",
        project=project,
        view=view,
        approvals=approvals,
        services=list(services.values()),
        not_applicable=not_applicable,
    )


# ------------------------------------------------------------------ staff: projects


@bp.get("/staff/projects")
@require("projects.staff")
def list_projects():
    """Projects with their enterprise, stored plan against target, concierge and expert: most
    urgent first, paged and filtered."""
    return render_board("roadmaps/list_projects.html", roadmaps.project_page)


@bp.route("/staff/projects/new", methods=["GET", "POST"])
@require("projects.staff")
def new_project_for_enterprise():
    """Register a project pushed by investment promotion (招商推送) for an enterprise."""
    staff = _active_staff()
    form = StaffProjectForm()
    _fill_staff(form, staff)
    registered = work.submit(
        form,
        lambda: roadmaps.register_project_for(
            actor(),
            enterprise_uscc=form.enterprise_uscc.data,
            enterprise_name=form.enterprise_name.data,
            concierge=staff.get(form.concierge.data),
            expert=staff.get(form.expert.data),
            **form.project(),
        ),
    )
    if registered:
        project = registered.value
        flash(
            f"项目 {project.code} 已为 {project.enterprise.name} 登记,已生成审批路线图。",
            "success",
        )
        _warn_land_contract(project.land_contract_date)
        return redirect(url_for("roadmaps.show_roadmap", code=project.code))
    return render_template("roadmaps/new_project.html", form=form)
