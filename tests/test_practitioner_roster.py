"""Keeping a provider's roster (issue 17): renewing a certificate (same number, new validity and
scan, the expiry flag reset), correcting a typo with the audit keeping both versions, withdrawing
(注销) a certificate (kept, marked, no longer counted, its number still taken: 挂证), and the
roster paged and filtered by certificate type."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Employment,
    PractitionerCertificate,
    Provider,
    Upload,
    User,
)
from registry.pure import pii
from registry.services import practitioners
from registry.services.errors import RegistryError
from registry.services.practitioners import certificates, roster
from tests.test_practitioners import (
    LI,
    ROSTER,
    ZHANG,
    _certificate,
    _count,
    _events,
    _person,
    _providers,
    _register_with_certificate,
    _signed_in,
    id_number,
    post_form,
)

COST = "注册造价工程师"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _certificate_of(app, person_id: int) -> PractitionerCertificate:
    with app.app_context():
        certificate = db.session.scalar(
            select(PractitionerCertificate).where(
                PractitionerCertificate.practitioner_id == person_id
            )
        )
        db.session.expunge_all()
        return certificate


def _valid_ids(app, provider_id: int) -> list[int]:
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        return [p.id for p in practitioners.valid_practitioners(provider, clock.today())]


def _entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        db.session.expunge_all()
        return rows


def _url(certificate_id: int, change: str) -> str:
    return f"{ROSTER}/certificates/{certificate_id}/{change}"


def test_practitioner_roster_renew_certificate(app, login, make_user, runner):
    (user,), (provider_id,) = _providers(app, make_user, 1)
    client = _signed_in(app, login, user)
    person_id, _ = _register_with_certificate(app, client, "张三明", ZHANG)
    certificate = _certificate_of(app, person_id)
    # It lapses: check-deadlines flags it and it stops counting.
    with app.app_context():
        db.session.get(PractitionerCertificate, certificate.id).valid_to = clock.today()
        db.session.commit()
    day_after = clock.today() + timedelta(days=1)
    assert (
        runner.invoke(args=["check-deadlines", "--yes", "--date", day_after.isoformat()]).exit_code
        == 0
    )
    clock.advance(timedelta(days=1))
    client = _signed_in(app, login, user)  # a day later: signed in again
    assert _valid_ids(app, provider_id) == []
    assert _certificate_of(app, person_id).expired_flagged_at is not None
    url = _url(certificate.id, "renew")
    assert "证书续期" in client.get(url).get_data(as_text=True)
    new_term = {"valid_from": clock.today(), "valid_to": clock.today() + timedelta(days=1095)}
    old_end = clock.today() - timedelta(days=1)
    short = {"valid_from": old_end - timedelta(days=9), "valid_to": old_end}
    assert "续期后的有效期止须晚于原有效期止" in post_form(client, url, short).get_data(
        as_text=True
    )
    scan = (io.BytesIO(PDF), "续期.pdf")
    done = post_form(
        client, url, {**new_term, "number": "hp 001234", "scan": scan}, follow_redirects=True
    )
    assert "已为 张三明 的环境影响评价工程师证书续期" in done.get_data(as_text=True)
    renewed = _certificate_of(app, person_id)
    assert renewed.id == certificate.id
    assert renewed.valid_to == new_term["valid_to"]
    assert renewed.expired_flagged_at is None
    assert renewed.scan_id is not None
    assert _valid_ids(app, provider_id) == [person_id]
    (entry,) = _entries(app, "practitioner.certificate_renew")
    assert entry.before["valid_to"] == (clock.today() - timedelta(days=1)).isoformat()
    assert entry.after["valid_to"] == new_term["valid_to"].isoformat()
    # The number masked in the log.
    assert entry.after["number"] == pii.mask_number(renewed.number)
    assert renewed.number not in str(entry.after)


def test_practitioner_roster_renew_with_a_number_held_elsewhere_is_hung(app, login, make_user):
    (first, second), (_first_id, second_id) = _providers(app, make_user)
    _register_with_certificate(app, _signed_in(app, login, first), "张三明", ZHANG)
    client = _signed_in(app, login, second)
    person_id, _ = _register_with_certificate(app, client, "李四", LI, cert="HP-9999")
    url = _url(_certificate_of(app, person_id).id, "renew")
    later = {"valid_from": clock.today(), "valid_to": clock.today() + timedelta(days=2000)}
    page = post_form(client, url, {**later, "number": "HP0012-34"}).get_data(as_text=True)
    assert "已登记在其他中介机构在职人员名下" in page
    assert [e.kind for e in _events(app, second_id)] == ["挂证嫌疑"]
    assert _certificate_of(app, person_id).number == "HP-9999"


def test_practitioner_roster_renew_refuses_a_number_meant_to_look_new(app, login, make_user):
    (user,), _ = _providers(app, make_user, 1)
    client = _signed_in(app, login, user)
    person_id, _ = _register_with_certificate(app, client, "张三明", ZHANG)
    before = _certificate_of(app, person_id)
    url = _url(before.id, "renew")
    later = {"valid_from": clock.today(), "valid_to": clock.today() + timedelta(days=2000)}
    for number, message in [("HP0012-35\u200b", "不可见字符"), ("H-1", "至少应包含 4 位")]:
        page = post_form(client, url, {**later, "number": number}).get_data(as_text=True)
        assert message in page, number
    after = _certificate_of(app, person_id)
    assert (after.number, after.valid_to) == (before.number, before.valid_to)


def test_practitioner_roster_correct_certificate(app, login, make_user):
    (user,), _ = _providers(app, make_user, 1)
    client = _signed_in(app, login, user)
    person_id, _ = _register_with_certificate(app, client, "张三明", ZHANG)
    certificate = _certificate_of(app, person_id)
    url = _url(certificate.id, "correct")
    form = client.get(url).get_data(as_text=True)
    assert 'value="生态环境部"' in form
    same = {
        "issuer": certificate.issuer,
        "valid_from": certificate.valid_from,
        "valid_to": certificate.valid_to,
        "note": "核对",
    }
    assert "没有需要更正的内容" in post_form(client, url, same).get_data(as_text=True)
    fixed = {**same, "issuer": "中华人民共和国生态环境部", "note": "发证机关录入有误"}
    done = post_form(client, url, fixed, follow_redirects=True).get_data(as_text=True)
    assert "已更正 张三明 的环境影响评价工程师证书信息" in done
    assert _certificate_of(app, person_id).issuer == "中华人民共和国生态环境部"
    (entry,) = _entries(app, "practitioner.certificate_correct")
    assert entry.before["issuer"] == "生态环境部"
    assert entry.after["issuer"] == "中华人民共和国生态环境部"
    assert entry.detail == "发证机关录入有误"


def test_practitioner_roster_withdraw_certificate(app, login, make_user, client):
    (first, second), (first_id, second_id) = _providers(app, make_user)
    owner = _signed_in(app, login, first)
    person_id, _ = _register_with_certificate(app, owner, "张三明", ZHANG)
    certificate = _certificate_of(app, person_id)
    url = _url(certificate.id, "withdraw")
    assert "请填写注销原因" in post_form(owner, url, {"reason": ""}).get_data(as_text=True)
    done = post_form(owner, url, {"reason": "注册机关注销"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "已注销 张三明 的环境影响评价工程师证书" in page
    assert "已注销" in page
    assert "注册机关注销" in page
    kept = _certificate_of(app, person_id)
    assert (kept.withdrawn_on, kept.withdrawn_reason) == (clock.today(), "注册机关注销")
    assert _count(app, PractitionerCertificate) == 1
    assert _valid_ids(app, first_id) == []
    assert "环境影响评价工程师:1 人" not in page
    assert len(_entries(app, "practitioner.certificate_withdraw")) == 1
    # No more changes to it.
    later = {"valid_from": clock.today(), "valid_to": clock.today() + timedelta(days=2000)}
    renew = post_form(owner, _url(certificate.id, "renew"), later).get_data(as_text=True)
    assert "该证书已注销" in renew
    # The public person page marks it withdrawn.
    public = client.get(f"/practitioners/{person_id}").get_data(as_text=True)
    assert "已注销" in public
    # Its number stays taken: another provider's person cannot register it (挂证 check).
    other = _signed_in(app, login, second)
    other_id, pages = _register_with_certificate(app, other, "李四", LI)
    assert "已登记在其他中介机构在职人员名下" in pages[2]
    assert [e.kind for e in _events(app, second_id)] == ["挂证嫌疑"]
    assert _certificate_of(app, other_id) is None


def test_practitioner_roster_other_providers_certificate_answers_404(app, login, make_user):
    (first, second), _ = _providers(app, make_user)
    person_id, _ = _register_with_certificate(app, _signed_in(app, login, first), "张三明", ZHANG)
    certificate_id = _certificate_of(app, person_id).id
    other = _signed_in(app, login, second)
    for change in ("renew", "correct", "withdraw"):
        assert other.get(_url(certificate_id, change)).status_code == 404
    assert post_form(other, _url(certificate_id, "withdraw"), {"reason": "x"}).status_code == 404
    assert _certificate_of(app, person_id).withdrawn_on is None


def test_practitioner_roster_paged_and_filtered_by_certificate_type(app, login, make_user):
    (user,), (provider_id,) = _providers(app, make_user, 1)
    with app.app_context():
        actor = db.session.get(User, user.id)
        provider = db.session.get(Provider, provider_id)
        names = ["甲一明", "乙二明", "丙三明", "丁四明", "戊五明"]
        for serial, name in enumerate(names, start=21):
            employment = practitioners.register_practitioner(
                provider, _person(name, id_number(serial)), actor=actor
            )
            kind = "环境影响评价工程师" if serial % 2 else COST
            practitioners.add_certificate(
                provider,
                employment.practitioner_id,
                _certificate(f"N-{serial:04d}", kind=kind),
                actor=actor,
            )
        db.session.commit()
    client = _signed_in(app, login, user)
    first = client.get(f"{ROSTER}?per_page=2").get_data(as_text=True)
    assert "在职人员 <strong>5</strong> 人" in first
    assert "第 1 / 3 页" in first
    third = client.get(f"{ROSTER}?per_page=2&page=3").get_data(as_text=True)
    shown = [n for n in names if n in third]
    assert len(shown) == 1
    only = client.get(f"{ROSTER}?certificate={COST}").get_data(as_text=True)
    assert "在职人员 <strong>2</strong> 人" in only
    assert f"持有{COST}证书" in only
    bogus = client.get(f"{ROSTER}?certificate=高级工程师").get_data(as_text=True)
    assert "在职人员 <strong>5</strong> 人" in bogus


def test_practitioner_roster_renew_race_records_hung_and_stores_no_scan(
    app, login, make_user, monkeypatch
):
    """Both renewals passed the check (the race): the loser's unique-index error runs the check
    again, which records the 挂证 attempt, and its scan is not stored (review 2)."""
    (first, second), (_first_id, second_id) = _providers(app, make_user)
    _register_with_certificate(app, _signed_in(app, login, first), "张三明", ZHANG)
    client = _signed_in(app, login, second)
    person_id, _ = _register_with_certificate(app, client, "李四", LI, cert="HP-9999")
    certificate_id = _certificate_of(app, person_id).id
    real, calls = certificates._check_certificate_free, []

    def racing(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(certificates, "_check_certificate_free", racing)
    monkeypatch.setattr(roster, "_check_certificate_free", racing)
    uploads = _count(app, Upload)
    with app.app_context():
        scan = FileStorage(io.BytesIO(PDF), filename="scan.pdf", content_type="application/pdf")
        later = {"valid_from": clock.today(), "valid_to": clock.today() + timedelta(days=2000)}
        with pytest.raises(RegistryError, match="同一证书不能在两家机构同时执业"):
            practitioners.renew_certificate(
                db.session.get(Provider, second_id),
                certificate_id,
                {**later, "number": "HP0012-34"},
                actor=db.session.get(User, second.id),
                scan=scan,
            )
        db.session.commit()  # keep=True, as the view does
    assert len(calls) == 2
    assert [e.kind for e in _events(app, second_id)] == ["挂证嫌疑"]
    assert _count(app, Upload) == uploads
    assert _certificate_of(app, person_id).number == "HP-9999"


def test_practitioner_roster_departure_cannot_be_backdated(app, login, make_user):
    """A provider records a departure on the day: an earlier ended_on could fall before a
    selection deadline that has passed and change the draw's candidates (review 2)."""
    (first,), (first_id,) = _providers(app, make_user, 1)
    person_id, _ = _register_with_certificate(app, _signed_in(app, login, first), "张三明", ZHANG)
    with app.app_context():
        employment = db.session.scalar(
            select(Employment).where(Employment.practitioner_id == person_id)
        )
        employment.started_on = clock.today() - timedelta(days=30)
        db.session.commit()
        provider, actor = db.session.get(Provider, first_id), db.session.get(User, first.id)
        with pytest.raises(RegistryError, match="离职日期不能早于今天"):
            practitioners.end_employment(
                provider,
                employment.id,
                {"ended_on": clock.today() - timedelta(days=1)},
                actor=actor,
            )
        practitioners.end_employment(
            provider, employment.id, {"ended_on": clock.today()}, actor=actor
        )
        db.session.commit()
        assert employment.ended_on == clock.today()
