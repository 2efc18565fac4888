"""The one document registry: each searchable kind declares here how its rows become documents.

Service items, approval items, departments, active providers, award notices, published credit
notices and public practitioners (masked). A kind returns None for rows that must not be public
(drafts, providers not yet approved, retired entries), so they never enter the index.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from registry import policy
from registry.models.catalogue import ApprovalItem, Department, ServiceItem, Validity
from registry.models.credit import CreditRecord, CreditStatus
from registry.models.market import Award, SelectionRequest
from registry.models.practitioners import Employment, Practitioner
from registry.models.projects import Project
from registry.models.providers import Offer, Provider, ProviderStatus
from registry.pure.money import format_money
from registry.pure.pii import mask_name
from registry.search import dependents

_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Document:
    """What the index stores about one public row."""

    kind: str
    key: str
    title: str
    url: str
    keywords: list[str] = field(default_factory=list)
    body: str = ""
    facets: dict[str, list[str]] = field(default_factory=dict)
    rank: float = 0.0
    # Names the document is found by but never shows (a practitioner's real name, while the
    # title holds the masked one): indexed only as one whole-name term (analysis.hidden_term),
    # found only by a query equal to the full name; never pieces, stored, highlighted, turned
    # into pinyin or offered as a spelling suggestion.
    hidden: list[str] = field(default_factory=list)

    @property
    def own_names(self) -> list[str]:
        """The names this document goes by: its title, and its keywords when they are its own
        aliases (a catalogue entry's abbreviations, a department's short name) rather than
        names it mentions (a provider's offered services)."""
        return [self.title, *(self.keywords if self.kind in GUIDE_KINDS else [])]

    @property
    def doc_id(self) -> str:
        """Globally unique id, e.g. service:ZJ-03."""
        return f"{self.kind}:{self.key}"

    def content_hash(self) -> str:
        """A hash of everything indexed, to detect drift between the index and the database."""
        data = asdict(self)
        if hidden := data.pop("hidden"):  # renamed: documents with the old bigrams drift
            data["hidden_whole"] = hidden
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DocumentKind:
    """How one model becomes documents."""

    name: str
    label: str
    model: type
    key: Callable[[Any], str]
    to_document: Callable[[Any], Document | None]
    load_all: Callable[[Session], Iterator[Any]]
    load_one: Callable[[Session, str], Any]
    dependents: Callable[[Any], list[tuple[str, str]]] = lambda obj: []
    # The attribute holding the key, so that a changed key also drops the old document.
    key_attr: str = "code"


def _laws(entries: list[dict]) -> str:
    return " ".join(
        f"{e.get('law') or ''}{e.get('article') or ''} {e.get('note') or ''}" for e in entries or []
    )


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def _service_document(item: ServiceItem) -> Document | None:
    return _entry_document(
        item,
        "service",
        f"/services/{item.code}",
        list(item.abbreviations or []),
        _join(
            _laws(item.legal_basis),
            item.applicability,
            item.serves_note,
            " ".join(a.name for a in item.approval_items),
            item.department_note,
            item.fee_regime,
            item.fee_basis,
            item.time_limit_note,
            item.qualification_required,
            item.self_prepare_note,
            item.regional_assessment_note,
            _TAGS.sub(" ", item.notes_html or ""),
            item.code,
        ),
        fee_regime=[item.fee_regime or "待核实"],
    )


def _approval_document(item: ApprovalItem) -> Document | None:
    return _entry_document(
        item,
        "approval",
        f"/approval-items/{item.code}",
        [],
        _join(
            _laws(item.legal_basis),
            item.approving_body,
            item.applicability,
            item.time_limit_note,
            item.tianjin_note,
            " ".join(s.name for s in item.service_items if s.validity != Validity.REPEALED.value),
            _TAGS.sub(" ", item.notes_html or ""),
            item.code,
        ),
    )


def _entry_document(
    item: ServiceItem | ApprovalItem, kind: str, url: str, keywords: list[str], body: str, **facets
) -> Document | None:
    """A catalogue entry's document, none once repealed: found by code, name and its department's
    names, faceted by its stages and department (and the kind's own facets)."""
    if item.validity == Validity.REPEALED.value:
        return None
    department = item.department
    if department is not None:
        body = _join(body, department.name, department.short_name)
    return Document(
        kind=kind,
        key=item.code,
        title=item.name,
        url=url,
        keywords=keywords,
        body=body,
        facets={
            "stage": [s.code for s in item.stages],
            "department": [department.code] if department else [],
            **facets,
        },
    )


def _department_document(item: Department) -> Document | None:
    if not item.is_active:
        return None
    return Document(
        kind="department",
        key=item.code,
        title=item.name,
        url=f"/departments#{item.code}",
        keywords=[item.short_name] if item.short_name else [],
        body=_join(item.complaint_phone_note, item.code),
        facets={"department": [item.code]},
    )


GRADE_RANK = {"AA": 5.0, "A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0}
RANK_BOOST_STEP = 0.02  # AA: +10 % relevance


def rank_boost(rank: float) -> float:
    """The factor a document's relevance score is multiplied by for its rank."""
    return 1.0 + RANK_BOOST_STEP * (rank or 0.0)


# The guide first (issue 16): a catalogue entry's title and keywords are its OWN names (its
# abbreviations, a department's short name), while a provider profile, an award notice or a
# credit notice only MENTIONS the services it offers or concerns. A query that names a service
# (环境影响评价, 环评, huanping, hp) matches both the entry and every profile mentioning it, often
# equally well; both backends therefore multiply the relevance of the guide's kinds by
# GUIDE_BOOST, so the entry comes first and the providers follow (equal matches among them
# ordered by credit grade, rank_boost). A query naming a provider still finds the provider first:
# no catalogue entry carries a provider's name.
GUIDE_KINDS = ("service", "approval", "department")
GUIDE_BOOST = 3.0


def kind_boost(kind: str) -> float:
    """The factor a document's relevance score is multiplied by for its kind."""
    return GUIDE_BOOST if kind in GUIDE_KINDS else 1.0


def _provider_document(item: Provider) -> Document | None:
    if item.status != ProviderStatus.ACTIVE.value:
        return None
    services = [
        o.service_item
        for o in sorted(item.offers, key=lambda o: o.service_item.code)
        if o.is_active and o.service_item.validity != Validity.REPEALED.value
    ]
    keywords: list[str] = []
    for service in services:
        keywords += [service.name, *(service.abbreviations or [])]
    return Document(
        kind="provider",
        key=item.uscc,
        title=item.name,
        url=f"/providers/{item.uscc}",
        keywords=list(dict.fromkeys(keywords)),
        body=_join(item.licence_scope, item.region, item.address, item.uscc),
        facets={
            "stage": sorted({s.code for service in services for s in service.stages}),
            "department": sorted({s.department.code for s in services if s.department}),
        },
        rank=GRADE_RANK.get(item.grade or "", 0.0),
    )


def _award_document(item: Award) -> Document | None:
    if item.withdrawal is not None:  # withdrawn: the request's new result, once decided
        return None
    request = item.request
    service = request.service_item
    project = request.project
    amount = f"中选金额 {format_money(item.amount)}" if item.amount is not None else ""
    return Document(
        kind="award",
        key=request.ref,
        title=f"中选公示:{project.code} {service.name}({item.provider.name})",
        url=f"/awards/{item.id}",
        # The winner's name is in the title only: a query naming a firm puts its own profile
        # first, before the awards that mention it (stop 29).
        keywords=[service.name, *(service.abbreviations or [])],
        body=_join(
            project.enterprise.name,
            project.name,
            item.method,
            amount,
            item.explanation,
            request.ref,
            item.provider.uscc,
        ),
        facets={
            "stage": sorted(s.code for s in service.stages),
            "department": [service.department.code] if service.department else [],
        },
    )


def _notice_document(item: CreditRecord) -> Document | None:
    """A credit notice: only published, current records (drafts, revoked and superseded ones
    are not public)."""
    if item.status != CreditStatus.PUBLISHED.value or item.practitioner_id is not None:
        return None  # records against a person are on their page, masked, never a notice
    department = item.department
    return Document(
        kind="notice",
        key=item.number,
        title=f"{item.kind}:{item.title}",
        url=f"/notices/{item.number}",
        # The firm's name in the body: found by it, after the firm's own profile (stop 29).
        keywords=[k for k in (item.kind, department.short_name) if k],
        body=_join(item.provider_name, item.facts, item.basis, item.provider_uscc, item.number),
        facets={"department": [department.code]},
    )


def _practitioner_document(item: Practitioner) -> Document | None:
    """A public person (policy.public_practitioners): shown by the masked name, found also by
    the real one (hidden), by the certificate types held and by the current firm's name."""
    if not policy.is_public_practitioner(item):
        return None
    current = item.current_employment
    firm = current.provider if current is not None else None
    if firm is not None and firm.status != ProviderStatus.ACTIVE.value:
        firm = None
    kinds = list(dict.fromkeys(c.kind for c in item.certificates))
    masked = mask_name(item.name)
    return Document(
        kind="practitioner",
        key=str(item.id),
        # The firm in the body, not the title: a person is found by the firm's name, after the
        # firm's own profile (stop 29).
        title=masked,
        url=f"/practitioners/{item.id}",
        keywords=kinds,
        body=_join(
            "从业人员", "、".join(kinds), firm.name if firm else "", firm.uscc if firm else ""
        ),
        hidden=[item.name] if len(item.name) >= 2 else [],
    )


def _loader(model, *options, key=None, order=None, listed=None, via=None, latest=None):
    """A kind's load_all (its listed rows, in a stable order) and load_one (one row by its
    document key, listed or not, so a row that stopped being public is found and dropped).
    The key is the model's code unless named; `via` joins the table that holds it; `latest`
    orders the rows sharing one key, the newest being the document (an award's rounds)."""
    key = model.code if key is None else key
    order = key if order is None else order

    def load_all(session: Session) -> Iterator[Any]:
        query = select(model).options(*options)
        if listed is not None:
            query = query.where(listed)
        yield from session.scalars(query.order_by(order))

    def load_one(session: Session, value: str) -> Any:
        query = select(model) if via is None else select(model).join(*via)
        # populate_existing: a row already in this session's identity map may have been
        # changed by a transaction that committed since; the document must show the latest.
        query = query.where(key == value).options(*options)
        if latest is not None:
            query = query.order_by(latest.desc()).limit(1)
        return session.scalar(query.execution_options(populate_existing=True))

    return load_all, load_one


_service_all, _service_one = _loader(
    ServiceItem,
    selectinload(ServiceItem.stages),
    selectinload(ServiceItem.department),
    selectinload(ServiceItem.approval_items),
)
_approval_all, _approval_one = _loader(
    ApprovalItem,
    selectinload(ApprovalItem.stages),
    selectinload(ApprovalItem.department),
    selectinload(ApprovalItem.service_items),
)
_department_all, _department_one = _loader(Department)
_offered = selectinload(Provider.offers).selectinload(Offer.service_item)
_provider_all, _provider_one = _loader(
    Provider,
    _offered.selectinload(ServiceItem.stages),
    _offered.selectinload(ServiceItem.department),
    key=Provider.uscc,
    listed=Provider.status == ProviderStatus.ACTIVE.value,
)
_requested = selectinload(Award.request)
_award_all, _award_one = _loader(
    Award,
    _requested.selectinload(SelectionRequest.service_item).selectinload(ServiceItem.stages),
    _requested.selectinload(SelectionRequest.project).selectinload(Project.enterprise),
    selectinload(Award.provider),
    key=SelectionRequest.ref,
    order=Award.id,
    # A request's document is its standing award: the latest round, dropped while withdrawn.
    listed=~Award.withdrawal.has(),
    via=(SelectionRequest, SelectionRequest.id == Award.request_id),
    latest=Award.round,
)
_notice_all, _notice_one = _loader(
    CreditRecord,
    selectinload(CreditRecord.department),
    key=CreditRecord.number,
    order=CreditRecord.id,
    listed=(CreditRecord.status == CreditStatus.PUBLISHED.value)
    & CreditRecord.practitioner_id.is_(None),
)

_person_options = (
    selectinload(Practitioner.employments).selectinload(Employment.provider),
    selectinload(Practitioner.certificates),
)


def _practitioner_all(session: Session) -> Iterator[Any]:
    query = select(Practitioner).where(policy.public_practitioners()).options(*_person_options)
    yield from session.scalars(query.order_by(Practitioner.id))


def _practitioner_one(session: Session, value: str) -> Any:
    if not value.isdigit():
        return None
    query = select(Practitioner).where(Practitioner.id == int(value)).options(*_person_options)
    return session.scalar(query.execution_options(populate_existing=True))


KINDS: dict[str, DocumentKind] = {
    kind.name: kind
    for kind in (
        DocumentKind(
            "service",
            "中介服务事项",
            ServiceItem,
            lambda o: o.code,
            _service_document,
            _service_all,
            _service_one,
            dependents.service_dependents,
        ),
        DocumentKind(
            "approval",
            "审批事项",
            ApprovalItem,
            lambda o: o.code,
            _approval_document,
            _approval_all,
            _approval_one,
            dependents.approval_dependents,
        ),
        DocumentKind(
            "department",
            "监管部门",
            Department,
            lambda o: o.code,
            _department_document,
            _department_all,
            _department_one,
            dependents.department_dependents,
        ),
        DocumentKind(
            "provider",
            "中介机构",
            Provider,
            lambda o: o.uscc,
            _provider_document,
            _provider_all,
            _provider_one,
            dependents.provider_dependents,
            key_attr="uscc",
        ),
        DocumentKind(
            "award",
            "中选公示",
            Award,
            # The request's public number: known before the award row has an id.
            lambda o: o.request.ref if o.request is not None else None,
            _award_document,
            _award_all,
            _award_one,
            key_attr="request_id",
        ),
        DocumentKind(
            "notice",
            "信用公示",
            CreditRecord,
            lambda o: o.number,
            _notice_document,
            _notice_all,
            _notice_one,
            key_attr="number",
        ),
        DocumentKind(
            "practitioner",
            "从业人员",
            Practitioner,
            # The id: a new person's is known after the flush (the engine queues it then).
            lambda o: str(o.id) if o.id is not None else None,
            _practitioner_document,
            _practitioner_all,
            _practitioner_one,
            key_attr="id",
        ),
    )
}
KIND_BY_MODEL = {kind.model: kind for kind in KINDS.values()}

FACET_LABELS = {"type": "类型", "stage": "审批阶段", "department": "部门", "fee_regime": "收费性质"}


def kind_for(obj: Any) -> DocumentKind | None:
    """The document kind of a model instance, if it is searchable."""
    return KIND_BY_MODEL.get(type(obj))


def related_documents(obj: Any) -> list[tuple[str, str]]:
    """(kind, key) of documents that show a non-searchable row (an offer → its provider)."""
    related = dependents.RELATED.get(type(obj))
    return related(obj) if related is not None else []


def all_documents(session: Session) -> Iterator[Document]:
    """Every public document of every kind, straight from the database."""
    for kind in KINDS.values():
        for obj in kind.load_all(session):
            document = kind.to_document(obj)
            if document is not None:
                yield document


def load_document(session: Session, kind: str, key: str) -> Document | None:
    """The current document for one row, or None if it is gone or not public."""
    spec = KINDS.get(kind)
    if spec is None:
        return None
    obj = spec.load_one(session, key)
    return None if obj is None else spec.to_document(obj)


def documents_for(session: Session, keys: set[tuple[str, str]]) -> tuple[list[Document], list[str]]:
    """Current documents for (kind, key) pairs; rows gone or not public become deletions."""
    upserts, deletes = [], []
    for kind, key in sorted(keys):
        document = load_document(session, kind, key)
        if document is None:
            deletes.append(f"{kind}:{key}")
        else:
            upserts.append(document)
    return upserts, deletes
