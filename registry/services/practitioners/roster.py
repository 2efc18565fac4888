"""A provider's roster: registering a practitioner (a person already known by the digest of the
ID number is reused), adding certificates from the controlled list, ending an employment.

A certificate or a person already active at another entered provider is refused (挂证嫌疑):
the attempt is recorded as a behaviour event against the trying provider (and, between two
entered providers, the holder: conflicts.py) and audited, nothing else is written,
and a RegistryError is raised. The view runs such a call with `keep=True` so that the event is
committed while everything else of the request is not (services check every input before they
write anything)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    Quote,
    QuoteMember,
    RequestStatus,
    SelectionRequest,
    User,
)
from registry.pure import pii
from registry.services import audit, errors
from registry.services.errors import RegistryError
from registry.services.practitioners import certificate_types, conflicts, history
from registry.services.practitioners.common import (
    close_employment,
    digest_of,
    form_date,
    named_certificate,
    named_person,
    own_employment,
    own_practitioner,
)
from registry.services.providers.common import check_own
from registry.services.uploads import save_upload

# One answer for a wrong name and for a person at another firm (its 挂证 event is still
# recorded): neither tells the registering firm whether the ID belongs to someone, nor where.
HUNG_PERSON = (
    "无法以填写的姓名和身份证号在本机构登记该人员。请核对姓名、身份证号与本人身份证一致;"
    "如其仍在其他机构登记在职,需由原机构先办理离职登记。本次尝试已记录。"
)
HUNG_CERTIFICATE = (
    "该证书(同一类型、同一编号)已登记在其他中介机构在职人员名下,同一证书不能在两家机构同时执业。"
    "本次登记已记录为挂证嫌疑行为。"
)


def _text(data: dict, name: str, label: str, limit: int, *, required: bool = True) -> str:
    return errors.text_field(data.get(name), name, label, limit, required=required)


def _name(data: dict) -> str:
    """The person's name normalised once at entry (pii.normalise_name), so masks stay masks."""
    name = pii.normalise_name(_text(data, "name", "姓名", 50))
    if not name:
        raise RegistryError("name", "请填写姓名。")
    return name


def certificate_key(number: str) -> str:
    """The key of a certificate number (pii.number_key), refused when it holds invisible
    characters or fewer than four letters and digits (a key meant to look new)."""
    if pii.invisible(number):
        raise RegistryError(
            "number", "证书编号含有不可见字符(如零宽空格、软连字符),请删除后重新填写。"
        )
    if pii.number_signs(number) < pii.MIN_NUMBER_SIGNS:
        raise RegistryError("number", "证书编号至少应包含 4 位字母或数字,请核对。")
    return pii.number_key(number)


def _refuse_person(provider: Provider, actor: User, person: Practitioner, name: str) -> None:
    """Refuse an ID registered under another name with the one neutral answer, audited."""
    audit.record(
        "practitioner.register_refused",
        actor=actor,
        of=provider,
        outcome="refused",
        detail=f"以姓名 {pii.mask_name(name)} 登记身份证号末四位 {person.id_tail} 的人员被拒绝:"
        "姓名与已登记的不一致",
    )
    raise RegistryError("id_number", HUNG_PERSON)


def _add_guarded(
    build: Callable[[], Any],
    field: str,
    message: str,
    *,
    recheck: Callable[[], Any] | None = None,
    then: Callable[[Any], Any] | None = None,
) -> Any:
    """Build rows, add and flush them in a savepoint, then `then(built)` (a scan stored only
    once the row is in); returns what `build` made. A unique-index race (the same person or
    certificate registered by two requests at once) undoes only the savepoint; `recheck` then
    runs the checks again, which now see the winner (and record a 挂证 attempt), before the
    race becomes a RegistryError. Built inside it, so nothing flushes half-linked rows."""
    try:
        with db.session.begin_nested():
            built = build()
            db.session.add(built)
            db.session.flush()
            if then is not None:
                then(built)
    except IntegrityError:
        if recheck is not None:
            recheck()
        raise RegistryError(field, message) from None
    return built


def _attach_scan(
    certificate: PractitionerCertificate, scan: FileStorage | None, actor: User
) -> None:
    """Store the scan of a certificate whose row is in (a refused attempt stores no upload)."""
    if scan is not None and scan.filename:
        certificate.scan = save_upload(scan, "scan", actor)
        db.session.flush()


def _person_facts(person: Practitioner) -> dict[str, Any]:
    """A person as the audit log keeps it: masked, never the ID digest."""
    return {
        "practitioner": person.id,
        "name": pii.mask_name(person.name),
        "id_tail": person.id_tail,
    }


# A 挂证嫌疑 refusal by what it refuses: the word of its event source, the form field it names,
# the answer, how the thing is named and the facts recorded (when the two firms are not both
# entered; otherwise conflicts.conflict_facts).
HUNG = {
    Practitioner: (
        "person",
        "id_number",
        HUNG_PERSON,
        named_person,
        "登记{what}被拒绝:其为另一家中介机构的在职人员",
    ),
    PractitionerCertificate: (
        "certificate",
        "number",
        HUNG_CERTIFICATE,
        named_certificate,
        "登记{what} 被拒绝:该证书登记在另一家中介机构的在职人员名下",
    ),
}


def _refuse_hung(
    provider: Provider,
    actor: User,
    refused: Practitioner | PractitionerCertificate,
    holder: Provider,
) -> None:
    """Record the 挂证嫌疑 attempt on a person or certificate that `holder` has (once a day) and
    refuse it. Between two entered providers both get the event, each naming the other
    (conflicts.py), for 政务办 and regulators to look."""
    subject, field, message, named, facts = HUNG[type(refused)]
    what = named(refused)
    facts = facts.format(what=what)
    source = f"hung:{subject}:{refused.id}:provider:{provider.id}:{clock.today()}"
    person_id = refused.id if isinstance(refused, Practitioner) else refused.practitioner_id
    both = conflicts.entered(provider)
    if both:
        facts = conflicts.conflict_facts(provider, holder, what)
    details = {"facts": facts, "practitioner": person_id, "with": holder.uscc}
    conflicts.record_event(provider, actor, source=source, details=details)
    if both:
        conflicts.record_conflict(
            provider, holder, actor, what=what, person_id=person_id, source=source
        )
    audit.record(
        "practitioner.certificate_refused",
        actor=actor,
        of=provider,
        outcome="refused",
        detail=facts,
    )
    raise RegistryError(field, message)


def _id_number(data: dict) -> str:
    raw = _text(data, "id_number", "身份证号", 30)
    if not pii.valid_id_number(raw):
        raise RegistryError("id_number", "身份证号格式或校验位不正确,请核对(18 位,末位可为 X)。")
    return pii.number_key(raw)


def _known_person(
    person: Practitioner, provider: Provider, name: str, started_on: date, actor: User
) -> None:
    """Checks on a person already registered: the same name, not on this roster now, not
    active at another entered provider (挂证嫌疑), and starting after any earlier employment
    ended. A person only an applicant has registered gives way to an entered provider: the
    applicant's employment is voided and the entered provider's name taken (conflicts.py)."""
    claims = conflicts.entered(provider) and not conflicts.vouched(person)
    if person.name != name and not claims:
        _refuse_person(provider, actor, person, name)
    current = person.current_employment
    if current is not None and current.provider_id == provider.id:
        raise RegistryError("id_number", "该人员已是本机构的在职人员。")
    conflicts.refuse_voided_employment(person, provider, actor)
    if current is not None and conflicts.entered(current.provider):
        _refuse_hung(provider, actor, person, current.provider)
    if current is not None and not conflicts.entered(provider):
        raise RegistryError("id_number", HUNG_PERSON)  # the one neutral answer
    last_end = max(
        (e.ended_on for e in person.employments if e.ended_on and e.ended_on > e.started_on),
        default=None,
    )
    if last_end is not None and started_on < last_end:
        raise RegistryError(
            "started_on", f"入职日期不能早于该人员上一段任职的离职日期 {last_end}。"
        )
    if current is not None:
        conflicts.displace_employment(current, provider, actor)
    if person.name != name:
        audit.record(
            "practitioner.registration_void",
            actor=actor,
            of=person,
            before={"name": pii.mask_name(person.name)},
            after={"name": pii.mask_name(name), "provider": provider.uscc},
        )
        person.name = name


def register_practitioner(provider: Provider, data: dict, *, actor: User) -> Employment:
    """Register a person on provider's roster from today's form (name, id_number, title,
    started_on): a person known by the ID digest is reused, a new one stores only the digest and
    the last four characters. Refused when the person works at another provider now."""
    check_own(provider, actor)
    name = _name(data)
    id_number = _id_number(data)
    title = _text(data, "title", "职务", 50, required=False) or None
    started_on = form_date(data, "started_on", "入职日期")
    if started_on > clock.today():
        raise RegistryError("started_on", "入职日期不能晚于今天。")
    digest = digest_of(id_number)
    person = db.session.scalar(select(Practitioner).where(Practitioner.id_digest == digest))
    if person is not None:
        _known_person(person, provider, name, started_on, actor)
    known = person

    def build() -> Employment:
        someone = known or Practitioner(
            name=name, id_digest=digest, id_tail=pii.id_tail(id_number), is_demo=provider.is_demo
        )
        return Employment(
            practitioner=someone, provider_id=provider.id, title=title, started_on=started_on
        )

    def recheck() -> None:
        again = db.session.scalar(select(Practitioner).where(Practitioner.id_digest == digest))
        if again is not None:
            _known_person(again, provider, name, started_on, actor)

    employment = _add_guarded(
        build, "id_number", "该人员刚刚被登记,请刷新后核对。", recheck=recheck
    )
    person = employment.practitioner
    audit.record(
        "practitioner.register",
        actor=actor,
        of=person,
        after={
            **_person_facts(person),
            "provider": provider.uscc,
            "title": title,
            "started_on": started_on.isoformat(),
        },
    )
    return employment


def _certificate_fields(data: dict) -> dict[str, Any]:
    """The certificate form checked: a listed type, a number, issuer and validity."""
    typed = _text(data, "kind", "证书类型", 100)
    kind = certificate_types.canonical(typed)
    if kind is None:
        raise RegistryError("kind", f"证书类型“{typed}”不在证书类型列表中,请从列表中选择。")
    number = _text(data, "number", "证书编号", 100)
    key = certificate_key(number)
    fields = {
        "kind": kind,
        "number": number,
        "number_key": key,
        "issuer": _text(data, "issuer", "发证机关", 200),
        "valid_from": form_date(data, "valid_from", "有效期起"),
        "valid_to": form_date(data, "valid_to", "有效期止"),
    }
    if fields["valid_from"] > fields["valid_to"]:
        raise RegistryError("valid_to", "有效期止不能早于有效期起。")
    return fields


def _check_certificate_free(
    person: Practitioner, provider: Provider, fields: dict, actor: User
) -> PractitionerCertificate | None:
    """A certificate number belongs to one person: the same person's again, another person's
    (refused; 挂证嫌疑 when that person works at another entered provider now). Returns a
    holding registration that gives way to this entered provider (only an applicant ever
    employed its holder): the caller voids it with conflicts.displace_certificate; or the
    person's own withdrawn certificate, kept as history by conflicts.retire_withdrawn."""
    held = db.session.scalar(
        select(PractitionerCertificate).where(
            PractitionerCertificate.kind == fields["kind"],
            PractitionerCertificate.number_key == fields["number_key"],
            PractitionerCertificate.voided.is_(False),  # a voided row holds no number
        )
    )
    if held is None:
        return None
    if held.practitioner_id == person.id and held.withdrawn_on is not None:
        return held  # the person's own withdrawn certificate: kept as history, added again
    if held.practitioner_id == person.id:
        raise RegistryError("number", "该人员已登记过这张证书。")
    current = held.practitioner.current_employment
    if (
        current is not None
        and current.provider_id != provider.id
        and conflicts.entered(current.provider)
    ):
        _refuse_hung(provider, actor, held, current.provider)
    if conflicts.entered(provider) and not conflicts.vouched(held.practitioner):
        return held
    raise RegistryError("number", "该证书编号已登记在其他人员名下,请核对证书类型和编号。")


def make_room(person: Practitioner, provider: Provider, fields: dict, actor: User) -> None:
    """Check a certificate number before it is added (or renewed to): refused when 政务办 voided
    it for this provider or it is held (_check_certificate_free); an applicant's registration
    of it is voided, the person's own withdrawn one kept as history with its key moved aside."""
    conflicts.refuse_voided_certificate(provider, fields, actor)
    held = _check_certificate_free(person, provider, fields, actor)
    if held is not None and held.practitioner_id == person.id:
        conflicts.retire_withdrawn(held, actor)
    elif held is not None:
        conflicts.displace_certificate(held, provider, actor)


def add_certificate(
    provider: Provider,
    practitioner_id: int,
    data: dict,
    *,
    actor: User,
    scan: FileStorage | None = None,
) -> PractitionerCertificate:
    """Add a certificate from the controlled list to one of provider's current staff
    (optionally with a scan through the uploads service)."""
    check_own(provider, actor)
    person = own_practitioner(provider, practitioner_id)
    fields = _certificate_fields(data)
    make_room(person, provider, fields, actor)
    # The scan is stored last, once the row is in: a refused or raced attempt stores no upload.
    certificate = _add_guarded(
        lambda: PractitionerCertificate(practitioner=person, **fields),
        "number",
        "该证书编号刚刚被登记,请刷新后核对。",
        recheck=lambda: _check_certificate_free(person, provider, fields, actor),
        then=lambda built: _attach_scan(built, scan, actor),
    )
    history.record_certificate(certificate, actor)
    audit.record(
        "practitioner.certificate_add",
        actor=actor,
        of=certificate,
        after={
            **_person_facts(person),
            "provider": provider.uscc,
            "kind": certificate.kind,
            "number": pii.mask_number(certificate.number),
            "valid_to": certificate.valid_to.isoformat(),
        },
    )
    return certificate


def end_employment(
    provider: Provider, employment_id: int, data: dict, *, actor: User
) -> Employment:
    """End one of provider's open employments on `ended_on` (the first day the person no longer
    works there; today if not given): the person may then be registered by another provider."""
    check_own(provider, actor)
    employment = own_employment(provider, employment_id)
    if employment.ended_on is not None:
        raise RegistryError(None, "该人员已办理离职。")
    ended_on = data.get("ended_on") or clock.today()
    if not isinstance(ended_on, date):
        raise RegistryError("ended_on", "请填写离职日期(格式 YYYY-MM-DD)。")
    if ended_on > clock.today():
        raise RegistryError("ended_on", "离职日期不能晚于今天。")
    # No backdating: a departure dated before today could fall before a selection deadline that
    # has passed, and the draw judges each quote's team as of its deadline day (only 政务办's
    # void, conflicts.py, ends a registration on an earlier day).
    if ended_on < clock.today():
        raise RegistryError("ended_on", "离职日期不能早于今天:离职须当日登记,不能补登过去的日期。")
    if ended_on < employment.started_on:
        raise RegistryError("ended_on", f"离职日期不能早于入职日期 {employment.started_on}。")
    closed_today = _deadline_passed_today(employment)
    if closed_today is not None:
        raise RegistryError(
            "ended_on",
            f"该人员列名于选取 {closed_today} 的报价中,该选取今日已截止报名,"
            "按截止日核对人员;请于明日再登记离职。",
        )
    close_employment(
        employment,
        ended_on,
        actor=actor,
        action="practitioner.employment_end",
        after={
            **_person_facts(employment.practitioner),
            "provider": provider.uscc,
            "ended_on": ended_on.isoformat(),
        },
    )
    return employment


def _deadline_passed_today(employment: Employment) -> str | None:
    """The ref of an open selection whose deadline passed earlier today and whose quote by the
    employment's provider names the person, if any: a departure dated today would count on that
    deadline day and change the draw's candidates after the deadline."""
    now = clock.now()
    today_start = datetime.combine(clock.today(), time.min, tzinfo=clock.ZONE)
    return db.session.scalar(
        select(SelectionRequest.ref)
        .join(Quote, Quote.request_id == SelectionRequest.id)
        .join(QuoteMember, QuoteMember.quote_id == Quote.id)
        .where(
            QuoteMember.practitioner_id == employment.practitioner_id,
            Quote.provider_id == employment.provider_id,
            SelectionRequest.status == RequestStatus.OPEN.value,
            SelectionRequest.deadline <= now,
            SelectionRequest.deadline >= today_start,
        )
        .order_by(SelectionRequest.ref)
        .limit(1)
    )
