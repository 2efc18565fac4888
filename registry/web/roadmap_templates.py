"""Admin (政务办): the roadmap templates of the three project categories — their steps added,
edited and removed (a removal is confirmed first). Mounted under the admin blueprint as
admin.roadmap_templates.*; projects already registered keep their own copy of the roadmap."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from registry.models.projects import ProjectCategory
from registry.policy import require
from registry.services import roadmaps
from registry.web.forms import parse_version
from registry.web.roadmap_admin_forms import TemplateStepDeleteForm, TemplateStepForm
from registry.web.unit_of_work import Confirmation, UnitOfWork, actor

bp = Blueprint("roadmap_templates", __name__, url_prefix="/roadmap-templates")
# Public catalogue data edited by admins: a missing step named by a form is told, not hidden.
work = UnitOfWork(refuses=False)

# Categories in URLs: their values contain "/" (民营/外资), so each has a plain slug.
CATEGORY_SLUGS = {c.name.lower(): c.value for c in ProjectCategory}
SLUG_OF = {value: slug for slug, value in CATEGORY_SLUGS.items()}


def _category(slug: str) -> str:
    if slug not in CATEGORY_SLUGS:
        abort(404)
    return CATEGORY_SLUGS[slug]


def _template_step(category: str, key: str):
    template = work.found(roadmaps.get_template, category)
    step = next((s for s in template.steps if s.key == key), None)
    if step is None:
        abort(404)
    return template, step


@bp.get("")
@require("roadmaps.templates")
def list_templates():
    """The three category templates with their step counts and simplifications."""
    return render_template(
        "admin/roadmap_templates.html", templates=roadmaps.list_templates(), slug_of=SLUG_OF
    )


@bp.get("/<slug>")
@require("roadmaps.templates")
def show_template(slug: str):
    """One template's steps, with links to edit, add and delete."""
    template = work.found(roadmaps.get_template, _category(slug))
    return render_template(
        "admin/roadmap_template.html",
        template=template,
        slug=slug,
        delete_form=TemplateStepDeleteForm(version=template.version),
    )


def _step_values(form: TemplateStepForm, key: str | None) -> dict:
    values = form.values()
    if key is None:
        values["key"] = form.key.data
    return values


def _save_step(slug: str, key: str | None):
    """Add (key None) or edit a template step: one service call, one commit; errors on the form."""
    category = _category(slug)
    if key is None:
        template, step = work.found(roadmaps.get_template, category), None
    else:
        template, step = _template_step(category, key)
    form = TemplateStepForm(obj=step if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = str(template.version)
        if step is not None:
            form.depends_on.data = ", ".join(step.depends_on or [])
            form.services.data = ", ".join(step.services or [])
    saved = work.submit(
        form,
        lambda: roadmaps.save_template_step(
            actor(),
            category,
            key,
            _step_values(form, key),
            version=parse_version(form.version.data),
        ),
    )
    if saved:
        flash(f"已保存步骤 {saved.value.key}。", "success")
        return redirect(url_for(".show_template", slug=slug, _anchor=saved.value.key))
    return render_template(
        "admin/roadmap_step.html", form=form, template=template, step=step, slug=slug
    )


@bp.route("/<slug>/steps/new", methods=["GET", "POST"])
@require("roadmaps.templates")
def create_step(slug: str):
    """Add a step to a template."""
    return _save_step(slug, None)


@bp.route("/<slug>/steps/<key>", methods=["GET", "POST"])
@require("roadmaps.templates")
def edit_step(slug: str, key: str):
    """Change a template step (optimistic locking on the template's version)."""
    return _save_step(slug, key)


def _removal_page(category: str, key: str, version: int | None) -> Confirmation:
    """The confirmation page of a step's removal: the step as it stands (reads only)."""
    template, step = roadmaps.removable_template_step(category, key, version=version)
    facts = [
        ("模板", template.category),
        ("步骤", f"{step.key} {step.name}"),
        ("所属阶段", step.stage or "—"),
        ("所需中介服务", "、".join(step.services or []) or "—"),
    ]
    return Confirmation(
        title=f"从{template.category}模板删除步骤 {step.key}",
        facts=facts,
        carry={"version": str(template.version)},
        warning="删除后,新登记的项目不再含有该步骤;已登记项目保留各自的路线图副本。"
        "如需恢复,须重新新增该步骤。",
        button="确认删除",
    )


@bp.post("/<slug>/steps/<key>/delete")
@require("roadmaps.templates")
def delete_step(slug: str, key: str):
    """Remove a step no other step depends on, after a confirmation page naming it."""
    category = _category(slug)
    form = TemplateStepDeleteForm()
    version = parse_version(form.version.data)
    return work.publish(
        lambda: _removal_page(category, key, version),
        lambda: roadmaps.remove_template_step(actor(), category, key, version=version),
        done=f"已删除步骤 {key}。已登记项目保留各自的路线图副本。",
        back=url_for(".show_template", slug=slug),
        form=form,
        invalid="页面已过期,请刷新后重试。",
    )
