"""`registry seed --demo` builds a living, clearly marked marketplace, once."""

from __future__ import annotations

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Award, OwnerRating, Project, Provider, SelectionRequest
from registry.services import grades, market


def test_demo_market_is_believable_marked_and_idempotent(app, runner):
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert "示例市场数据:中介机构 32 家" in first.output
    with app.app_context():
        providers = db.session.scalars(select(Provider)).all()
        assert len(providers) >= 30
        assert all(p.is_demo and p.name.endswith("(示例)") for p in providers)
        offered = {o.service_item.code for p in providers for o in p.offers}
        assert len(offered) >= 20  # across the catalogue
        awards = db.session.scalars(select(Award)).all()
        assert len(awards) >= 5
        for award in awards:
            assert award.is_demo
            if award.seed:  # every draw re-runs to the published winner
                check = market.verify_award(award)
                assert check["winner_matches"], (award.id, check)
        assert db.session.scalar(select(func.count(OwnerRating.id))) >= 1
        # Grades come from the rules (demo regulators published a period), none are invented.
        graded = [p for p in providers if p.grade]
        assert graded
        for provider in graded:
            assert grades.compute(provider.id, market.today()).grade == provider.grade
        assert db.session.scalar(select(func.count(Project.id))) == 4
        open_requests = db.session.scalar(
            select(func.count(SelectionRequest.id)).where(SelectionRequest.status == "报名中")
        )
        assert open_requests >= 1
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0
    assert "示例市场数据" not in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Provider.id))) == len(providers)
