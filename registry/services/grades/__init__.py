"""Credit grades, one module per subject: `compute` (the composite score and grade, DESIGN §4,
and storing it), `hooks` (the session hooks that keep the stored grades in step), `behaviour`
(the regulators' own behaviour entries) and `read_models` (score history and grade distribution
for the pages and charts). The names callers use are re-exported here."""

from __future__ import annotations

from registry.services.grades.behaviour import (
    FACTS_MAX,
    REFERENCE_MAX,
    REGULATOR_KINDS,
    REGULATOR_SOURCE,
    behaviour_events,
    in_scope,
    record_behaviour,
    scoped_providers,
)
from registry.services.grades.compute import (
    GRADE_LABELS,
    PART_LABELS,
    PARTS,
    UNRATED_LABEL,
    CreditSettings,
    GradeResult,
    band_for,
    compute,
    settings,
    today,
    window,
)
from registry.services.grades.hooks import init_app
from registry.services.grades.read_models import (
    Distribution,
    TrendRow,
    department_distribution,
    trend,
)
from registry.services.grades.stored import credit_of, recompute, recompute_all, recompute_batches

__all__ = [
    "FACTS_MAX",
    "GRADE_LABELS",
    "PARTS",
    "PART_LABELS",
    "REFERENCE_MAX",
    "REGULATOR_KINDS",
    "REGULATOR_SOURCE",
    "UNRATED_LABEL",
    "CreditSettings",
    "Distribution",
    "GradeResult",
    "TrendRow",
    "credit_of",
    "band_for",
    "behaviour_events",
    "compute",
    "department_distribution",
    "in_scope",
    "init_app",
    "record_behaviour",
    "recompute",
    "recompute_all",
    "recompute_batches",
    "scoped_providers",
    "settings",
    "today",
    "trend",
    "window",
]
