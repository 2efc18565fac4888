"""Marketplace use cases, one module per subject: `projects` (enterprises and their projects),
`selection` (selection requests, who may take part, sealed quotes) and `awards` (decisions with
verifiable draws, award notices, reposting a failed request). Services flush, audit and raise;
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

__all__ = [
    "utcnow",
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
