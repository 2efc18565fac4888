"""Provider entry (入驻), one module per subject: `common` (helpers every step shares: the
provider an account acts for, optimistic locking), `applications` (the application and its
qualifications), `offers` (the services offered and their fees), `review` (submission and the
admin's review), `eligibility` (the expired-qualification check and who may be drawn) and
`directory` (the public directory).

Services flush, audit and raise RegistryError; they never commit. Every self-service function
takes the acting account and refuses to touch a provider that is not the account's own. The
public names are re-exported here."""

from __future__ import annotations

from registry.services.providers.applications import (
    add_qualification,
    create_application,
    get_qualification,
    remove_qualification,
    update_application,
)
from registry.services.providers.common import (
    FIELD_LABELS,
    GRADES,
    KEY_FIELDS,
    STALE_MESSAGE,
    SYSTEM_ACTOR,
    UNRATED,
    StaleProvider,
    back_to_review,
    check_own,
    check_provider_version,
    flush_provider,
    get_provider,
    owned,
    provider_for,
    provider_snapshot,
    text_field,
    today,
    touch,
)
from registry.services.providers.directory import (
    DirectoryFilters,
    awards_of,
    directory_query,
    get_public_provider,
    list_directory,
    qualification_kinds,
    rating_history,
)
from registry.services.providers.eligibility import (
    QualificationCheck,
    check_qualifications,
    eligible_offer,
    eligible_offers,
    eligible_providers,
    has_valid_qualification,
    listed_offers,
    qualification_batches,
    qualification_source,
    qualification_valid_until,
)
from registry.services.providers.offers import (
    deactivate_offer,
    get_offer,
    save_offer,
)
from registry.services.providers.review import (
    accept_qualification,
    approve,
    missing_for_review,
    pending_qualifications,
    reject_qualification,
    return_application,
    review_queue,
    status_counts,
    submit_for_review,
    uncovered_offers,
    waiting_days,
)

__all__ = [
    "DirectoryFilters",
    "FIELD_LABELS",
    "GRADES",
    "KEY_FIELDS",
    "QualificationCheck",
    "STALE_MESSAGE",
    "SYSTEM_ACTOR",
    "StaleProvider",
    "UNRATED",
    "add_qualification",
    "approve",
    "awards_of",
    "back_to_review",
    "check_own",
    "check_provider_version",
    "check_qualifications",
    "qualification_batches",
    "create_application",
    "deactivate_offer",
    "directory_query",
    "eligible_offer",
    "eligible_offers",
    "eligible_providers",
    "flush_provider",
    "get_offer",
    "get_provider",
    "get_public_provider",
    "get_qualification",
    "has_valid_qualification",
    "list_directory",
    "listed_offers",
    "missing_for_review",
    "owned",
    "provider_for",
    "provider_snapshot",
    "qualification_kinds",
    "qualification_source",
    "qualification_valid_until",
    "rating_history",
    "remove_qualification",
    "return_application",
    "review_queue",
    "accept_qualification",
    "pending_qualifications",
    "reject_qualification",
    "waiting_days",
    "save_offer",
    "status_counts",
    "submit_for_review",
    "text_field",
    "today",
    "touch",
    "uncovered_offers",
    "update_application",
]
