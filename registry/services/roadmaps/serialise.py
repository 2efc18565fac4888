"""The roadmap as the JSON API returns it (documented in web/openapi.yaml)."""

from __future__ import annotations

from datetime import date
from typing import Any

from registry.pure import workdays
from registry.services.roadmaps.plans import Roadmap


def roadmap_json(view: Roadmap) -> dict[str, Any]:
    """The roadmap as the API returns it."""
    project = view.project

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "code": project.code,
        "name": project.name,
        "category": project.category,
        "land_contract_date": day(project.land_contract_date),
        "target_days": view.target_days,
        "total_days": view.total_days,
        "margin_days": view.margin_days,
        "planned_finish": day(view.schedule.finish)
        if view.schedule and view.schedule.complete
        else None,
        "forecast_days": view.forecast_days,
        "forecast_finish": day(view.forecast.finish)
        if view.forecast and view.forecast.complete
        else None,
        "calendar_error": view.schedule.error if view.schedule else None,
        "provisional_years": view.provisional_years,
        "provisional_note": workdays.PROVISIONAL_NOTE if view.provisional_years else None,
        "critical_path": view.schedule.critical_path if view.schedule else [],
        "steps": [
            {
                "key": row.step.key,
                "name": row.step.name,
                "kind": row.step.kind,
                "stage": row.step.stage,
                "department": row.department.name if row.department else None,
                "duration": row.step.duration,
                "unit": row.step.unit,
                "duration_source": row.step.duration_source,
                "depends_on": list(row.step.depends_on or []),
                "status": row.step.status,
                "covered_by_regional_assessment": row.step.covered_by_regional,
                "self_prepared": row.step.self_prepared,
                "planned_start": day(row.start),
                "planned_finish": day(row.finish),
                "started_on": day(row.step.started_on),
                "submitted_on": day(row.step.submitted_on),
                "finished_on": day(row.step.finished_on),
                "critical": row.critical,
                "slack_days": row.slack_days if row.finish else None,
                "provisional": row.provisional,
                "deadline_state": row.state.value or None,
                "services": [{"code": s.code, "name": s.name} for s in row.services],
            }
            for row in view.rows
        ],
    }
