"""Admin (政务办): catalogue editing, departments, roadmap templates, users and the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from registry.extensions import db
from registry.models.accounts import User
from registry.models.audit import action_label
from registry.policy import require
from registry.services import accounts, audit, catalogue
from registry.web.account_forms import AdminUserForm, RoleForm
from registry.web.audit_forms import AuditFilterForm
from registry.web.forms import (
    ApprovalItemForm,
    ConfirmForm,
    DepartmentForm,
    RetireForm,
    ServiceItemForm,
    options,
    tristate_raw,
    tristate_value,
)
from registry.web.params import AUDIT_FILTERS, link_args, paged
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Everything here is public catalogue data or the admin's own: a missing object named by a
# form is told as a message, not hidden behind a 404.
work = UnitOfWork(refuses=False)

_SPLIT = re.compile(r"[、,,;;\s]+")


def _fill_choices(form) -> None:
    departments = catalogue.list_departments(include_inactive=True)
    form.department.choices = options(
        [("", "—"), *((d.code, f"{d.label}({d.code})") for d in departments)]
    )
    if hasattr(form, "stages"):
        form.stages.choices = options((s.code, s.name) for s in catalogue.list_stages())
    if hasattr(form, "approval_items"):
        form.approval_items.choices = options(
            (a.code, f"{a.code} {a.name}")
            for a in catalogue.list_approval_items(include_retired=True)
        )


def _common_data(form) -> dict:
    return {
        **form.data_of(
            "code",
            "name",
            "stage_note",
            "applicability",
            "time_limit_days",
            "time_limit_note",
            "notes_html",
            "source_note",
            "validity",
        ),
        "stages": form.stages.data or [],
        "department": form.department.data or None,
        "legal_basis": catalogue.parse_legal_basis(form.legal_basis.data or ""),
        "time_limit_unit": form.time_limit_unit.data or None,
    }


def _service_data(form: ServiceItemForm) -> dict:
    return {
        **_common_data(form),
        **form.data_of(*catalogue.SERVICE_TEXTS, "last_verified"),
        "abbreviations": [a for a in _SPLIT.split(form.abbreviations.data or "") if a],
        "approval_items": form.approval_items.data or [],
        "may_self_prepare": tristate_value(form.may_self_prepare.data),
        "covered_by_regional_assessment": tristate_value(form.covered_by_regional_assessment.data),
        "fee_regime": form.fee_regime.data or None,
    }


def _approval_data(form: ApprovalItemForm) -> dict:
    return {
        **_common_data(form),
        **form.data_of("approving_body", "tianjin_note"),
        "commitment_approval": tristate_value(form.commitment_approval.data),
        "accept_with_deficiency": tristate_value(form.accept_with_deficiency.data),
    }


def _prefill(form, item) -> None:
    """Put an existing entry's values into a fresh GET form."""
    for name, field in form._fields.items():
        if name == "csrf_token" or not hasattr(item, name):
            continue
        value = getattr(item, name)
        if name == "legal_basis":
            field.data = catalogue.format_legal_basis(value)
        elif name in {"stages", "approval_items"}:
            field.data = [x.code for x in value]
        elif name == "department":
            field.data = value.code if value else ""
        elif name == "abbreviations":
            field.data = "、".join(value or [])
        elif name in {
            "may_self_prepare",
            "covered_by_regional_assessment",
            "commitment_approval",
            "accept_with_deficiency",
        }:
            field.data = tristate_raw(value)
        else:
            field.data = value


def _flash_saved(changed: bool) -> None:
    flash("已保存修改。" if changed else "没有需要保存的修改。", "success" if changed else "info")


@bp.get("/")
@require("catalogue.manage")
def dashboard():
    """Admin home with counts."""
    return render_template("admin/dashboard.html", counts=catalogue.counts())


# ------------------------------------------------------------------ service and approval items


@dataclass(frozen=True)
class _Kind:
    """What differs between editing service items and approval items."""

    kind: str  # the endpoints' noun (edit_service …; the list is list_services)
    noun: str
    form: type
    data: Callable
    everything: Callable[[], list]  # retired entries included
    get: Callable
    create: Callable
    update: Callable
    retire: Callable

    @property
    def listing(self) -> str:
        """The list's endpoint (list_services, list_approval_items), also its template's name."""
        return f"list_{self.kind}s"

    def endpoint(self, verb: str) -> str:
        """One of the kind's admin endpoints (create, edit, retire)."""
        return f"admin.{verb}_{self.kind}"


SERVICE = _Kind(
    kind="service",
    noun="中介服务事项",
    form=ServiceItemForm,
    data=_service_data,
    everything=lambda: (
        catalogue.list_services(catalogue.ServiceFilters(include_retired=True), per_page=1000).items
    ),
    get=catalogue.get_service,
    create=catalogue.create_service_item,
    update=catalogue.update_service_item,
    retire=catalogue.retire_service_item,
)
APPROVAL = _Kind(
    kind="approval_item",
    noun="审批事项",
    form=ApprovalItemForm,
    data=_approval_data,
    everything=lambda: catalogue.list_approval_items(include_retired=True),
    get=catalogue.get_approval_item,
    create=catalogue.create_approval_item,
    update=catalogue.update_approval_item,
    retire=catalogue.retire_approval_item,
)


def _show(kind: _Kind, code: str) -> str:
    """The entry's public page."""
    return url_for(f"catalogue.show_{kind.kind}", code=code)


def _list_entries(kind: _Kind):
    """All entries of the kind, retired ones included."""
    return render_template(f"admin/{kind.listing}.html", items=kind.everything())


def _create_entry(kind: _Kind):
    """Add a service or approval item: one service call, one commit; errors on the form."""
    form = kind.form()
    _fill_choices(form)
    added = work.submit(form, lambda: kind.create(kind.data(form), actor=actor()))
    if added:
        flash(f"已新增{kind.noun} {added.value.code}。", "success")
        return redirect(_show(kind, added.value.code))
    return render_template("admin/edit_entry.html", form=form, title=f"新增{kind.noun}", kind=kind)


def _edit_entry(kind: _Kind, code: str):
    """Edit a service or approval item (audited with before/after)."""
    item = work.found(kind.get, code)
    form = kind.form()
    _fill_choices(form)
    if request.method == "GET":
        _prefill(form, item)
    saved = work.submit(form, lambda: kind.update(item, kind.data(form), actor=actor()))
    if saved:
        _flash_saved(saved.value)
        return redirect(_show(kind, item.code))
    return render_template(
        "admin/edit_entry.html",
        form=form,
        title=f"编辑 {item.code} {item.name}",
        kind=kind,
        item=item,
        retire_form=RetireForm(prefix="retire"),
        reinstate_form=RetireForm(prefix="reinstate"),
    )


def _retire(retire: Callable, item, *, missing: str, back: str) -> None:
    """Retire a catalogue entry with the reason the form gives; errors flashed on `back`."""
    form = RetireForm(prefix="retire")
    work.act(
        lambda: retire(item, actor=actor(), reason=form.reason.data),
        form=form,
        invalid=missing,
        back=back,
    )


def _retire_entry(kind: _Kind, code: str):
    """Mark a service or approval item 已废止."""
    item = work.found(kind.get, code)
    _retire(
        kind.retire,
        item,
        missing="请填写废止原因。",
        back=url_for(kind.endpoint("edit"), code=code),
    )
    flash(f"{item.code} 已标记为已废止。", "success")
    return redirect(url_for(f"admin.{kind.listing}"))


def _add_entry_routes(kind: _Kind) -> None:
    """The kind's four admin pages: its list, and adding, editing and retiring an entry."""
    routes = (
        ("", kind.listing, ["GET"], lambda: _list_entries(kind)),
        ("/new", f"create_{kind.kind}", ["GET", "POST"], lambda: _create_entry(kind)),
        (
            "/<code>/edit",
            f"edit_{kind.kind}",
            ["GET", "POST"],
            lambda code: _edit_entry(kind, code),
        ),
        ("/<code>/retire", f"retire_{kind.kind}", ["POST"], lambda code: _retire_entry(kind, code)),
    )
    for rule, endpoint, methods, view in routes:
        bp.add_url_rule(
            f"/{kind.kind.replace('_', '-')}s{rule}",
            endpoint,
            require("catalogue.manage")(view),
            methods=methods,
        )


_add_entry_routes(SERVICE)
_add_entry_routes(APPROVAL)


# ------------------------------------------------------------------ departments


@bp.get("/departments")
@require("catalogue.manage")
def list_departments():
    """All departments, inactive ones included."""
    return render_template(
        "admin/list_departments.html", items=catalogue.list_departments(include_inactive=True)
    )


def _department_data(form: DepartmentForm) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


@bp.route("/departments/new", methods=["GET", "POST"])
@require("catalogue.manage")
def create_department():
    """Add a department."""
    form = DepartmentForm()
    added = work.submit(
        form, lambda: catalogue.create_department(_department_data(form), actor=actor())
    )
    if added:
        flash(f"已新增部门 {added.value.name}。", "success")
        return redirect(url_for("admin.list_departments"))
    return render_template("admin/edit_department.html", form=form, title="新增部门")


@bp.route("/departments/<code>/edit", methods=["GET", "POST"])
@require("catalogue.manage")
def edit_department(code: str):
    """Edit a department."""
    item = work.found(catalogue.get_department, code)
    form = DepartmentForm(obj=item if request.method == "GET" else None)
    saved = work.submit(
        form, lambda: catalogue.update_department(item, _department_data(form), actor=actor())
    )
    if saved:
        _flash_saved(saved.value)
        return redirect(url_for("admin.list_departments"))
    return render_template(
        "admin/edit_department.html",
        form=form,
        title=f"编辑 {item.name}",
        item=item,
        retire_form=RetireForm(prefix="retire"),
        reinstate_form=RetireForm(prefix="reinstate"),
    )


@bp.post("/departments/<code>/retire")
@require("catalogue.manage")
def retire_department(code: str):
    """Deactivate a department."""
    item = work.found(catalogue.get_department, code)
    _retire(
        catalogue.retire_department,
        item,
        missing="请填写停用原因。",
        back=url_for("admin.edit_department", code=code),
    )
    flash(f"{item.name} 已停用。", "success")
    return redirect(url_for("admin.list_departments"))


@bp.post("/departments/<code>/reinstate")
@require("catalogue.manage")
def reinstate_department(code: str):
    """Put a stopped department back in use (its duties returned, or stopped by mistake)."""
    item = work.found(catalogue.get_department, code)
    form = RetireForm(prefix="reinstate")
    work.act(
        lambda: catalogue.reinstate_department(item, actor=actor(), reason=form.reason.data),
        form=form,
        invalid="请填写重新启用的原因。",
        back=url_for("admin.edit_department", code=code),
    )
    flash(f"{item.name} 已重新启用。", "success")
    return redirect(url_for("admin.list_departments"))


# ------------------------------------------------------------------ users and audit


@bp.route("/users", methods=["GET", "POST"])
@require("users.manage")
def list_users():
    """Accounts, and a form to create one (its first sign-in must choose a new password)."""
    form = AdminUserForm()
    _department_choices(form)
    created = work.submit(
        form,
        lambda: accounts.create_user(
            username=form.username.data,
            password=form.password.data,
            role=form.role.data,
            department_code=form.department.data or None,
            display_name=form.display_name.data or None,
            must_change_password=True,
            actor=actor(),
        ),
    )
    if created:
        flash(f"已创建账户 {created.value.username}。使用者首次登录时须修改初始密码。", "success")
        return redirect(url_for("admin.list_users"))
    return render_template(
        "admin/list_users.html", users=accounts.list_users(), form=form, toggle_form=ConfirmForm()
    )


def _department_choices(form) -> None:
    form.department.choices = options(
        [("", "—"), *((d.code, d.label) for d in catalogue.list_departments())]
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require("users.manage")
def edit_user(user_id: int):
    """One account: its particulars, a new role, and a password reset."""
    user = db.session.get(User, user_id) or abort(404)
    form = RoleForm(
        data={"role": user.role, "department": user.department.code if user.department else ""}
        if request.method == "GET"
        else None
    )
    _department_choices(form)
    changed = work.submit(
        form,
        lambda: accounts.change_role(
            user, form.role.data, department_code=form.department.data or None, actor=actor()
        ),
    )
    if changed:
        flash(
            f"账户 {user.username} 的角色已改为“{user.role_enum.label}”,其现有登录已全部失效。"
            if changed.value
            else "没有需要保存的修改。",
            "success" if changed.value else "info",
        )
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return render_template(
        "admin/edit_user.html", account=user, form=form, reset_form=ConfirmForm()
    )


@bp.post("/users/<int:user_id>/password")
@require("users.manage")
def reset_user_password(user_id: int):
    """Set a temporary password, shown once on this page (never flashed: the session cookie is
    readable); the account must change it at its next sign-in and its sessions end."""
    user = db.session.get(User, user_id) or abort(404)
    back = url_for("admin.edit_user", user_id=user.id)
    temporary = work.act(
        lambda: accounts.reset_password(user, actor=actor()), back=back, form=ConfirmForm()
    )
    return render_template("admin/user_password.html", account=user, temporary=temporary)


@bp.post("/users/<int:user_id>/<any(enable, disable):verb>")
@require("users.manage")
def toggle_user(user_id: int, verb: str):
    """Enable or disable an account; disabling ends its sessions."""
    user = db.session.get(User, user_id) or abort(404)
    back = url_for("admin.list_users")
    work.act(lambda: accounts.set_enabled(user, verb == "enable", actor=actor()), back=back)
    flash(f"账户 {user.username} 已{'启用' if verb == 'enable' else '停用'}。", "success")
    return redirect(back)


@bp.get("/audit")
@require("audit.read")
def audit_log():
    """The audit log, newest first, filterable by action (chosen by its Chinese name), object
    and Beijing dates; a filter that cannot be read is explained and nothing is listed."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        page = render_template(
            "admin/audit_log.html", form=form, result=None, entries=[], action_label=action_label
        )
        return page, 400
    result = paged(
        audit.list_entries,
        action=form.action.data or None,
        object_id=(form.object_id.data or "").strip() or None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )
    return render_template(
        "admin/audit_log.html",
        form=form,
        action_label=action_label,
        entries=result.items,
        sealed=audit.sealed_entries(result.items),
        result=result,
        args=link_args(AUDIT_FILTERS),
    )


# ------------------------------------------------------------------ provider entry review

# The review views live with the other provider views; mounted here so that their endpoints
# are admin.providers.* (admin-only, like everything under this blueprint).
from registry.web.providers import review_bp  # noqa: E402

bp.register_blueprint(review_bp)

# Owner-rating moderation lives with the delivery views; mounted here as admin.ratings.*.
from registry.web.engagements import ratings_bp  # noqa: E402

bp.register_blueprint(ratings_bp)

# The working-day calendar (a year's holiday arrangement): admin.calendar.*.
from registry.web.calendar import bp as calendar_bp  # noqa: E402

bp.register_blueprint(calendar_bp)

# Roadmap templates (the three categories' steps): admin.roadmap_templates.*.
from registry.web.roadmap_templates import bp as roadmap_templates_bp  # noqa: E402

bp.register_blueprint(roadmap_templates_bp)
