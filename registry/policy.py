"""Who may do what: roles, the action → roles table, can(), require() and the deny-by-default guard,
and every per-record rule (whose project, engagement, quote or department record it is).

Every view declares the action it needs with @require(action). A central before-request guard
(installed by create_app) refuses any endpoint that declared nothing, so a new route is closed
until someone decides who may use it. The same can() is a Jinja global for templates.

The record rules below answer yes/no for one record and, where lists are read, give the same rule
as a SQLAlchemy filter, so a page and its list never disagree. Services call them and raise their
own NotFound/Forbidden; nothing outside this module and the account model compares roles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, select, true

from registry.extensions import db
from registry.models import (
    Award,
    CreditRecord,
    Department,
    Employment,
    Engagement,
    Enterprise,
    Objection,
    Offer,
    Practitioner,
    Project,
    Provider,
    ProviderStatus,
    Quote,
    SelectionRequest,
    ServiceItem,
)
from registry.models.accounts import Role, User

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any enabled account

# 政务办: staff and admins work on every project.
OFFICE = frozenset({Role.STAFF, Role.ADMIN})

# action → roles allowed. PUBLIC and SIGNED_IN are handled before this table is consulted.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "catalogue.manage": frozenset({Role.ADMIN}),
    "audit.read": frozenset({Role.ADMIN}),
    "users.manage": frozenset({Role.ADMIN}),
    "mail.manage": frozenset({Role.ADMIN}),  # the outbox: read, send again
    "calendar.manage": frozenset({Role.ADMIN}),  # enter a year's holiday arrangement
    # Marketplace (per-object rules — own provider, own project — are below).
    "providers.self": frozenset({Role.PROVIDER}),  # apply (入驻), keep profile, offers, quotes
    # The provider's own practitioners (从业人员): register, add certificates, end employments.
    "practitioners.self": frozenset({Role.PROVIDER}),
    # A practitioner's unmasked record (full name and certificate numbers), every view audited:
    # 政务办, regulators, and the provider the person works for now (may_view_unmasked below).
    "practitioners.unmasked": frozenset({Role.STAFF, Role.ADMIN, Role.REGULATOR, Role.PROVIDER}),
    # 政务办 invites a person to their own account, or unlinks a wrongly linked one, from the
    # unmasked view (an entered employer invites from its roster: may_invite_practitioner).
    "practitioners.accounts": OFFICE,
    # 挂证 conflicts between two entered providers: 政务办 voids a registration (audited); the
    # supervising regulators see their providers' conflicts too (review_scope).
    "practitioners.void": OFFICE,
    "practitioners.conflicts": frozenset({Role.STAFF, Role.ADMIN, Role.REGULATOR}),
    "providers.review": frozenset({Role.ADMIN}),
    "projects.own": frozenset({Role.ENTERPRISE}),  # own projects, selection requests, ratings
    # An enterprise's accounts list each other; who may invite is may_invite_colleagues below.
    "colleagues.invite": frozenset({Role.ENTERPRISE}),
    "projects.staff": OFFICE,
    "ratings.moderate": frozenset({Role.ADMIN}),
    # Roadmaps: the owning enterprise, staff and admins (which project is whose: can_see_project);
    # the roadmap, its checklist and its API.
    "roadmaps.view": frozenset({Role.ENTERPRISE, Role.STAFF, Role.ADMIN}),
    "roadmaps.progress": frozenset({Role.ENTERPRISE, Role.STAFF, Role.ADMIN}),  # progress, options
    "roadmaps.templates": frozenset({Role.ADMIN}),  # edit the category templates
    "deadlines.dashboard": OFFICE,  # warnings across projects
    # /stats: everyone sees the aggregates; the 超时通报 list (projects by name) and the integrity
    # signals (待核查线索, never public accusations) are for 政务办 only (sees_stats_detail).
    "stats.staff": OFFICE,
    "notifications.read": frozenset(
        {Role.ENTERPRISE, Role.STAFF, Role.ADMIN, Role.PROVIDER, Role.REGULATOR, Role.PRACTITIONER}
    ),
    # Evaluations and credit (department scoping — a regulator acts only for ITS department — is
    # regulator_department and in_department below).
    "evaluations.enter": frozenset({Role.REGULATOR}),  # periods, scores (forms, CSV/XLSX), publish
    "credit.manage": frozenset({Role.REGULATOR}),  # credit records, behaviour events, answers
    "credit.object": frozenset({Role.PROVIDER}),  # object (异议) to a record about itself
    # A person's own pages (their record, credit records and objections): the practitioner's own
    # account (Practitioner.account_id); which person is whose is own_practitioner below.
    "person.self": frozenset({Role.PRACTITIONER}),
    "credit.person": frozenset({Role.PRACTITIONER}),
    "credit.configure": frozenset({Role.ADMIN}),  # weights, bands, deduction table
    # An objection's evidence files: the objecting provider or person and the department's
    # regulators (which objection is whose: can_see_objection below).
    "credit.evidence": frozenset({Role.PROVIDER, Role.REGULATOR, Role.PRACTITIONER}),
    # A delivered result file: the roles that can be its owner or provider, and admins; which
    # engagement is theirs is owns_engagement / provides_engagement below.
    "engagements.result": frozenset({Role.ENTERPRISE, Role.PROVIDER, Role.ADMIN}),
    # Award notices: an objection (异议) during the 公示期 by the owner or a bidder (which award is
    # theirs: award_objector below); 政务办 staff and admins answer them.
    "awards.object": frozenset({Role.ENTERPRISE, Role.PROVIDER}),
    "awards.handle": OFFICE,
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


# --------------------------------------------------------------------------- who is who


def _signed_in(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _has_role(user: Any, *roles: Role) -> bool:
    return _signed_in(user) and user.role_enum in roles


def is_admin(user: Any) -> bool:
    """An admin (政务办) account."""
    return _has_role(user, Role.ADMIN)


def is_office(user: Any) -> bool:
    """政务办 accounts — staff and admins — who work on every project."""
    return _has_role(user, *OFFICE)


def is_project_staff(user: Any) -> bool:
    """A staff account: the people named 帮办管家 or 审批专家 and offered "my projects only"."""
    return _has_role(user, Role.STAFF)


def may_serve_projects(person: Any) -> bool:
    """Whether an account may be named a project's 帮办管家 or 审批专家 (enabled staff)."""
    return is_project_staff(person) and person.is_active


def _enabled_accounts(role: Role, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Filter on User: the enabled accounts of one role that meet the further conditions."""
    return and_(User.role == role.value, User.is_enabled.is_(True), *conditions)


def project_staff_accounts() -> ColumnElement[bool]:
    """Filter on User: the accounts may_serve_projects accepts."""
    return _enabled_accounts(Role.STAFF)


def is_enterprise_account(user: Any) -> bool:
    """An enterprise (项目业主) account, bound to an enterprise or not yet."""
    return _has_role(user, Role.ENTERPRISE)


def acts_for_enterprise(user: Any, enterprise_id: int | None) -> bool:
    """Whether user is an account of that enterprise."""
    return (
        is_enterprise_account(user)
        and user.enterprise_id is not None
        and user.enterprise_id == enterprise_id
    )


def enterprise_accounts(enterprise_id: int) -> ColumnElement[bool]:
    """Filter on User: the enabled accounts acting for the enterprise (who is told about it)."""
    return _enabled_accounts(Role.ENTERPRISE, User.enterprise_id == enterprise_id)


def enterprise_members(enterprise_id: int) -> ColumnElement[bool]:
    """Filter on User: every account of the enterprise, enabled or not (its colleagues page)."""
    return and_(User.role == Role.ENTERPRISE.value, User.enterprise_id == enterprise_id)


def may_invite_colleagues(user: Any) -> bool:
    """An enterprise account bound to its enterprise, with a confirmed e-mail address, invites
    colleagues (a provider acts through exactly one account, so it has none to invite)."""
    return (
        is_enterprise_account(user)
        and user.is_active
        and user.enterprise_id is not None
        and user.email is not None
        and user.email_confirmed_at is not None
    )


# --------------------------------------------------------------------------- joining

# The roles an organisation may register for itself (the others are created by 政务办), as the
# registration form offers them.
SELF_REGISTERING = {Role.ENTERPRISE: "企业(项目业主)", Role.PROVIDER: "中介机构"}


# Roles an admin does not give an account: a person's own account is opened only by invitation,
# linked to their record (services/practitioners/accounts.py).
INVITED_ONLY = frozenset({Role.PRACTITIONER})


def may_assign_role(role: Role) -> bool:
    """Whether an admin may create an account of this role or move an account to it."""
    return role not in INVITED_ONLY


def may_register_as(role: Role | None) -> bool:
    """Whether an organisation may register itself an account of this role."""
    return role in SELF_REGISTERING


def organisation_accounts(role: Role, uscc: str) -> ColumnElement[bool]:
    """Filter on User: the self-registered accounts of an organisation code in a role."""
    return and_(User.role == role.value, User.org_uscc == uscc)


def firm_of_role(role: Role) -> type[Enterprise] | type[Provider]:
    """The firm an account of a self-registering role acts for: an Enterprise or a Provider."""
    return Enterprise if role is Role.ENTERPRISE else Provider


def provider_accounts(provider_ids: Any) -> ColumnElement[bool]:
    """Filter on User: the enabled accounts the given providers (ids, or a select of ids) act
    through (who is told about them)."""
    acting = select(Provider.account_id).where(Provider.id.in_(provider_ids))
    return _enabled_accounts(Role.PROVIDER, User.id.in_(acting))


def action_accounts(action: str) -> ColumnElement[bool]:
    """Filter on User: the enabled accounts whose role may perform the action (who is asked to)."""
    roles = [role.value for role in PERMISSIONS[action]]
    return and_(User.role.in_(roles), User.is_enabled.is_(True))


def is_provider_account(user: Any) -> bool:
    """A provider (中介机构) account, whether or not it has applied yet."""
    return _has_role(user, Role.PROVIDER)


def acts_for_provider(user: Any, provider: Provider) -> bool:
    """Whether user is the account the provider acts through."""
    return is_provider_account(user) and provider.account_id == user.id


# --------------------------------------------------------------------------- projects


def can_see_project(user: Any, project: Project) -> bool:
    """The owning enterprise's accounts, staff and admins; nobody else."""
    return is_office(user) or acts_for_enterprise(user, project.enterprise_id)


def visible_projects(user: Any) -> ColumnElement[bool]:
    """Filter on Project: the projects can_see_project lets the user see."""
    if is_office(user):
        return true()
    if is_enterprise_account(user):
        return Project.enterprise_id == (user.enterprise_id or -1)
    return false()


def owns_project(user: Any, project: Project) -> bool:
    """Whether user is an account of the project's enterprise (who opens requests and decides)."""
    return acts_for_enterprise(user, project.enterprise_id)


def sees_stats_detail(user: Any) -> bool:
    """Whether /stats shows the user its staff part: the 超时通报 list with the projects named and
    the integrity signals to review (the public sees the aggregates only)."""
    return can(user, "stats.staff")


def may_register_for_enterprises(user: Any) -> bool:
    """Staff and admins register projects for an enterprise they name (招商推送)."""
    return is_office(user)


def served_projects(user: Any) -> ColumnElement[bool]:
    """Filter on Project: the projects a staff member serves as 帮办管家 or 审批专家."""
    return (Project.concierge_id == user.id) | (Project.expert_id == user.id)


# --------------------------------------------------------------------------- engagements


def owns_engagement(user: Any, engagement: Engagement) -> bool:
    """Whether user is an account of the enterprise that owns the engagement's project."""
    return acts_for_enterprise(user, engagement.award.request.project.enterprise_id)


def provides_engagement(user: Any, engagement: Engagement) -> bool:
    """Whether user is the account of the awarded provider."""
    return acts_for_provider(user, engagement.award.provider)


def can_see_engagement(user: Any, engagement: Engagement) -> bool:
    """The owner, the awarded provider and admins; nobody else."""
    return (
        is_admin(user) or owns_engagement(user, engagement) or provides_engagement(user, engagement)
    )


def owned_engagements(user: Any) -> ColumnElement[bool]:
    """Filter on Engagement: those owns_engagement accepts."""
    if not is_enterprise_account(user) or user.enterprise_id is None:
        return false()
    awards = (
        select(Award.id)
        .join(SelectionRequest, SelectionRequest.id == Award.request_id)
        .join(Project, Project.id == SelectionRequest.project_id)
        .where(Project.enterprise_id == user.enterprise_id)
    )
    return Engagement.award_id.in_(awards)


def provided_engagements(user: Any) -> ColumnElement[bool]:
    """Filter on Engagement: those provides_engagement accepts."""
    if not is_provider_account(user):
        return false()
    awards = (
        select(Award.id)
        .join(Provider, Provider.id == Award.provider_id)
        .where(Provider.account_id == user.id)
    )
    return Engagement.award_id.in_(awards)


# --------------------------------------------------------------------------- award objections


def award_objector(
    user: Any, award: Award, bidders: list[Provider]
) -> Enterprise | Provider | None:
    """The party an account objects to an award for: the owner (an account of the project's
    enterprise) or a provider that applied to the request (`bidders`, its account); None for
    anyone else."""
    project = award.request.project
    if owns_project(user, project):
        return project.enterprise
    return next((p for p in bidders if acts_for_provider(user, p)), None)


def handles_award_objections(user: Any) -> bool:
    """政务办 staff and admins answer objections to award notices."""
    return is_office(user)


# --------------------------------------------------------------------------- sealed quotes


def quotes_opened(request: SelectionRequest, *, now: datetime) -> bool:
    """Open after the deadline; a request withdrawn (撤销) before it keeps them sealed for good."""
    return now >= request.deadline and not request.is_withdrawn


def can_see_quote(user: Any, quote: Quote, *, now: datetime) -> bool:
    """Sealed bidding, for everyone including admins: a provider sees only its own quotes, at any
    time; once the quotes are open those who may see the project (owner, staff, admins) see all."""
    if not _signed_in(user):
        return False
    if is_provider_account(user):
        return quote.provider.account_id == user.id
    return quotes_opened(quote.request, now=now) and can_see_project(user, quote.request.project)


def visible_quotes(user: Any, request: SelectionRequest, *, now: datetime) -> ColumnElement[bool]:
    """Filter on Quote (of this request): the quotes can_see_quote lets the user see."""
    if not _signed_in(user):
        return false()
    if is_provider_account(user):
        return Quote.provider_id.in_(select(Provider.id).where(Provider.account_id == user.id))
    if quotes_opened(request, now=now) and can_see_project(user, request.project):
        return true()
    return false()


# Audit entries of these actions name a bidder (the provider, its account, its address).
SEALED_AUDIT_ACTIONS = ("selection.quote",)


def audit_entry_sealed(entry: Any, request: SelectionRequest | None, *, now: datetime) -> bool:
    """Who bid is sealed like the quotes, for everyone including admins: an audit entry of a
    quote shows no actor or details until the quotes are open (an unknown request: sealed)."""
    if not entry.action.startswith(SEALED_AUDIT_ACTIONS):
        return False
    return request is None or not quotes_opened(request, now=now)


# --------------------------------------------------------------------------- departments


def is_regulator(user: Any) -> bool:
    """A regulator (行业主管部门) account."""
    return _has_role(user, Role.REGULATOR)


def regulator_department(user: Any) -> Department | None:
    """The one department a regulator acts for; None for anyone else (or an unbound account)."""
    if not is_regulator(user) or user.department_id is None:
        return None
    return db.session.get(Department, user.department_id)


def in_department(user: Any, department_id: int | None) -> bool:
    """Whether a record of that department (period, credit record, objection) is the user's."""
    department = regulator_department(user)
    return department is not None and department.id == department_id


def can_see_objection(user: Any, objection: Objection) -> bool:
    """The provider that objected (the person, for a record against a person) and the
    regulators of the record's department."""
    person = objection.record.practitioner
    if person is not None and not is_regulator(user):
        return _signed_in(user) and person.account_id == user.id
    if is_provider_account(user):
        return objection.provider.account_id == user.id
    return in_department(user, objection.record.department_id)


def own_practitioner(user: Any) -> ColumnElement[bool]:
    """Filter on Practitioner: the person whose own account user is (their credit page)."""
    if not _signed_in(user) or not user.is_active:
        return false()
    return Practitioner.account_id == user.id


def department_records(user: Any, column: Any) -> ColumnElement[bool]:
    """Filter: rows whose department column is the regulator's own department."""
    department = regulator_department(user)
    return false() if department is None else column == department.id


def department_accounts(department_id: int) -> ColumnElement[bool]:
    """Filter on User: the enabled regulator accounts acting for the department."""
    return _enabled_accounts(Role.REGULATOR, User.department_id == department_id)


def supervised_provider_ids(department_id: int) -> Select:
    """Providers that offer, or once offered, a service item the department supervises.

    A withdrawn offer still counts, so that a provider cannot escape supervision by withdrawing."""
    return (
        select(Offer.provider_id)
        .join(ServiceItem, ServiceItem.id == Offer.service_item_id)
        .where(ServiceItem.department_id == department_id)
    )


def supervised_providers(department_id: int) -> ColumnElement[bool]:
    """Filter on Provider: those the department supervises (see supervised_provider_ids)."""
    return Provider.id.in_(supervised_provider_ids(department_id))


def supervises(department_id: int, provider: Provider) -> bool:
    """Whether the department supervises the provider."""
    query = supervised_provider_ids(department_id).where(Offer.provider_id == provider.id)
    return db.session.scalar(query.limit(1)) is not None


# --------------------------------------------------------------------------- practitioners


def public_practitioners() -> ColumnElement[bool]:
    """Filter on Practitioner: the people the public pages, the API and search show (masked):
    those who work, or worked, at a provider in the public directory. A person known only to a
    provider still applying is not public."""
    return Practitioner.employments.any(
        Employment.provider.has(Provider.status == ProviderStatus.ACTIVE.value)
    )


def is_public_practitioner(practitioner: Practitioner) -> bool:
    """Whether public_practitioners() lets the person be shown (masked)."""
    return any(e.provider.status == ProviderStatus.ACTIVE.value for e in practitioner.employments)


def may_view_unmasked(user: Any, practitioner: Practitioner) -> bool:
    """Who may open a person's unmasked record (each view audited): 政务办; a regulator for a
    person who works or worked at a provider its department supervises, or has a credit record
    from its department; the account of the provider the person works for now."""
    if not can(user, "practitioners.unmasked"):
        return False
    if is_provider_account(user):
        current = practitioner.current_employment
        return current is not None and acts_for_provider(user, current.provider)
    if is_regulator(user):
        department = regulator_department(user)
        return department is not None and (
            any(supervises(department.id, e.provider) for e in practitioner.employments)
            or db.session.scalar(
                select(CreditRecord.id).where(
                    CreditRecord.practitioner_id == practitioner.id,
                    CreditRecord.department_id == department.id,
                )
            )
            is not None
        )
    return True


def may_download_scan(user: Any, certificate: Any) -> bool:
    """A certificate's scan on the roster: the provider that uploaded it, while the person still
    works there (a later employer does not get the previous one's files)."""
    current = certificate.practitioner.current_employment
    scan = certificate.scan
    if scan is None or current is None or not acts_for_provider(user, current.provider):
        return False
    uploader = db.session.get(User, scan.uploaded_by_id) if scan.uploaded_by_id else None
    return uploader is not None and acts_for_provider(uploader, current.provider)


def review_scope(user: Any) -> int | None:
    """Whose 挂证 conflicts a user reviews: all (None) for 政务办, else the regulator's department
    (0, none, for an account bound to no department)."""
    if is_office(user):
        return None
    department = regulator_department(user)
    return department.id if department is not None else 0


def may_invite_practitioner(user: Any, practitioner: Practitioner) -> bool:
    """Who may invite a person to their own account: 政务办 (the unmasked view) and the account
    of the provider the person works for now, once past entry review (not an applicant's word)."""
    if is_office(user):
        return True
    current = practitioner.current_employment
    return (
        can(user, "practitioners.self")
        and current is not None
        and current.provider.status in (ProviderStatus.ACTIVE.value, ProviderStatus.SUSPENDED.value)
        and acts_for_provider(user, current.provider)
    )


# --------------------------------------------------------------------------- landing page

# What each role's landing page (待办事项) counts, in this order (services/pending.py counts and
# documents each kind).
PENDING_WORK: dict[Role, tuple[str, ...]] = {
    Role.ENTERPRISE: ("requests.to_decide", "engagements.owner", "steps.own"),
    Role.PROVIDER: ("provider.work",),
    Role.REGULATOR: ("regulator.work", "practitioner.conflicts"),
    Role.STAFF: ("award_objections", "practitioner.conflicts", "steps.all"),
    Role.ADMIN: ("providers.to_review", "award_objections", "practitioner.conflicts", "steps.all"),
    Role.PRACTITIONER: ("person.work",),
}


def pending_work_kinds(user: Any) -> tuple[str, ...]:
    """The kinds of pending work the user's landing page counts (none for anyone else)."""
    if not _signed_in(user) or not user.is_active:
        return ()
    return PENDING_WORK.get(user.role_enum, ())


def landing_endpoint(user: Any) -> str:
    """Where a user lands after signing in when no safe `next` is given: the pending-work page
    when the role has pending work to show, else the account page."""
    return "pending.show_pending" if pending_work_kinds(user) else "auth.account"
