"""Who may do what: roles, the action → roles table, can(), require() and the deny-by-default guard.

Every view declares the action it needs with @require(action). A central before-request guard
(installed by create_app) refuses any endpoint that declared nothing, so a new route is closed
until someone decides who may use it. The same can() is a Jinja global for templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from registry.models.accounts import Role

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any enabled account

# action → roles allowed. PUBLIC and SIGNED_IN are handled before this table is consulted.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "catalogue.manage": frozenset({Role.ADMIN}),
    "audit.read": frozenset({Role.ADMIN}),
    "users.manage": frozenset({Role.ADMIN}),
    "calendar.manage": frozenset({Role.ADMIN}),  # enter a year's holiday arrangement
    # Marketplace (per-object rules — own provider, own project — are checked in services).
    "providers.self": frozenset({Role.PROVIDER}),  # apply (入驻), keep profile, offers, quotes
    "providers.review": frozenset({Role.ADMIN}),
    "projects.own": frozenset({Role.ENTERPRISE}),  # own projects, selection requests, ratings
    "projects.staff": frozenset({Role.STAFF, Role.ADMIN}),
    "ratings.moderate": frozenset({Role.ADMIN}),
    # Roadmaps: the owning enterprise, staff and admins (which project is whose: services.roadmaps).
    "roadmaps.view": frozenset(
        {Role.ENTERPRISE, Role.STAFF, Role.ADMIN}
    ),  # roadmap, checklist, API
    "roadmaps.progress": frozenset({Role.ENTERPRISE, Role.STAFF, Role.ADMIN}),  # progress, options
    "roadmaps.templates": frozenset({Role.ADMIN}),  # edit the category templates
    "deadlines.dashboard": frozenset({Role.STAFF, Role.ADMIN}),  # warnings across projects
    "notifications.read": frozenset(
        {Role.ENTERPRISE, Role.STAFF, Role.ADMIN, Role.PROVIDER, Role.REGULATOR}
    ),
    # Evaluations and credit (department scoping — a regulator acts only for ITS department — is
    # checked in services).
    "evaluations.enter": frozenset({Role.REGULATOR}),  # periods, scores (forms, CSV/XLSX), publish
    "credit.manage": frozenset({Role.REGULATOR}),  # credit records, behaviour events, answers
    "credit.object": frozenset({Role.PROVIDER}),  # object (异议) to a record about itself
    "credit.configure": frozenset({Role.ADMIN}),  # weights, bands, deduction table
    # A delivered result file: the roles that can be its owner or provider, and admins; which
    # engagement is theirs is checked in services.delivery.
    "engagements.result": frozenset({Role.ENTERPRISE, Role.PROVIDER, Role.ADMIN}),
}

ACTIONS = frozenset(PERMISSIONS) | {PUBLIC, SIGNED_IN}

# Endpoints that Flask adds itself and that cannot carry a decorator.
BUILTIN_ENDPOINTS = {"static": PUBLIC}

F = TypeVar("F", bound=Callable[..., Any])


def require(action: str) -> Callable[[F], F]:
    """Declare the action a view needs; the guard enforces it before the view runs."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorate(view: F) -> F:
        view.required_action = action  # type: ignore[attr-defined]
        return view

    return decorate


def declared_action(view: Callable[..., Any] | None, endpoint: str | None) -> str | None:
    """The action an endpoint declared, or None when it declared nothing (and is therefore refused)."""
    if endpoint in BUILTIN_ENDPOINTS:
        return BUILTIN_ENDPOINTS[endpoint]
    return getattr(view, "required_action", None)


def can(user: Any, action: str, obj: Any = None) -> bool:
    """Whether user (possibly anonymous) may perform action, optionally on obj."""
    if action == PUBLIC:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not user.is_active:
        return False
    if action == SIGNED_IN:
        return True
    roles = PERMISSIONS.get(action)
    if roles is None:
        return False
    return user.role_enum in roles
