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

__all__ = [
    "ApprovalItem",
    "AuditEntry",
    "Department",
    "FeeRegime",
    "Role",
    "ServiceItem",
    "Stage",
    "TimeUnit",
    "User",
    "Validity",
]
