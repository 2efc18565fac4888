"""Roadmap templates: each project category's steps (durations with their sources, units,
dependencies, the 中介服务 they need), seeded once from seeds/roadmaps/templates.yaml and then
edited by admins. A project copies its category's template when registered
(`plans.create_roadmap`) and keeps its copy when the template changes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from registry import yamlfile
from registry.extensions import db
from registry.kernel.versions import StaleEdit, check_version
from registry.models.accounts import User
from registry.models.catalogue import ApprovalItem, ServiceItem, TimeUnit
from registry.models.projects import ProjectCategory
from registry.models.roadmap import (
    RoadmapTemplate,
    StepKind,
    TemplateStep,
)
from registry.models.types import utcnow
from registry.pure.scheduling import CycleError, Step, plan
from registry.services import audit
from registry.services.audit import record
from registry.services.errors import NotFound, RegistryError


class StaleTemplate(StaleEdit):
    """The template changed since the admin's form was rendered."""

    message_text = "模板已被他人修改,请刷新后重试"


STEP_FIELDS = (
    "key",
    "name",
    "kind",
    "stage",
    "sequence",
    "duration",
    "unit",
    "duration_source",
    "depends_on",
    "services",
    "conditional",
    "self_prepare_duration",
    "regional_assessment",
    "applies_when",
    "note",
)
# What an admin may change on a step (its key, kind and place are fixed when it is added).
EDITABLE_FIELDS = tuple(f for f in STEP_FIELDS if f not in ("key", "kind", "sequence"))


MAX_DURATION = 730


SOURCE_TAG = re.compile(r"\[(S|S-2nd|GK)[\]::]")


STEP_KEY = re.compile(r"[A-Z]{1,4}-[0-9A-Z]{1,10}")


def _kind_of(key: str) -> str:
    return StepKind.SERVICE.value if key.startswith("ZJ-") else StepKind.APPROVAL.value


def _catalogue_link(key: str) -> dict[str, Any]:
    """The approval or service item a step key names (SP-xx / ZJ-xx), if the catalogue has it."""
    model = ServiceItem if key.startswith("ZJ-") else ApprovalItem
    item = db.session.scalar(select(model).where(model.code == key))
    if item is None:
        return {"approval_item": None, "service_item": None}
    if model is ServiceItem:
        return {"approval_item": None, "service_item": item}
    return {"approval_item": item, "service_item": None}


def _check_steps(rows: list[dict[str, Any]]) -> None:
    """Durations, units, known service codes and an acyclic dependency graph."""
    keys = [row["key"] for row in rows]
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    if repeated:
        raise RegistryError("key", f"步骤编号重复:{', '.join(repeated)}")
    known = set(db.session.scalars(select(ServiceItem.code)))
    for row in rows:
        if not isinstance(row.get("duration"), int) or not 0 <= row["duration"] <= MAX_DURATION:
            raise RegistryError("duration", f"步骤 {row['key']} 的时长须为 0–{MAX_DURATION} 的整数")
        source = str(row.get("duration_source") or "")
        if not SOURCE_TAG.search(source):
            raise RegistryError(
                "duration_source",
                f"步骤 {row['key']} 须注明时长来源及来源标记([S] 已核原文、[S-2nd] 二手来源或 [GK] 待核)",
            )
        if row.get("unit") not in (TimeUnit.DAY.value, TimeUnit.WORKING_DAY.value):
            raise RegistryError("unit", f"步骤 {row['key']} 的时长单位须为“日”或“工作日”")
        prepared = row.get("self_prepare_duration")
        if prepared is not None and not (
            isinstance(prepared, int) and 0 <= prepared <= row["duration"]
        ):
            raise RegistryError(
                "self_prepare_duration", f"步骤 {row['key']} 的自行编制时长须为不超过原时长的整数"
            )
        unknown = sorted(set(row.get("services") or []) - known)
        if unknown:
            raise RegistryError(
                "services", f"步骤 {row['key']} 引用的中介服务不存在:{', '.join(unknown)}"
            )
    try:
        plan(
            [
                Step(r["key"], r["key"], 0, TimeUnit.DAY.value, tuple(r.get("depends_on") or ()))
                for r in rows
            ],
            date(2000, 1, 1),
        )
    except (CycleError, ValueError) as error:
        raise RegistryError("depends_on", str(error)) from None


def _template_row(raw: dict[str, Any], sequence: int) -> dict[str, Any]:
    key = str(raw["key"]).strip()
    link = _catalogue_link(key)
    item = link["approval_item"] or link["service_item"]
    row = {
        "key": key,
        "name": raw.get("name") or (item.name if item else key),
        "kind": _kind_of(key),
        "stage": str(raw.get("stage") or "1"),
        "sequence": sequence,
        "duration": raw.get("duration"),
        "unit": raw.get("unit"),
        "duration_source": raw.get("duration_source"),
        "depends_on": [str(k) for k in raw.get("depends_on") or []],
        "services": [str(c) for c in raw.get("services") or []],
        "conditional": bool(raw.get("conditional")),
        "self_prepare_duration": raw.get("self_prepare_duration"),
        "regional_assessment": bool(raw.get("regional_assessment")),
        "applies_when": raw.get("applies_when"),
        "note": raw.get("note"),
    }
    return row | link


def seed_templates(seeds_dir: Path) -> dict[str, int]:
    """Create each category's template from seeds/roadmaps/templates.yaml. A template that exists
    is left alone: after the first seed it belongs to the admins who edit it."""
    path = Path(seeds_dir) / "roadmaps" / "templates.yaml"
    try:
        data = yamlfile.read(path)
    except (OSError, yaml.YAMLError) as error:
        raise RegistryError(None, f"无法读取路线图模板 {path.name}:{error}") from None
    counts = {"created": 0, "unchanged": 0}
    for entry in data:
        category = ProjectCategory(entry["category"]).value
        if db.session.scalar(
            select(RoadmapTemplate.id).where(RoadmapTemplate.category == category)
        ):
            counts["unchanged"] += 1
            continue
        rows = [_template_row(raw, n) for n, raw in enumerate(entry["steps"], start=1)]
        _check_steps(rows)
        template = RoadmapTemplate(
            category=category,
            name=entry["name"],
            simplifications=entry.get("simplifications"),
            source_note=entry.get("source_note"),
            steps=[TemplateStep(**row) for row in rows],
        )
        db.session.add(template)
        db.session.flush()
        record(
            "roadmap_template.create",
            actor="system:seed",
            of=template,
            after=template_snapshot(template),
        )
        counts["created"] += 1
    return counts


def template_snapshot(template: RoadmapTemplate) -> dict[str, Any]:
    """The template and its steps as plain data (audit log, API)."""
    return {
        "category": template.category,
        "name": template.name,
        "simplifications": template.simplifications,
        "steps": [{f: getattr(s, f) for f in STEP_FIELDS} for s in template.steps],
    }


def list_templates() -> list[RoadmapTemplate]:
    """All templates, in category order."""
    order = [c.value for c in ProjectCategory]
    templates = db.session.scalars(select(RoadmapTemplate)).all()
    return sorted(templates, key=lambda t: order.index(t.category))


def get_template(category: str) -> RoadmapTemplate:
    """The template of a category."""
    template = db.session.scalar(
        select(RoadmapTemplate).where(RoadmapTemplate.category == category)
    )
    if template is None:
        raise NotFound("该项目类别尚无路线图模板")
    return template


def save_template_step(
    actor: User,
    category: str,
    key: str | None,
    values: dict[str, Any],
    *,
    version: int | None = None,
) -> TemplateStep:
    """Add a step (key None: values carry the new key) or change one; the whole template is
    re-checked (durations, units, services, no dependency loop). Projects keep their own copy."""
    template = get_template(category)
    check_version(template.version, version, StaleTemplate)
    with _template_change(actor, template):
        if key is None:
            new_key = str(values.get("key") or "").strip().upper()
            if not STEP_KEY.fullmatch(new_key):
                raise RegistryError("key", "步骤编号格式如 SP-05 或 ZJ-03(字母、短横线、数字)")
            step = TemplateStep(
                key=new_key, sequence=len(template.steps) + 1, **_catalogue_link(new_key)
            )
            step.kind = _kind_of(new_key)
            template.steps.append(step)
        else:
            step = _template_step(template, key)
        for name in EDITABLE_FIELDS:
            if name in values:
                setattr(step, name, values[name])
        if not step.name:
            raise RegistryError("name", "请填写步骤名称")
        rows = [{f: getattr(s, f) for f in STEP_FIELDS} for s in template.steps]
        # No autoflush while checking: a half-filled new step must fail the checks
        # (RegistryError), not reach the database as an INSERT that breaks a NOT NULL constraint.
        with db.session.no_autoflush:
            _check_steps(rows)
    return step


def removable_template_step(
    category: str, key: str, *, version: int | None = None
) -> tuple[RoadmapTemplate, TemplateStep]:
    """The template and its step `key` if the step may be removed (no other step depends on it,
    the template unchanged since `version`), or the reason it may not. Reads only: what the
    confirmation page shows."""
    template = get_template(category)
    check_version(template.version, version, StaleTemplate)
    step = _template_step(template, key)
    users = [s.key for s in template.steps if key in (s.depends_on or [])]
    if users:
        raise RegistryError(None, f"步骤 {key} 仍是 {', '.join(users)} 的前置步骤,请先修改它们")
    return template, step


def remove_template_step(
    actor: User, category: str, key: str, *, version: int | None = None
) -> None:
    """Remove a step no other step depends on."""
    template, step = removable_template_step(category, key, version=version)
    with _template_change(actor, template):
        template.steps.remove(step)


def _template_step(template: RoadmapTemplate, key: str) -> TemplateStep:
    step = next((s for s in template.steps if s.key == key), None)
    if step is None:
        raise NotFound("模板中没有该步骤")
    return step


@contextmanager
def _template_change(actor: User, template: RoadmapTemplate) -> Iterator[None]:
    """Audit a step change as a change of the whole template, whose version moves with it."""
    with audit.change(
        "roadmap_template.update",
        actor=actor,
        of=template,
        stale=StaleTemplate,
        view=template_snapshot,
    ):
        yield
        _touch(template)


def _touch(template: RoadmapTemplate) -> None:
    """Mark the template changed so its version moves even when the clock has not (two edits in
    the same instant, or a frozen clock): a step change is a template change."""
    template.updated_at = utcnow()
    flag_modified(template, "updated_at")
