"""Session hooks that keep stored plans (stored.py) in step with their inputs: a flush that adds,
changes or removes a project's step, or changes a project's land-contract date or category, marks
the project; the commit re-plans the marked projects in the same transaction. The services
re-plan at once (replan() clears the mark), so the hooks only catch changes made another way —
an admin script, a test, a future service — and a stored plan is never older than its inputs.
registry/hooks.py installs them after grades' and before search's."""

from __future__ import annotations

from itertools import chain

from flask import Flask, current_app, has_app_context
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from registry.extensions import db
from registry.models.projects import Project
from registry.models.roadmap import RoadmapStep
from registry.services.derived import forget_on_rollback, recompute_before_commit
from registry.services.roadmaps.plans import replan
from registry.services.roadmaps.stored import PENDING

_PROJECT_INPUTS = ("land_contract_date", "category")


def _active() -> bool:
    return has_app_context() and bool(current_app.extensions.get("roadmap_plans"))


def _project_changed(project: Project, session: Session) -> bool:
    if project in session.new:
        return True
    state = inspect(project)
    return any(state.attrs[name].history.has_changes() for name in _PROJECT_INPUTS)


def _after_flush(session: Session, _context) -> None:
    """Note the projects whose plan inputs this flush changed."""
    if not _active():
        return
    marked: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, RoadmapStep):
            marked.add(obj.project_id)
        elif (
            isinstance(obj, Project)
            and obj not in session.deleted
            and _project_changed(obj, session)
        ):
            marked.add(obj.id)
    marked.discard(None)
    if marked:
        session.info.setdefault(PENDING, set()).update(marked)


def _replan_marked(ids: set[int]) -> None:
    """Re-plan the marked projects."""
    projects = db.session.scalars(
        select(Project)
        .where(Project.id.in_(sorted(ids)))
        .options(selectinload(Project.steps), selectinload(Project.plan))
    ).all()
    for project in projects:
        replan(project)


HOOKS = (
    ("after_flush", _after_flush),
    ("before_commit", recompute_before_commit(PENDING, _active, _replan_marked)),
    ("after_soft_rollback", forget_on_rollback(PENDING)),
)


def init_app(app: Flask) -> None:
    """Keep stored plans in step from now on (the hooks: registry/hooks.py)."""
    app.extensions["roadmap_plans"] = True
