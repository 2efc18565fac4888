"""The draw pool is fixed at the deadline (issue 17, review 2): each quote's named team is judged
as of the request's deadline day, so nothing after the deadline changes the candidates or the
public seed. Otherwise a bidder who computed every subset's winner in advance could drop itself
(end its own leader's employment) to choose which other bidder wins, or the owner could wait for
a certificate to lapse."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import Employment, Provider, User
from registry.pure import selection_engine as engine
from registry.services import market, practitioners
from registry.services.errors import RegistryError
from tests.test_market_practitioners import EIA, _firms, _person, _quote


def _winner_without(ref: str, keys: list[str], deadline: str, key: str) -> str:
    """Who the public seed would draw were `key` not a candidate (anyone can compute it)."""
    rest = [k for k in keys if k != key]
    return engine.random_draw(rest, engine.draw_seed(ref, rest, deadline)).winner


def test_market_draw_pool_a_bidder_dropping_out_after_the_deadline_changes_nothing(app, make_user):
    firms = _firms(app, make_user, 4)
    with app.app_context():
        deadline_day = clock.today() + timedelta(days=3)
        leaders = []
        for number, pid in enumerate(firms["providers"]):
            provider = db.session.get(Provider, pid)
            # The first leader's certificate ends on the deadline day: an owner who waits for
            # it to lapse gains nothing.
            valid_to = deadline_day if number == 0 else None
            leaders.append(_person(provider, f"张{number}明", EIA, valid_to=valid_to))
        ref = market.open_request(
            db.session.get(User, firms["owner"].id),
            firms["project"],
            service_code="ZJ-03",
            method="随机抽取",
            deadline=clock.at(deadline_day, 15),
            leader_certificate=EIA,
        ).ref
        db.session.commit()
    for account, leader in zip(firms["accounts"], leaders, strict=True):
        _quote(app, account, ref, leader)
    with app.app_context():
        deadline = market.get_request(ref).deadline
    clock.freeze(deadline + timedelta(minutes=1))
    with app.app_context():
        plan = market.plan_decision(db.session.get(User, firms["owner"].id), ref)
        keys, winner, seed = plan.participants, plan.winner.uscc, plan.draw[1]
        deadline_text = plan.draw[0]["deadline"]
        uscc = {pid: db.session.get(Provider, pid).uscc for pid in firms["providers"]}
    assert len(keys) == 4
    # The reviewer's evidence: a bidder whose dropping out hands the draw to another (a loser
    # if there is one, else the winner itself).
    dropping = next(
        (k for k in keys if k != winner and _winner_without(ref, keys, deadline_text, k) != winner),
        winner,
    )
    assert _winner_without(ref, keys, deadline_text, dropping) != winner
    index = next(i for i, pid in enumerate(firms["providers"]) if uscc[pid] == dropping)
    with app.app_context():
        account = db.session.get(User, firms["accounts"][index].id)
        provider = db.session.get(Provider, firms["providers"][index])
        employment_id = db.session.scalar(
            select(Employment.id).where(Employment.practitioner_id == leaders[index])
        )
        # Later on the deadline day: a departure dated today would count on it, so it waits.
        with pytest.raises(RegistryError, match="今日已截止报名"):
            practitioners.end_employment(provider, employment_id, {}, actor=account)
        db.session.rollback()
    clock.freeze(deadline + timedelta(days=1))
    with app.app_context():
        account = db.session.get(User, firms["accounts"][index].id)
        provider = db.session.get(Provider, firms["providers"][index])
        # It cannot backdate the departure to the deadline day either.
        with pytest.raises(RegistryError, match="离职日期不能早于今天"):
            practitioners.end_employment(
                provider, employment_id, {"ended_on": deadline_day}, actor=account
            )
        db.session.rollback()
        # It ends its leader's employment the next day, as the reviewer did.
        practitioners.end_employment(provider, employment_id, {}, actor=account)
        db.session.commit()
    clock.freeze(deadline + timedelta(days=2))  # and the first leader's certificate has lapsed
    with app.app_context():
        award = market.decide(db.session.get(User, firms["owner"].id), ref).award
        db.session.commit()
        inputs = award.draw_inputs
        assert award.provider.uscc == winner
        assert award.seed == seed
        assert inputs["candidates"] == keys
        assert inputs["unstaffed"] == {}
        assert inputs["unstaffed_on"] == deadline_day.isoformat()
        check = market.verify_award(award)
        assert check["seed_matches"]
        assert check["winner_matches"]
        assert check["candidates_match"]
        award_id = award.id
    verify = app.test_client().get(f"/awards/{award_id}/verify").get_data(as_text=True)
    assert f"按报名截止日核对人员({deadline_day.isoformat()})" in verify


def test_market_draw_pool_old_awards_without_the_day_still_verify(app, make_user):
    """Awards made before the day judged was recorded have no `unstaffed_on`: they verify."""
    firms = _firms(app, make_user, 2)
    with app.app_context():
        ref = market.open_request(
            db.session.get(User, firms["owner"].id),
            firms["project"],
            service_code="ZJ-03",
            method="随机抽取",
            deadline=clock.at(clock.today() + timedelta(days=3), 15),
        ).ref
        db.session.commit()
    for account in firms["accounts"]:
        _quote(app, account, ref)
    with app.app_context():
        deadline = market.get_request(ref).deadline
    clock.freeze(deadline + timedelta(minutes=1))
    with app.app_context():
        award = market.decide(db.session.get(User, firms["owner"].id), ref).award
        db.session.commit()
        assert award.draw_inputs["unstaffed_on"] == clock.local_date(deadline).isoformat()
        recorded = {
            k: v for k, v in award.draw_inputs.items() if k not in {"unstaffed", "unstaffed_on"}
        }
        # Awards are append-only evidence: an old one is stood in for, not rewritten.
        old = SimpleNamespace(
            draw_inputs=recorded,
            seed=award.seed,
            provider=award.provider,
            algorithm=award.algorithm,
        )
        check = market.verify_award(old)
        assert check["seed_matches"]
        assert check["winner_matches"]
        assert check["candidates_match"]
        assert check["unstaffed_on"] is None
