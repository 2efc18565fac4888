"""The daily delivery reminder: a contract not signed as its last day nears and after it passed,
a service due date near and past; each person is told once per deadline, however often it runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry.kernel import clock
from registry.services import delivery
from tests.test_notify import _act, _inbox, _mails, _me, awarded_engagement

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

LEAD = 3


def _check(app) -> dict[str, int]:
    return _act(app, lambda: delivery.check_engagement_deadlines(clock.today(), LEAD))


def _reminders(app, user):
    return [
        (kind, link) for topic, kind, _m, link in _inbox(app, user) if kind[-2:] in {"临近", "逾期"}
    ]


def test_contract_and_service_deadlines_remind_both_parties_once(app, make_user):
    owner, winner, _loser, eid = awarded_engagement(app, make_user)
    with app.app_context():
        last_day = delivery.contract_deadline(delivery.get_engagement_for(_me(owner), eid))
    # Five working days to sign: nothing on the award day; on the last day, a reminder, once.
    assert _check(app)["contract"] == 0
    clock.freeze(clock.at(last_day))
    assert _check(app)["contract"] == 1
    _check(app)
    assert _reminders(app, winner) == [("签约临近", f"/my/work/{eid}")]
    assert _reminders(app, owner) == [("签约临近", f"/my/engagements/{eid}")]
    assert last_day.isoformat() in _inbox(app, owner)[-1][2]
    # The day after the last day: 签约逾期, again once.
    clock.freeze(clock.at(last_day + timedelta(days=1)))
    _check(app)
    _check(app)
    assert [k for k, _ in _reminders(app, winner)] == ["签约临近", "签约逾期"]
    assert [m[0] for m in _mails(app, winner)].count("engagement") == 2

    # Signed today with the committed days: nothing until the due date nears, then once.
    today = clock.today()
    _act(app, lambda: delivery.record_contract(_me(owner), eid, today, on=today))
    with app.app_context():
        due = delivery.get_engagement_for(_me(owner), eid).due_date
    assert _check(app)["service"] == 0
    clock.freeze(clock.at(due))
    _check(app)
    clock.freeze(clock.at(due + timedelta(days=2)))
    _check(app)
    _check(app)
    kinds = [k for k, _ in _reminders(app, owner)]
    assert kinds == ["签约临近", "签约逾期", "服务期限临近", "服务期限逾期"]
    assert f"已于 {due:%Y-%m-%d} 届满" in _inbox(app, winner)[-1][2]
