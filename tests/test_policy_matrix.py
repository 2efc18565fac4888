"""The role × endpoint authorization matrix, built by walking app.url_map so new routes are covered."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEntry, User
from registry.policy import PUBLIC, require
from tests.conftest import csrf_from, make_app

ROLES = ["anonymous", "admin", "regulator", "enterprise", "provider", "staff", "practitioner"]
ALL = set(ROLES)
SIGNED_IN = ALL - {"anonymous"}

# Who may use each endpoint — written out independently of registry.policy, so a change to the
# policy table that nobody meant shows up here. A route missing from this table fails the test.
EXPECTED: dict[str, set[str]] = {
    "static": ALL,
    "public.index": ALL,
    "public.sitemap": ALL,
    "public.sitemap_xml": ALL,
    "public.robots_txt": ALL,
    "public.favicon": ALL,
    "catalogue.list_services": ALL,
    "catalogue.show_service": ALL,
    "catalogue.list_approval_items": ALL,
    "catalogue.show_approval_item": ALL,
    "catalogue.list_departments": ALL,
    "auth.login": ALL,
    "auth.logout": SIGNED_IN,
    "auth.account": SIGNED_IN,
    "pending.show_pending": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.register": ALL,
    "auth.confirm_email": ALL,
    "auth.unconfirmed": SIGNED_IN,
    "auth.resend_confirmation": SIGNED_IN,
    "auth.forgot_password": ALL,
    "auth.reset_password": ALL,
    "colleagues.manage_colleagues": {"enterprise"},
    "public.guide": ALL,
    "api.list_services": ALL,
    "api.show_service": ALL,
    "api.list_approval_items": ALL,
    "api.show_approval_item": ALL,
    "api.list_departments": ALL,
    "api.openapi": ALL,
    "api.index": ALL,
    "deadlines.show_dashboard": {"admin", "staff"},
    "stats.show_stats": ALL,
    "stats.export_csv": ALL,
    "deadlines.list_notifications": SIGNED_IN,
    "deadlines.mark_notifications_read": SIGNED_IN,
    "deadlines.notification_settings": SIGNED_IN,
    "api.show_project_roadmap": {"enterprise", "staff", "admin"},
    "roadmaps.show_roadmap": {"admin", "enterprise", "staff"},
    "roadmaps.show_checklist": {"admin", "enterprise", "staff"},
    "roadmaps.record_progress": {"admin", "enterprise", "staff"},
    "roadmaps.set_options": {"admin", "enterprise", "staff"},
    "roadmaps.edit_project": {"admin", "enterprise", "staff"},
    "roadmaps.assign_staff": {"admin", "staff"},
    "roadmaps.list_projects": {"admin", "staff"},
    "roadmaps.new_project_for_enterprise": {"admin", "staff"},
    "api.search": ALL,
    "search.search_page": ALL,
    "market.my_projects": {"enterprise"},
    "market.new_project": {"enterprise"},
    "market.show_project": {"enterprise"},
    "market.new_request": {"enterprise"},
    "market.manage_request": {"enterprise"},
    "market.decide_request": {"enterprise"},
    "market.cancel_request": {"enterprise"},
    "market.repost_request": {"enterprise"},
    "market.opportunities": {"provider"},
    "practitioners.list_practitioners": {"provider"},
    "practitioners.new_practitioner": {"provider"},
    "practitioners.add_certificate": {"provider"},
    "practitioners.end_employment": {"provider"},
    "practitioners.certificate_scan": {"provider"},
    "practitioners.renew_certificate": {"provider"},
    "practitioners.correct_certificate": {"provider"},
    "practitioners.withdraw_certificate": {"provider"},
    "people.list_practitioners": ALL,
    "people.show_practitioner": ALL,
    "people.unmasked_practitioner": {"admin", "staff", "regulator", "provider"},
    "people.void_employment": {"admin", "staff"},
    "people.void_certificate": {"admin", "staff"},
    "people.unlink_account": {"admin", "staff"},
    "people.lift_void": {"admin", "staff"},
    "people.list_conflicts": {"admin", "staff", "regulator"},
    "person.show_person": {"practitioner"},
    "person.invite_account": {"provider"},
    "person.office_invite_account": {"admin", "staff"},
    "api.list_practitioners": ALL,
    "api.show_practitioner": ALL,
    "market.quote": {"provider"},
    "market.list_requests": ALL,
    "market.show_request": ALL,
    "market.list_awards": ALL,
    "market.show_award": ALL,
    "market.verify_award": ALL,
    "market.object_award": {"enterprise", "provider"},
    "market.award_objections": {"admin", "staff"},
    "market.answer_award_objection": {"admin", "staff"},
    "api.list_awards": ALL,
    "api.show_award": ALL,
    "providers.list_providers": ALL,
    "providers.show_provider": ALL,
    "providers.my_provider": {"provider"},
    "providers.edit_application": {"provider"},
    "providers.add_qualification": {"provider"},
    "providers.remove_qualification": {"provider"},
    "providers.own_scan": {"provider"},
    "providers.create_offer": {"provider"},
    "providers.edit_offer": {"provider"},
    "providers.deactivate_offer": {"provider"},
    "providers.submit_application": {"provider"},
    "api.list_providers": ALL,
    "api.show_provider": ALL,
    "engagements.list_engagements": {"enterprise"},
    "engagements.show_engagement": {"enterprise"},
    "engagements.record_contract": {"enterprise"},
    "engagements.return_result": {"enterprise"},
    "engagements.confirm_result": {"enterprise"},
    "engagements.rate_engagement": {"enterprise"},
    "engagements.list_work": {"provider"},
    "engagements.show_work": {"provider"},
    "engagements.submit_result": {"provider"},
    "engagements.download_result": {"enterprise", "provider", "admin"},
    "engagements.list_provider_ratings": ALL,
    "credit.list_notices": ALL,
    "credit.show_notice": ALL,
    "credit.notices_feed": ALL,
    "credit.export_csv": ALL,
    "credit.export_xlsx": ALL,
    "credit.regulator_records": {"regulator"},
    "credit.new_record": {"regulator"},
    "credit.manage_record": {"regulator"},
    "credit.edit_record": {"regulator"},
    "credit.publish_record": {"regulator"},
    "credit.revise_record": {"regulator"},
    "credit.revoke_record": {"regulator"},
    "credit.discard_record": {"regulator"},
    "credit.regulator_objections": {"regulator"},
    "credit.answer_objection": {"regulator"},
    "credit.my_records": {"provider"},
    "credit.object_record": {"provider"},
    "credit.objection_file": {"provider", "regulator", "practitioner"},
    "credit.my_person_records": {"practitioner"},
    "credit.object_person_record": {"practitioner"},
    "api.list_notices": ALL,
    "api.show_notice": ALL,
    "evaluations.list_periods": {"regulator"},
    "evaluations.open_period": {"regulator"},
    "evaluations.show_period": {"regulator"},
    "evaluations.submit_drafts": {"regulator"},
    "evaluations.close_period": {"regulator"},
    "evaluations.publish_period": {"regulator"},
    "evaluations.enter_score": {"regulator"},
    "evaluations.score_history": {"regulator"},
    "evaluations.download_template": {"regulator"},
    "evaluations.upload_scores": {"regulator"},
    "grades.list_behaviour": {"regulator"},
    "grades.new_behaviour": {"regulator"},
    "grades.department_grades": ALL,
    "mail.list_outbox": {"admin"},
    "mail.show_mail": {"admin"},
    "mail.resend_mail": {"admin"},
    # /metrics also checks the caller's network (the test client is 127.0.0.1).
    "health.healthz": ALL,
    "health.metrics": ALL,
}
ADMIN_ONLY_PREFIX = "admin."

SAMPLE_ARGS = {
    "ref": {
        "market.manage_request": "XQ-2026-000001",
        "market.decide_request": "XQ-2026-000001",
        "market.cancel_request": "XQ-2026-000001",
        "market.repost_request": "XQ-2026-000001",
        "market.quote": "XQ-2026-000001",
        "market.show_request": "XQ-2026-000001",
    },
    "award_id": {
        "market.show_award": 1,
        "market.verify_award": 1,
        "market.object_award": 1,
        "api.show_award": 1,
    },
    "code": {
        "market.show_project": "2026-0000",
        "market.new_request": "2026-0000",
        "catalogue.show_service": "ZJ-03",
        "api.show_service": "ZJ-03",
        "admin.edit_service": "ZJ-03",
        "admin.retire_service": "ZJ-03",
        "catalogue.show_approval_item": "SP-05",
        "api.show_approval_item": "SP-05",
        "admin.edit_approval_item": "SP-05",
        "admin.retire_approval_item": "SP-05",
        "admin.edit_department": "STHJ",
        "admin.retire_department": "STHJ",
        "admin.reinstate_department": "STHJ",
        "grades.department_grades": "STHJ",
        "api.show_project_roadmap": "2026-0000",
        "roadmaps.show_roadmap": "2026-0000",
        "roadmaps.show_checklist": "2026-0000",
        "roadmaps.record_progress": "2026-0000",
        "roadmaps.set_options": "2026-0000",
        "roadmaps.edit_project": "2026-0000",
        "roadmaps.assign_staff": "2026-0000",
    },
    "slug": {
        "admin.roadmap_templates.show_template": "private",
        "admin.roadmap_templates.create_step": "private",
        "admin.roadmap_templates.edit_step": "private",
        "admin.roadmap_templates.delete_step": "private",
    },
    "key": {
        "admin.roadmap_templates.edit_step": "SP-05",
        "admin.roadmap_templates.delete_step": "SP-05",
        "roadmaps.record_progress": "SP-15",
        "roadmaps.set_options": "SP-15",
    },
    "filename": {"static": "css/site.css"},
    "name": {"stats.export_csv": "requests-by-method"},
    "uscc": {
        "providers.show_provider": "91120116MA05JQ1X2Y",
        "api.show_provider": "91120116MA05JQ1X2Y",
        "engagements.list_provider_ratings": "91120116MA05JQ1X2Y",
        "evaluations.enter_score": "91120116MA05JQ1X2Y",
        "evaluations.score_history": "91120116MA05JQ1X2Y",
    },
    "qualification_id": {
        "providers.remove_qualification": 1,
        "providers.own_scan": 1,
        "admin.providers.download_scan": 1,
        "admin.providers.check_qualification": 1,
    },
    "offer_id": {"providers.edit_offer": 1, "providers.deactivate_offer": 1},
    "practitioner_id": {
        "practitioners.add_certificate": 1,
        "people.show_practitioner": 1,
        "people.unmasked_practitioner": 1,
        "people.void_employment": 1,
        "people.void_certificate": 1,
        "people.unlink_account": 1,
        "people.lift_void": 1,
        "person.invite_account": 1,
        "person.office_invite_account": 1,
        "api.show_practitioner": 1,
    },
    "employment_id": {"practitioners.end_employment": 1, "people.void_employment": 1},
    "void_id": {"people.lift_void": 1},
    "certificate_id": {
        "practitioners.certificate_scan": 1,
        "practitioners.renew_certificate": 1,
        "practitioners.correct_certificate": 1,
        "practitioners.withdraw_certificate": 1,
        "people.void_certificate": 1,
    },
    "provider_id": {
        "admin.providers.review_provider": 1,
        "admin.providers.approve_provider": 1,
        "admin.providers.return_provider": 1,
        "admin.providers.download_scan": 1,
        "admin.providers.check_qualification": 1,
    },
    "verb": {"admin.toggle_user": "enable"},
    "verdict": {"admin.providers.check_qualification": "accept"},
    "engagement_id": {
        "engagements.show_engagement": 1,
        "engagements.record_contract": 1,
        "engagements.return_result": 1,
        "engagements.confirm_result": 1,
        "engagements.rate_engagement": 1,
        "engagements.show_work": 1,
        "engagements.submit_result": 1,
        "engagements.download_result": 1,
    },
    "rating_id": {"admin.ratings.hide_rating": 1},
    "year": {"admin.calendar.edit_year": 2027, "admin.calendar.remove_year": 2027},
    "number": {
        "credit.show_notice": "XY-2026-000001",
        "credit.manage_record": "XY-2026-000001",
        "credit.edit_record": "XY-2026-000001",
        "credit.publish_record": "XY-2026-000001",
        "credit.revise_record": "XY-2026-000001",
        "credit.revoke_record": "XY-2026-000001",
        "credit.discard_record": "XY-2026-000001",
        "credit.object_record": "XY-2026-000001",
        "credit.object_person_record": "XY-2026-000001",
        "api.show_notice": "XY-2026-000001",
    },
    "objection_id": {
        "credit.answer_objection": 1,
        "credit.objection_file": 1,
        "market.answer_award_objection": 1,
    },
    "upload_id": {"credit.objection_file": 1},
    "period_id": {
        "evaluations.show_period": 1,
        "evaluations.submit_drafts": 1,
        "evaluations.close_period": 1,
        "evaluations.publish_period": 1,
        "evaluations.enter_score": 1,
        "evaluations.score_history": 1,
        "evaluations.download_template": 1,
        "evaluations.upload_scores": 1,
    },
    "fmt": {"evaluations.download_template": "csv"},
    "token": {"auth.confirm_email": "x" * 43, "auth.reset_password": "x" * 43},
    "mail_id": {"mail.show_mail": 1, "mail.resend_mail": 1},
}


def expected_roles(endpoint: str) -> set[str]:
    if endpoint.startswith(ADMIN_ONLY_PREFIX):
        return {"admin"}
    assert endpoint in EXPECTED, f"new endpoint {endpoint}: add it to the authorization matrix"
    return EXPECTED[endpoint]


def build_url(app, rule, user_ids) -> str:
    values = {}
    for arg in rule.arguments - set(rule.defaults or {}):  # a default is the rule's own
        if arg == "user_id":
            # A reset of the provider's password would end its session mid-walk: the admin's
            # own account instead (refused with a message, nothing changed).
            own = rule.endpoint == "admin.reset_user_password"
            values[arg] = user_ids["admin" if own else "provider"]
        else:
            values[arg] = SAMPLE_ARGS[arg][rule.endpoint]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _client_of(role, app, make_user, login):
    """A client signed in as role (anonymous: not signed in), and every role's user id (the
    routes that take a user act on the provider's account)."""
    user_ids, client = {}, app.test_client()
    for other in ROLES[1:]:
        user = make_user(other)
        user_ids[other] = user.id
        if other == role:
            assert login(user, on=client).status_code == 302
    return client, user_ids


def _token(client) -> str:
    return csrf_from(client.get("/login", follow_redirects=True).get_data(as_text=True))


# One test per role (each on its own database), so the walk's ~2,000 requests spread over the
# test processes instead of keeping one busy after the others have finished.
@pytest.mark.parametrize("role", ROLES)
def test_policy_matrix_every_route_every_role(role, app, make_user, login):
    client, user_ids = _client_of(role, app, make_user, login)
    checked = 0
    # Logging out ends the session, so it goes last.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "auth.logout")
    for rule in rules:
        allowed = expected_roles(rule.endpoint)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = build_url(app, rule, user_ids)
            if method == "GET":
                response = client.get(url)
            else:
                response = client.open(url, method=method, data={"csrf_token": _token(client)})
            location = response.headers.get("Location", "")
            refused = response.status_code in (401, 403) or (
                response.status_code == 302 and "/login" in location
            )
            response.close()  # static files are streamed
            where = f"{method} {url} as {role}: {response.status_code} {location}"
            if role in allowed:
                assert not refused, f"should be allowed — {where}"
                assert response.status_code < 500, where
            else:
                assert refused, f"should be refused — {where}"
            checked += 1
    assert checked > 150


def test_policy_denied_attempts_are_audited(app, make_user, login):
    user = make_user("provider")
    client = app.test_client()
    login(user, on=client)
    assert client.get("/admin/audit").status_code == 403
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "access.denied")
        ).one()
        assert entry.outcome == "denied"
        assert entry.actor_id == user.id
        assert entry.object_id == "admin.audit_log"


def test_policy_undeclared_endpoint_is_refused(database_url, tmp_path, make_user):
    app = make_app(database_url, tmp_path)
    extra = Blueprint("extra", __name__)

    @extra.get("/undeclared")
    def undeclared():
        return "should never be seen"

    @extra.get("/declared")
    @require(PUBLIC)
    def declared():
        return "fine"

    app.register_blueprint(extra)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    response = client.get("/undeclared")
    assert response.status_code == 403
    assert "should never be seen" not in response.get_data(as_text=True)
    assert client.get("/declared").get_data(as_text=True) == "fine"
    with app.app_context():
        assert db.session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "access.denied")
        ).endswith("undeclared endpoint extra.undeclared")
        db.session.remove()
        db.engine.dispose()


def test_policy_unknown_action_cannot_be_declared():
    with pytest.raises(ValueError, match="unknown action"):
        require("catalogue.destroy_everything")


def test_policy_disabled_user_cannot_act(app, make_user, login):
    admin = make_user("admin")
    client = app.test_client()
    login(admin, on=client)
    with app.app_context():
        db.session.get(User, admin.id).is_enabled = False
        db.session.commit()
    assert client.get("/admin/").status_code == 302
