"""Credit records (信用记录) and objections (异议), one module per subject: `common` (the
department's scope and the content rules), `records` (regulators draft, publish, revise and
revoke records about the providers they supervise), `objections` (providers object within the
window; regulators answer) and `notices` (the public notices). Every step is audited. Services
flush and raise; they never commit.

Windows are counted in working days on China's official calendar from the publication date:
the 公示期 (CREDIT_DISCLOSURE_DAYS), the objection window (CREDIT_OBJECTION_DAYS) and, from the
day an objection arrives, the answer window (CREDIT_ANSWER_DAYS). The public names are
re-exported here."""

from __future__ import annotations

from registry.services.credit.common import (
    MAX_TERM_YEARS,
    NUMBER_RE,
    SHANGHAI,
    OutOfScope,
    Superseded,
    ended_early_by,
    ended_early_of,
    get_record_for,
    last_term_day,
    published_records,
    refresh_blacklisting,
    regulator_department,
    supervised_providers,
    supervised_staff,
    supervises,
    today,
)
from registry.services.credit.notices import (
    NoticeFilters,
    departments_with_notices,
    get_public_notice,
    in_disclosure,
    latest_notices,
    list_notices,
    notice_query,
    notices_for_export,
)
from registry.services.credit.objections import (
    RESOLUTIONS,
    answer_objection,
    can_object,
    evidence_file,
    get_objection_for,
    get_record_about,
    is_overdue,
    object_to_record,
    objections_for_department,
    overdue_objections,
    person_of,
    provider_of,
    records_about,
)
from registry.services.credit.records import (
    changeable_record,
    discard_draft,
    draft_record,
    draft_seen,
    publish_record,
    publishable,
    records_for_department,
    revise_record,
    revision_preview,
    revisions_of,
    revoke_record,
    update_draft,
    windows_from_today,
)

__all__ = [
    "MAX_TERM_YEARS",
    "NUMBER_RE",
    "NoticeFilters",
    "OutOfScope",
    "RESOLUTIONS",
    "SHANGHAI",
    "Superseded",
    "answer_objection",
    "can_object",
    "departments_with_notices",
    "draft_record",
    "evidence_file",
    "get_objection_for",
    "get_public_notice",
    "get_record_about",
    "get_record_for",
    "last_term_day",
    "ended_early_by",
    "ended_early_of",
    "in_disclosure",
    "is_overdue",
    "latest_notices",
    "list_notices",
    "notice_query",
    "notices_for_export",
    "object_to_record",
    "objections_for_department",
    "overdue_objections",
    "provider_of",
    "publish_record",
    "publishable",
    "published_records",
    "person_of",
    "records_about",
    "records_for_department",
    "refresh_blacklisting",
    "regulator_department",
    "changeable_record",
    "revise_record",
    "revision_preview",
    "revisions_of",
    "revoke_record",
    "supervised_providers",
    "supervised_staff",
    "supervises",
    "today",
    "discard_draft",
    "draft_seen",
    "update_draft",
    "windows_from_today",
]
