"""Project roadmaps ("一张图"), one module per subject: `templates` (each category's steps, edited
by admins), `plans` (a project's copy, its plan over the working-day calendar and the roadmap
view), `steps` (progress and options), `projects` (registration and particulars), `deadlines`
(the daily check, notifications), `stored` and `hooks` (plans stored when their inputs change),
`boards` (the staff dashboards over the stored plans) and `serialise` (the API's JSON).

The use cases that many callers name are re-exported here (`roadmaps.record_progress(...)`).
Services flush and log; the caller commits."""

from __future__ import annotations

from registry.services.roadmaps.boards import (
    BoardFilter,
    alert_page,
    departments,
    project_page,
    read_filter,
)
from registry.services.roadmaps.deadlines import (
    check_deadlines,
    deadline_batches,
    mark_read,
    notifications_for,
    unread_count,
)
from registry.services.roadmaps.plans import (
    Roadmap,
    create_roadmap,
    ensure_roadmaps,
    get_roadmap_for,
    replan,
    roadmap,
    store_missing_plans,
)
from registry.services.roadmaps.projects import (
    assign_staff,
    register_project,
    register_project_for,
    update_project,
)
from registry.services.roadmaps.serialise import roadmap_json
from registry.services.roadmaps.steps import get_step_for, record_progress, set_options
from registry.services.roadmaps.templates import (
    get_template,
    list_templates,
    removable_template_step,
    remove_template_step,
    save_template_step,
    seed_templates,
)

__all__ = [
    "BoardFilter",
    "alert_page",
    "departments",
    "project_page",
    "read_filter",
    "Roadmap",
    "assign_staff",
    "check_deadlines",
    "deadline_batches",
    "create_roadmap",
    "ensure_roadmaps",
    "get_roadmap_for",
    "get_step_for",
    "get_template",
    "list_templates",
    "mark_read",
    "notifications_for",
    "record_progress",
    "register_project",
    "register_project_for",
    "removable_template_step",
    "remove_template_step",
    "replan",
    "roadmap",
    "roadmap_json",
    "save_template_step",
    "seed_templates",
    "set_options",
    "store_missing_plans",
    "unread_count",
    "update_project",
]
