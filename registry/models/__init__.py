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
from registry.models.search import SearchDocument, SearchOutbox

__all__ = [
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
