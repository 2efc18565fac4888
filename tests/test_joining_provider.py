"""A provider that joins by itself hears of work: it registers and confirms its address, applies
with its qualification and offer, is approved (and told so), and when an enterprise publishes a
request for the service it offers, the worker's pass mails it — a real .eml file it can open."""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.cli import DAILY_JOBS
from registry.extensions import db
from registry.models import Provider, User
from registry.services import accounts, jobs, market, providers
from registry.services.errors import RegistryError
from tests import factories
from tests.conftest import post_form
from tests.test_providers import application
from tests.test_registration import _confirm_link, register

ADDRESS = "bid@qingyuan-huanke.cn"


def _mails(app) -> list[email.message.EmailMessage]:
    with app.app_context():
        jobs.Worker(DAILY_JOBS, node="test").run_pass()
        folder = Path(app.config["MAIL_DIR"])
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def _body(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def test_a_registered_provider_is_approved_and_mailed_a_new_request(app, client, make_user):
    code = factories.uscc()
    name = "天津清源环科技术有限公司"
    registered = register(
        client, role="provider", org_uscc=code, org_name=name, email=ADDRESS, username="qingyuan"
    )
    assert registered.status_code == 302
    assert "请确认您的注册邮箱" in _mails(app)[-1]["Subject"]
    confirmed = post_form(client, _confirm_link(app, ADDRESS))
    assert confirmed.status_code == 302
    # Its application page comes pre-filled with the name and code it registered.
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert name in page
    assert code in page

    with app.app_context():
        account = db.session.scalar(select(User).where(User.username == "qingyuan"))
        admin = accounts.create_user(
            username="review-admin",
            password=accounts.generate_password(),
            role="admin",
            actor_name="test",
        )
        db.session.commit()
        # Another firm's code than the one registered (and confirmed) is refused.
        other = factories.uscc()
        with pytest.raises(RegistryError, match=f"须与注册账户时填写的一致.{code}"):
            providers.create_application(application(uscc=other, name=name), actor=account)
        db.session.rollback()
        provider = providers.create_application(application(uscc=code, name=name), actor=account)
        db.session.commit()
        with pytest.raises(RegistryError, match="须与注册账户时填写的一致"):
            providers.update_application(
                provider, application(uscc=other, name=name), actor=account
            )
        db.session.rollback()
        provider = db.session.scalar(select(Provider).where(Provider.uscc == code))
        providers.add_qualification(
            provider,
            {
                "kind": "工程咨询单位资信",
                "grade": "甲级",
                "certificate_no": "GZ-2026-0931",
                "issuer": "中国工程咨询协会",
                "valid_from": date(2024, 1, 1),
                "valid_to": market.today() + timedelta(days=365),
            },
            actor=account,
        )
        providers.save_offer(
            provider,
            {"service_item": "ZJ-03", "committed_days": 20, "fee_quote": "30000"},
            actor=account,
        )
        providers.submit_for_review(provider, actor=account, today=market.today())
        providers.approve(provider, actor=admin, today=market.today())
        db.session.commit()
    approved = _mails(app)[-1]
    assert approved["To"] == ADDRESS
    assert "入驻通过" in approved["Subject"]

    # An enterprise publishes a request for ZJ-03: the provider's mail says so and where to quote.
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        ref = market.open_request(
            db.session.get(User, owner.id),
            project.code,
            service_code="ZJ-03",
            method="竞价选取",
            deadline=factories.later(),
        ).ref
        db.session.commit()
        assert db.session.scalar(select(Provider.status).where(Provider.uscc == code)) == "已入驻"
    news = [m for m in _mails(app) if m["To"] == ADDRESS and "新的选取需求" in m["Subject"]]
    assert len(news) == 1
    assert ref in _body(news[0])
    assert f"/my/requests/{ref}/quote" in _body(news[0])
    # Nothing is sent twice: another pass writes no new file for it.
    again = [m for m in _mails(app) if m["To"] == ADDRESS and "新的选取需求" in m["Subject"]]
    assert len(again) == 1
