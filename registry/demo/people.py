"""The demo firms' practitioners (从业人员, 示例): every demo provider gets a few invented people
holding certificates from the controlled list that fit the items it offers, and its offers
commit key personnel accordingly; the demo provider's firm registers its own people through the
roster services and has one 挂证 attempt refused (a behaviour event 挂证嫌疑, audited); the
environment department's demo regulator publishes one record against a person (通报批评).

ID numbers are well formed (GB 11643 check character) but obviously fictitious: region 999999
does not exist and every birth date is 1900-01-01. Certificate numbers start with 示例. Dates are
laid out from the seeding day: one certificate ran out a few days ago (check-deadlines flags it)
and one runs out in a few weeks. Added once: nothing is added when demo practitioners exist.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from registry.demo import credit as demo_credit
from registry.extensions import db
from registry.models import (
    CreditKind,
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    User,
)
from registry.pure import pii
from registry.pure.workdays import on_or_before_workday
from registry.services import credit, practitioners
from registry.services.errors import RegistryError
from registry.services.practitioners import certificate_types, history
from registry.services.providers import personnel

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
GIVEN = [
    "建国",
    "丽华",
    "志强",
    "晓明",
    "海燕",
    "文博",
    "俊杰",
    "雪梅",
    "国平",
    "秀英",
    "立新",
    "春燕",
]
ISSUER = "示例发证机关"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643
# The demo firm (by position among the active demo firms offering ZJ-03, as demo/credit.py
# picks them) whose 环评 engineer's certificate the demo provider's firm tries to register,
# and the one whose engineer the department records against.
HUNG_FIRM, RECORDED_FIRM = 1, 2
RECORD_DAYS_AGO = 10
RECORD = {
    "kind": CreditKind.CRITICISM.value,
    "title": "环评文件编制主持人未尽职责通报批评(示例)",
    "facts": "该从业人员作为编制主持人的一份环境影响报告表存在数据引用错误、结论依据不足等问题,"
    "予以通报批评。" + demo_credit.NOTE,
    "basis": "《建设项目环境影响报告书(表)编制监督管理办法》(示例引用)",
}


def demo_id_number(serial: int) -> str:
    """A fictitious resident ID number the roster accepts (region 999999, born 1900-01-01)."""
    body = f"99999919000101{serial:03d}"
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def _name(serial: int) -> str:
    return SURNAMES[serial % len(SURNAMES)] + GIVEN[(serial * 5) % len(GIVEN)]


def _plan(provider: Provider) -> list[list[str]]:
    """The certificate types of each person of the firm: one holder per type fitting its offers
    (two of the first), and a second person without a certificate when nothing fits."""
    kinds = certificate_types.for_services([o.service_item.code for o in provider.offers])
    if not kinds:
        return [[], []]
    return [[kinds[0]], [kinds[0]], *([kind] for kind in kinds[1:])]


def _validity(serial: int, today: date, *, expired: bool, expiring: bool) -> tuple[date, date]:
    """Certificates issued a few years back; most valid for years yet."""
    valid_from = today - timedelta(days=700 + serial * 11 % 500)
    if expired:
        return valid_from, today - timedelta(days=3)
    if expiring:
        return valid_from, today + timedelta(days=20)
    return valid_from, today + timedelta(days=400 + serial * 37 % 900)


def seed_demo_people(today: date) -> dict[str, int]:
    """Add the demo practitioners once (none when demo practitioners exist), commit the offers'
    key personnel, the refused 挂证 attempt and the person-level record; returns counts."""
    counts = {"practitioners": 0, "hung_refused": 0, "person_records": 0}
    if db.session.scalar(select(Practitioner.id).where(Practitioner.is_demo.is_(True)).limit(1)):
        return counts
    providers = db.session.scalars(
        select(Provider).where(Provider.is_demo.is_(True)).order_by(Provider.uscc)
    ).all()
    serial = 0
    for number, provider in enumerate(providers):
        account = db.session.get(User, provider.account_id) if provider.account_id else None
        for index, kinds in enumerate(_plan(provider)):
            serial += 1
            dates = _validity(
                serial,
                today,
                expired=number == 3 and index == 0,
                expiring=account is not None and index == 1,
            )
            _enrol(provider, account, serial, kinds, dates, today)
        db.session.flush()
        _commit_personnel(provider, today)
    counts["hung_refused"] = _hung_attempt(serial + 1, today)
    counts["person_records"] = _person_record(today)
    counts["practitioners"] = len(
        db.session.scalars(select(Practitioner.id).where(Practitioner.is_demo.is_(True))).all()
    )
    return counts


def _enrol(provider, account, serial, kinds, dates, today) -> None:
    """One person on the firm's roster with its certificates: through the roster services when
    the firm has an account (the demo provider's), else as rows like the demo's other firm data."""
    name, id_number = _name(serial), demo_id_number(serial)
    started = today - timedelta(days=400 + serial * 3)
    title = "项目负责人" if kinds else "技术负责人"
    certificates = [
        {
            "kind": kind,
            "number": f"示例{_type_code(kind)}{serial:04d}",
            "issuer": ISSUER,
            "valid_from": dates[0],
            "valid_to": dates[1],
        }
        for kind in kinds
    ]
    if account is not None:
        data = {"name": name, "id_number": id_number, "title": title, "started_on": started}
        employment = practitioners.register_practitioner(provider, data, actor=account)
        for fields in certificates:
            practitioners.add_certificate(
                provider, employment.practitioner_id, fields, actor=account
            )
        return
    person = Practitioner(
        name=name,
        id_digest=practitioners.digest_of(id_number),
        id_tail=pii.id_tail(id_number),
        is_demo=True,
    )
    person.employments.append(Employment(provider_id=provider.id, title=title, started_on=started))
    for fields in certificates:
        person.certificates.append(
            PractitionerCertificate(number_key=pii.number_key(fields["number"]), **fields)
        )
    db.session.add(person)
    for certificate in person.certificates:
        history.record_certificate(certificate, None)


def _type_code(kind: str) -> str:
    """The list's code of a certificate type (CT-01), for the demo's certificate numbers."""
    return next(t.code for t in certificate_types.all_types() if t.name == kind)


def _commit_personnel(provider: Provider, today: date) -> None:
    """Each offer commits one holder of every fitting type the firm has valid today."""
    strength = practitioners.strength(provider, today)
    for offer in provider.offers:
        fitting = certificate_types.for_services([offer.service_item.code])
        wanted = [(kind, 1) for kind in fitting if strength.get(kind)]
        personnel.apply_personnel(offer, personnel.checked_personnel(provider, wanted, today))


def _engineer(firm: int) -> Practitioner | None:
    """The first 环评 engineer of the firm-th active demo firm offering ZJ-03."""
    provider = demo_credit.firm_offering("ZJ-03", firm)
    if provider is None:
        return None
    return next(
        (
            e.practitioner
            for e in practitioners.current_staff(provider)
            if any(c.kind == "环境影响评价工程师" for c in e.practitioner.certificates)
        ),
        None,
    )


def _hung_attempt(serial: int, today: date) -> int:
    """The demo provider's firm registers a new person and tries to add the certificate of
    another firm's 环评 engineer: refused by the roster service, which records 挂证嫌疑."""
    account = db.session.scalar(select(User).where(User.username == "demo-provider"))
    if account is None:
        return 0
    provider = db.session.scalar(select(Provider).where(Provider.account_id == account.id))
    holder = _engineer(HUNG_FIRM)
    if provider is None or holder is None:
        return 0
    held = next(c for c in holder.certificates if c.kind == "环境影响评价工程师")
    data = {
        "name": _name(serial),
        "id_number": demo_id_number(serial),
        "title": "工程师",
        "started_on": today - timedelta(days=30),
    }
    employment = practitioners.register_practitioner(provider, data, actor=account)
    fields = {
        "kind": held.kind,
        "number": held.number,
        "issuer": ISSUER,
        "valid_from": held.valid_from,
        "valid_to": held.valid_to,
    }
    try:
        practitioners.add_certificate(provider, employment.practitioner_id, fields, actor=account)
    except RegistryError:
        return 1
    return 0


def _person_record(today: date) -> int:
    """A 通报批评 against a demo firm's 环评 engineer by the environment department's demo
    regulator, published RECORD_DAYS_AGO days before the seeding day (still in its 公示期)."""
    regulator = db.session.scalar(select(User).where(User.username == "demo-regulator-sthj"))
    person = _engineer(RECORDED_FIRM)
    if regulator is None or person is None:
        return 0
    firm = person.current_employment.provider
    day = on_or_before_workday(today - timedelta(days=RECORD_DAYS_AGO))
    with demo_credit.on_day(day, 10, today):
        draft = credit.draft_record(
            regulator, provider_uscc=firm.uscc, practitioner_id=person.id, **RECORD
        )
        credit.publish_record(regulator, draft.number)
    return 1
