"""All models, imported here so that metadata and Alembic see every table."""

from registry.models.accounts import Role, User
from registry.models.audit import AuditEntry
from registry.models.catalogue import (
    ApprovalItem,
    Department,
    FeeRegime,
    ServiceItem,
    Stage,
    TimeUnit,
    Validity,
)
from registry.models.credit import (
    CreditKind,
    CreditRecord,
    CreditStatus,
    Objection,
    ObjectionOutcome,
)
from registry.models.evaluation import EvaluationPeriod, PeriodStatus, ScoreEntry, ScoreState
from registry.models.market import (
    RATING_PARTS,
    Award,
    BehaviourEvent,
    BehaviourKind,
    Engagement,
    EngagementStatus,
    Exclusion,
    OwnerRating,
    Quote,
    RequestStatus,
    SelectionMethod,
    SelectionRequest,
)
from registry.models.projects import Enterprise, Project, ProjectCategory
from registry.models.providers import (
    REGIONS,
    Offer,
    Provider,
    ProviderStatus,
    Qualification,
    Upload,
)
from registry.models.search import SearchDocument, SearchOutbox

__all__ = [
    "RATING_PARTS",
    "REGIONS",
    "Award",
    "BehaviourEvent",
    "BehaviourKind",
    "CreditKind",
    "CreditRecord",
    "CreditStatus",
    "Objection",
    "ObjectionOutcome",
    "Engagement",
    "EvaluationPeriod",
    "PeriodStatus",
    "ScoreEntry",
    "ScoreState",
    "EngagementStatus",
    "Enterprise",
    "Exclusion",
    "Offer",
    "OwnerRating",
    "Project",
    "ProjectCategory",
    "Provider",
    "ProviderStatus",
    "Qualification",
    "Quote",
    "RequestStatus",
    "SelectionMethod",
    "SelectionRequest",
    "Upload",
    "ApprovalItem",
    "AuditEntry",
    "Department",
    "FeeRegime",
    "Role",
    "SearchDocument",
    "SearchOutbox",
    "ServiceItem",
    "Stage",
    "TimeUnit",
    "User",
    "Validity",
]
