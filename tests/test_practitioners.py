"""Practitioners (从业人员, issue 17): registering people and certificates, the 挂证 refusal and its
behaviour event, ending an employment, who counts on a day, the daily expiry check, and personal
information kept to the digest and the last four characters of the ID number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    BehaviourEvent,
    Employment,
    Notification,
    Practitioner,
    PractitionerCertificate,
    Provider,
    Upload,
    User,
)
from registry.pure import pii
from registry.services import notify, practitioners
from tests.conftest import post_form as post_raw
from tests.factories import active_provider

ROSTER = "/my/provider/practitioners"
NEW = "/my/provider/practitioners/new"
EIA = "环境影响评价工程师"


def id_number(serial: int) -> str:
    """A well-formed resident ID number (GB 11643 check character) for serial."""
    body = f"12011619800101{serial:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


ZHANG = id_number(11)
LI = id_number(12)


# ---------------------------------------------------------------- pure rules (not per database)


def test_practitioners_mask_name():
    assert pii.mask_name("张三明") == "张*明"
    assert pii.mask_name("欧阳小明") == "欧**明"
    assert pii.mask_name("张三") == "张*"
    assert pii.mask_name("张") == "张"
    assert pii.mask_name("") == ""


def test_practitioners_mask_number():
    assert pii.mask_number("A1234567890") == "A1*******90"
    assert pii.mask_number("12345") == "***45"  # short: at most the last two shown
    assert pii.mask_number("1234") == "****"


def test_practitioners_number_key_and_id_digest():
    assert pii.number_key(" hp-0012 ３４ ") == "HP001234"
    assert pii.valid_id_number(ZHANG)
    assert pii.valid_id_number(ZHANG.lower())
    assert not pii.valid_id_number(ZHANG[:-1] + ("1" if ZHANG[-1] != "1" else "2"))
    assert not pii.valid_id_number("12345")
    digest = pii.id_digest(ZHANG, b"k1")
    assert digest == pii.id_digest(f" {ZHANG.lower()} ", b"k1")
    assert digest != pii.id_digest(ZHANG, b"k2")
    assert ZHANG not in digest
    assert len(digest) == 64
    assert pii.id_tail(ZHANG) == ZHANG[-4:]


# ---------------------------------------------------------------- helpers


def _providers(app, make_user, count: int = 2):
    """count active providers offering ZJ-03, each with its own signed-up account."""
    users = [make_user("provider") for _ in range(count)]
    with app.app_context():
        ids = [active_provider(("ZJ-03",), account=db.session.get(User, u.id)).id for u in users]
        db.session.commit()
    return users, ids


def _person(name: str, number: str, started=None) -> dict:
    started = started or clock.today() - timedelta(days=30)
    return {
        "name": name,
        "id_number": number,
        "title": "技术负责人",
        "started_on": started,
    }


def _certificate(number: str = "HP 0012-34", valid_to=None, kind: str = EIA) -> dict:
    return {
        "kind": kind,
        "number": number,
        "issuer": "生态环境部",
        "valid_from": clock.today() - timedelta(days=400),
        "valid_to": valid_to or clock.today() + timedelta(days=400),
    }


def post_form(client, url: str, data: dict | None = None, **kwargs):
    """POST the form with its dates written as the browser sends them."""
    written = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in (data or {}).items()}
    return post_raw(client, url, written, **kwargs)


def _signed_in(app, login, user):
    """A client of its own, signed in as user."""
    client = app.test_client()
    assert login(user, on=client).status_code == 302
    return client


def _person_id(app, number: str) -> int:
    with app.app_context():
        return practitioners.find_by_id_number(number).id


def _events(app, provider_id: int) -> list[BehaviourEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(BehaviourEvent).where(BehaviourEvent.provider_id == provider_id)
        ).all()
        db.session.expunge_all()
        return rows


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _register_with_certificate(app, client, name, number, cert="HP 0012-34"):
    """Register the person and give them a certificate as client's provider; the pages' texts."""
    pages = [post_form(client, NEW, _person(name, number), follow_redirects=True)]
    person_id = _person_id(app, number)
    url = f"{ROSTER}/{person_id}/certificates/new"
    pages.append(client.get(url))
    pages.append(post_form(client, url, _certificate(cert), follow_redirects=True))
    return person_id, [p.get_data(as_text=True) for p in pages]


# ---------------------------------------------------------------- registering


def test_practitioners_register_with_certificate(app, login, make_user):
    (user,), (provider_id,) = _providers(app, make_user, 1)
    client = _signed_in(app, login, user)
    person_id, pages = _register_with_certificate(app, client, "张三明", ZHANG)
    assert "已登记从业人员 张三明" in pages[0]
    assert "已为 张三明 添加环境影响评价工程师证书" in pages[2]
    roster = client.get(ROSTER).get_data(as_text=True)
    assert "张三明" in roster
    assert f"末四位 {ZHANG[-4:]}" in roster
    assert "环境影响评价工程师:1 人" in roster
    for page in [*pages, roster]:
        assert ZHANG not in page
    with app.app_context():
        person = db.session.get(Practitioner, person_id)
        assert person.id_tail == ZHANG[-4:]
        assert person.id_digest != ZHANG
        assert person.current_employment.provider_id == provider_id
        (certificate,) = person.certificates
        assert (certificate.number, certificate.number_key) == ("HP 0012-34", "HP001234")
        provider = db.session.get(Provider, provider_id)
        assert [p.id for p in practitioners.valid_practitioners(provider, clock.today())] == [
            person_id
        ]
        # Nothing written anywhere holds the full number, the audit log included.
        logged = db.session.scalars(select(AuditEntry)).all()
        assert all(ZHANG not in str((e.before, e.after, e.detail)) for e in logged)


def test_practitioners_bad_id_number_and_unlisted_type_refused(app, login, make_user):
    (user,), _ = _providers(app, make_user, 1)
    client = _signed_in(app, login, user)
    bad = ZHANG[:-1] + ("1" if ZHANG[-1] != "1" else "2")
    page = post_form(client, NEW, _person("张三明", bad)).get_data(as_text=True)
    assert "身份证号格式或校验位不正确" in page
    assert bad not in page
    post_form(client, NEW, _person("张三明", ZHANG))
    url = f"{ROSTER}/{_person_id(app, ZHANG)}/certificates/new"
    page = post_form(client, url, _certificate(kind="高级工程师")).get_data(as_text=True)
    assert "不在证书类型列表中" in page
    assert _count(app, Practitioner) == 1
    assert _count(app, PractitionerCertificate) == 0


def test_practitioners_same_certificate_at_another_provider_refused(app, login, make_user):
    (first, second), (first_id, second_id) = _providers(app, make_user)
    _register_with_certificate(app, _signed_in(app, login, first), "张三明", ZHANG)
    client = _signed_in(app, login, second)
    post_form(client, NEW, _person("李四", LI))
    url = f"{ROSTER}/{_person_id(app, LI)}/certificates/new"
    uploads, audits = _count(app, Upload), _count(app, AuditEntry)
    # The same number typed another way (lower case, no space, full-width digits) is the same.
    response = post_form(client, url, _certificate("hp0012-３４"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已登记在其他中介机构在职人员名下" in page
    assert "挂证嫌疑" in page
    assert ZHANG not in page
    assert LI not in page
    (event,) = _events(app, second_id)
    assert event.kind == "挂证嫌疑"
    assert event.occurred_on == clock.today()
    assert "HP" in event.details["facts"]
    assert "0012-34" not in event.details["facts"]
    # Both firms are entered: the holder gets the event too, each naming the other.
    (held,) = _events(app, first_id)
    assert "两家均为已入驻机构" in event.details["facts"]
    assert "请核实" in held.details["facts"]
    # Nothing else: no certificate, no upload; the two events and their three audit entries.
    assert _count(app, PractitionerCertificate) == 1
    assert _count(app, Upload) == uploads
    assert _count(app, AuditEntry) == audits + 3
    # A second attempt the same day is refused again and recorded once.
    post_form(client, url, _certificate("HP001234"))
    assert len(_events(app, second_id)) == 1


def test_practitioners_same_person_employed_elsewhere_refused(app, login, make_user):
    (first, second), (first_id, second_id) = _providers(app, make_user)
    _register_with_certificate(app, _signed_in(app, login, first), "张三明", ZHANG)
    client = _signed_in(app, login, second)
    employments = _count(app, Employment)
    page = post_form(client, NEW, _person("张三明", ZHANG)).get_data(as_text=True)
    assert "无法以填写的姓名和身份证号在本机构登记该人员" in page  # names no firm
    assert ZHANG not in page
    assert _count(app, Employment) == employments
    (event,) = _events(app, second_id)
    assert event.kind == "挂证嫌疑"
    assert "张*明" in event.details["facts"]
    # The same ID with another name is a typing mistake, not a second person.
    page = post_form(client, NEW, _person("张山明", ZHANG)).get_data(as_text=True)
    assert "无法以填写的姓名和身份证号在本机构登记该人员" in page  # the same answer
    assert _count(app, Practitioner) == 1


def test_practitioners_end_employment_then_join_new_firm(app, login, make_user):
    (first, second), (first_id, second_id) = _providers(app, make_user)
    client = _signed_in(app, login, first)
    person_id, _ = _register_with_certificate(app, client, "张三明", ZHANG)
    with app.app_context():
        employment_id = db.session.get(Practitioner, person_id).current_employment.id
    today = clock.today()
    roster = client.get("/my/provider/practitioners").get_data(as_text=True)
    # The date is today's, said, not a date box that refuses every other day.
    assert f"离职日期为今天({today:%Y-%m-%d},离职须当日登记)" in roster
    assert 'name="ended_on"' not in roster
    page = post_form(
        client, f"/my/provider/employments/{employment_id}/end", {}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已为 张三明 办理离职登记" in page
    assert "已离职人员" in page
    client = _signed_in(app, login, second)
    page = post_form(
        client, NEW, _person("张三明", ZHANG, started=today), follow_redirects=True
    ).get_data(as_text=True)
    assert "已登记从业人员 张三明" in page
    assert _count(app, Practitioner) == 1  # the same person, found by the digest
    with app.app_context():
        person = db.session.get(Practitioner, person_id)
        assert person.current_employment.provider_id == second_id
        assert len(person.certificates) == 1  # the certificate follows the person
        first_provider, second_provider = (
            db.session.get(Provider, i) for i in (first_id, second_id)
        )
        assert practitioners.valid_practitioners(first_provider, today) == []
        assert [p.id for p in practitioners.valid_practitioners(second_provider, today)] == [
            person_id
        ]
        assert practitioners.strength(second_provider, today) == {EIA: 1}
    assert _events(app, second_id) == []


def test_practitioners_another_providers_person_answers_404(app, login, make_user):
    (first, second), _ = _providers(app, make_user)
    client = _signed_in(app, login, first)
    person_id, _ = _register_with_certificate(app, client, "张三明", ZHANG)
    with app.app_context():
        employment_id = db.session.get(Practitioner, person_id).current_employment.id
    client = _signed_in(app, login, second)
    assert client.get(f"{ROSTER}/{person_id}/certificates/new").status_code == 404
    response = post_form(client, f"/my/provider/employments/{employment_id}/end")
    assert response.status_code == 404
    with app.app_context():
        denied = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "practitioner.denied")
        ).all()
        assert len(denied) == 2
        assert db.session.get(Employment, employment_id).ended_on is None


# ---------------------------------------------------------------- validity and the daily check


def test_practitioners_expired_certificate_stops_counting(app, make_user):
    (user,), (provider_id,) = _providers(app, make_user, 1)
    today = clock.today()
    with app.app_context():
        actor = db.session.get(User, user.id)
        provider = db.session.get(Provider, provider_id)
        employment = practitioners.register_practitioner(
            provider, {**_person("张三明", ZHANG), "started_on": today}, actor=actor
        )
        data = {**_certificate(valid_to=today), "valid_from": today - timedelta(days=30)}
        data["valid_to"] = today
        practitioners.add_certificate(provider, employment.practitioner_id, data, actor=actor)
        assert len(practitioners.valid_practitioners(provider, today)) == 1
        assert len(practitioners.valid_practitioners(provider, today, kind=EIA)) == 1
        assert practitioners.valid_practitioners(provider, today, kind="注册测绘师") == []
        assert practitioners.valid_practitioners(provider, today + timedelta(days=1)) == []
        assert practitioners.strength(provider, today + timedelta(days=1)) == {}
        assert practitioners.valid_practitioners(provider, today - timedelta(days=1)) == []


def test_practitioners_check_deadlines_warns_before_expiry(app, runner, make_user):
    """A tester's finding (stop 29): a firm heard of an expiring qualification (a 资质过期
    deduction) or certificate only afterwards. Within EXPIRY_NOTICE_DAYS (30) of the last valid
    day its accounts are told once; later documents are not yet."""
    (user,), (provider_id,) = _providers(app, make_user, 1)
    today = clock.today()
    with app.app_context():
        actor = db.session.get(User, user.id)
        provider = db.session.get(Provider, provider_id)
        provider.qualifications[0].valid_to = today + timedelta(days=30)
        employment = practitioners.register_practitioner(
            provider, _person("张三明", ZHANG), actor=actor
        )
        data = {**_certificate(), "valid_from": today - timedelta(days=30)}
        data["valid_to"] = today + timedelta(days=31)  # one day beyond the notice
        practitioners.add_certificate(provider, employment.practitioner_id, data, actor=actor)
        db.session.commit()
    first = runner.invoke(args=["check-deadlines"])
    assert first.exit_code == 0, first.output
    assert "即将到期:30 日内到期提醒:资质 1 项、从业人员证书 0 项" in first.output
    tomorrow = (today + timedelta(days=1)).isoformat()
    second = runner.invoke(args=["check-deadlines", "--yes", "--date", tomorrow])
    assert "资质 0 项、从业人员证书 1 项" in second.output  # told once each
    with app.app_context():
        told = db.session.scalars(
            select(Notification.message).where(
                Notification.user_id == user.id, Notification.kind == "即将到期"
            )
        ).all()
    assert len(told) == 2
    assert any("资质(证书编号" in m and str(today + timedelta(days=30)) in m for m in told)
    assert any("张三明" in m and str(today + timedelta(days=31)) in m for m in told)
    # Under a topic whose name says both (it read 从业人员证书, stop 29's list).
    with app.app_context():
        topics = set(
            db.session.scalars(select(Notification.topic).where(Notification.user_id == user.id))
        )
    assert {notify.topic_label(t) for t in topics} == {"资质与证书到期"}


def test_practitioners_check_deadlines_flags_expiry(app, runner, make_user):
    (user,), (provider_id,) = _providers(app, make_user, 1)
    today = clock.today()
    with app.app_context():
        actor = db.session.get(User, user.id)
        provider = db.session.get(Provider, provider_id)
        employment = practitioners.register_practitioner(
            provider, _person("张三明", ZHANG), actor=actor
        )
        data = {**_certificate(), "valid_from": today - timedelta(days=30), "valid_to": today}
        practitioners.add_certificate(provider, employment.practitioner_id, data, actor=actor)
        db.session.commit()
    same_day = runner.invoke(args=["check-deadlines", "--yes", "--date", today.isoformat()])
    assert "从业人员证书有效期:新标记过期从业人员证书 0 项" in same_day.output
    day_after = (today + timedelta(days=1)).isoformat()
    first = runner.invoke(args=["check-deadlines", "--yes", "--date", day_after])
    assert first.exit_code == 0, first.output
    assert "新标记过期从业人员证书 1 项,通知机构 1 家" in first.output
    second = runner.invoke(args=["check-deadlines", "--yes", "--date", day_after])
    assert "新标记过期从业人员证书 0 项" in second.output
    with app.app_context():
        (certificate,) = db.session.scalars(select(PractitionerCertificate)).all()
        assert certificate.expired_flagged_at is not None
        (notice,) = db.session.scalars(
            select(Notification).where(Notification.kind == "人员证书过期")
        ).all()
        assert notice.user_id == user.id
        assert "张三明" in notice.message
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "practitioner.certificate_expired")
        ).all()
        assert len(actions) == 1


# ---------------------------------------------------------------- the database's own guards


def test_practitioners_one_open_employment_per_person_in_the_database(app, make_user):
    _, (first_id, second_id) = _providers(app, make_user)
    today = clock.today()
    with app.app_context():
        person = Practitioner(name="张三明", id_digest="d" * 64, id_tail="1234")
        db.session.add(person)
        db.session.flush()
        db.session.add(
            Employment(practitioner=person, provider_id=first_id, started_on=today, ended_on=today)
        )
        db.session.add(Employment(practitioner=person, provider_id=first_id, started_on=today))
        db.session.flush()  # one ended and one open: allowed
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(
                text(
                    "INSERT INTO employments (practitioner_id, provider_id, started_on, "
                    "created_at) VALUES (:p, :q, :d, CURRENT_TIMESTAMP)"
                ),
                {"p": person.id, "q": second_id, "d": today},
            )
        db.session.rollback()
