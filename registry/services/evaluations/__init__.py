"""Periodic evaluation (定期考评), one module per subject: `periods` (a regulator opens, closes
and publishes its own department's periods; who a period scores), `criteria` (the criteria and a
score's rules), `scores` (entry by form: insert-only revisions, the latest counts; after a period
is closed a new revision is a correction with a reason), `files` (entry by one CSV/XLSX file
validated as a whole) and `results` (what is published). Services flush, audit and raise; they
never commit. The names callers use are re-exported here."""

from __future__ import annotations

from registry.services.evaluations.criteria import criteria_for, parse_score
from registry.services.evaluations.files import UploadRejected, template_file, upload_scores
from registry.services.evaluations.periods import (
    CLOSE_REASON_MAX,
    NAME_MAX,
    OUT_OF_SCOPE,
    close_period,
    current_entries,
    get_period_for,
    half_year,
    has_ended,
    is_scorable,
    open_period,
    periods_for,
    publication,
    publish_period,
    scorable_providers,
    today,
)
from registry.services.evaluations.results import public_scores, published_totals
from registry.services.evaluations.scores import (
    NOTE_MAX,
    REASON_MAX,
    enter_scores,
    score_history,
    submit_drafts,
)

__all__ = [
    "CLOSE_REASON_MAX",
    "NAME_MAX",
    "NOTE_MAX",
    "OUT_OF_SCOPE",
    "REASON_MAX",
    "UploadRejected",
    "close_period",
    "criteria_for",
    "parse_score",
    "current_entries",
    "enter_scores",
    "get_period_for",
    "half_year",
    "has_ended",
    "is_scorable",
    "open_period",
    "periods_for",
    "public_scores",
    "publication",
    "publish_period",
    "published_totals",
    "scorable_providers",
    "score_history",
    "submit_drafts",
    "template_file",
    "today",
    "upload_scores",
]
