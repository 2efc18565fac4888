"""Marketplace use cases, one module per subject: `projects` (enterprises and their projects),
`selection` (selection requests, who may take part, sealed quotes), `awards` (decisions with
verifiable draws, award notices, reposting a failed request) and `objections` (the notice's
公示期, objections to an award and staff's answers). Services flush, audit and raise;
they never commit. The public names are re-exported here."""

from __future__ import annotations

from registry.models.types import utcnow  # the market pages read the time from here
from registry.services.market.awards import (
    Decision,
    decide,
    get_award,
    latest_awards,
    list_awards,
    plan_decision,
    repost,
    verify_award,
)
from registry.services.market.objections import (
    NoticeState,
    answer_objection,
    candidate_names,
    get_objection_for,
    names_of,
    notice_state,
    object_to_award,
    objections_of,
    objections_queue,
    objector,
)
from registry.services.market.projects import (
    SHANGHAI,
    create_enterprise,
    create_project,
    get_project_for,
    land_contract_warning,
    projects_for,
    today,
)
from registry.services.market.selection import (
    candidate_for,
    earliest_deadline,
    eligible_providers,
    get_request,
    get_request_for_owner,
    latest_quotes,
    list_requests,
    min_notice_workdays,
    open_request,
    open_requests,
    open_requests_for,
    provider_by_uscc,
    provider_of,
    quotes_visible_to,
    submit_quote,
)
from registry.services.objections import is_overdue

__all__ = [
    "utcnow",
    "NoticeState",
    "answer_objection",
    "candidate_names",
    "get_objection_for",
    "is_overdue",
    "names_of",
    "notice_state",
    "object_to_award",
    "objections_of",
    "objections_queue",
    "objector",
    "Decision",
    "SHANGHAI",
    "candidate_for",
    "create_enterprise",
    "create_project",
    "decide",
    "earliest_deadline",
    "eligible_providers",
    "get_award",
    "get_project_for",
    "get_request",
    "get_request_for_owner",
    "land_contract_warning",
    "latest_awards",
    "latest_quotes",
    "list_awards",
    "list_requests",
    "min_notice_workdays",
    "open_requests_for",
    "open_request",
    "open_requests",
    "plan_decision",
    "projects_for",
    "provider_by_uscc",
    "provider_of",
    "quotes_visible_to",
    "repost",
    "submit_quote",
    "today",
    "verify_award",
]
