"""The web layer's one unit of work: one commit, refusals answered and audited in one place, stale
edits and domain errors shown to the user, nothing half-stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import get_flashed_messages
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from registry.extensions import db
from registry.models import AuditEntry, CreditRecord, User
from registry.models.catalogue import Department, ServiceItem
from registry.services import credit
from registry.services.errors import Forbidden, RegistryError
from registry.web.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import post_form

WEB = Path(__file__).resolve().parents[1] / "registry" / "web"


def _audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def _answer(call):
    """What the unit of work answered with when it ended the request early."""
    with pytest.raises(HTTPException) as raised:
        call()
    return raised.value.get_response()


def test_unit_of_work_web_commits_in_one_place():
    """Views never commit or roll back themselves: the unit of work does it for them."""
    commits = {
        path.name: len(re.findall(r"db\.session\.commit\(\)", path.read_text(encoding="utf-8")))
        for path in WEB.rglob("*.py")
    }
    assert {name: count for name, count in commits.items() if count} == {"unit_of_work.py": 1}


def test_unit_of_work_a_stale_edit_is_flashed_and_nothing_is_stored(app):
    with app.test_request_context("/admin/departments", method="POST"):
        work = UnitOfWork(stale="本次操作未生效:请刷新页面。")

        def stale():
            db.session.add(Department(code="TEST-X", name="测试部门"))
            db.session.flush()
            raise StaleDataError("the row changed meanwhile")

        response = _answer(lambda: work.act(stale, back="/admin/departments"))
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/departments"
        assert get_flashed_messages(with_categories=True) == [
            ("error", "本次操作未生效:请刷新页面。")
        ]
        assert db.session.scalar(select(Department).where(Department.code == "TEST-X")) is None


def test_unit_of_work_a_forbidden_object_answers_404_and_is_audited(app):
    with app.test_request_context("/my/provider/offers/1/edit", method="POST"):
        work = UnitOfWork("provider.denied")

        def forbidden():
            db.session.add(Department(code="TEST-Y", name="测试部门"))
            raise Forbidden("该服务承诺不属于本机构")

        assert _answer(lambda: work.run(forbidden)).status_code == 404
        assert _audit_count("provider.denied") == 1
        assert db.session.scalar(select(Department).where(Department.code == "TEST-Y")) is None


def test_unit_of_work_keeps_what_a_refused_attempt_wrote_only_when_asked(app):
    with app.test_request_context("/login", method="POST"):
        work = UnitOfWork()

        def refused(code):
            def call():
                db.session.add(Department(code=code, name="测试部门"))
                raise RegistryError(None, "用户名或密码错误。")

            return call

        assert work.run(refused("TEST-DROPPED")).error.message == "用户名或密码错误。"
        assert not work.run(refused("TEST-KEPT"), keep=True)
        codes = db.session.scalars(select(Department.code).where(Department.code.like("TEST-%")))
        assert set(codes) == {"TEST-KEPT"}


def test_unit_of_work_publishing_about_a_provider_no_longer_supervised_is_refused_and_audited(
    app, make_user, login
):
    """The department stopped supervising the provider between draft and publication (its item
    moved to another department): the regulator is told why, nothing is published, and the
    attempt is in the audit log like any other reach outside the department."""
    regulator = make_user("regulator", department="STHJ")
    with app.app_context():
        provider = factories.active_provider(["ZJ-03"], name="天津清源环境科技有限公司")
        db.session.commit()
        number = credit.draft_record(
            db.session.get(User, regulator.id),
            provider_uscc=provider.uscc,
            kind="警示通报",
            title="未按规定编制环评报告",
            facts="报告存在数据错误。",
            basis="管理办法第二十六条",
        ).number
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        item.department = db.session.scalar(select(Department).where(Department.code == "SW"))
        db.session.commit()
    client = app.test_client()
    login(regulator, on=client)
    response = post_form(client, f"/regulator/credit/{number}/publish", follow_redirects=True)
    assert response.status_code == 200
    assert "天津清源环境科技有限公司已不在本部门监管范围内" in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        assert stored.status == "草稿"
        assert stored.published_at is None
        denied = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "credit.denied")
        ).all()
        assert [(e.actor_id, e.outcome) for e in denied] == [(regulator.id, "denied")]


def test_unit_of_work_a_user_without_a_scope_sees_the_reason(app, make_user, login):
    """A regulator account without a department and a provider account without a firm open
    their dashboards: the page says why, in Chinese, instead of a 500 or an empty list."""
    regulator, provider = make_user("regulator"), make_user("provider")
    with app.app_context():
        db.session.get(User, regulator.id).department_id = None
        db.session.commit()
    client = app.test_client()
    login(regulator, on=client)
    page = client.get("/regulator/credit")
    assert page.status_code == 200
    assert "您的账号未关联监管部门,请联系管理员" in page.get_data(as_text=True)
    other = app.test_client()
    login(provider, on=other)
    page = other.get("/my/opportunities")
    assert page.status_code == 200
    assert "您的账号尚未登记中介机构信息,请先申请入驻" in page.get_data(as_text=True)
