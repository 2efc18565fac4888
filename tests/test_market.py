"""Selection requests, sealed quotes, decisions, award notices and their public verification."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from registry.extensions import db
from registry.kernel import clock
from registry.models import Award, Quote, RequestStatus, SelectionRequest, User
from registry.services import market
from registry.services.errors import NotFound, RegistryError
from tests import factories

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates


def _user(app, make_user, role):
    made = make_user(role)
    return made


def _setup(app, make_user, *, method="竞价选取", providers=3, **request_args):
    """An enterprise with a project, `providers` active providers with accounts, one open request."""
    owner = make_user("enterprise")
    accounts = [make_user("provider") for _ in range(providers)]
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        made = [factories.active_provider(account=db.session.get(User, a.id)) for a in accounts]
        request = market.open_request(
            user,
            project.code,
            service_code="ZJ-03",
            method=method,
            deadline=factories.later(),
            **request_args,
        )
        db.session.commit()
        return owner, accounts, [p.uscc for p in made], request.ref, project.code


def _quote(app, account, ref, amount=None, key=None, **kwargs):
    with app.app_context():
        quote = market.submit_quote(
            db.session.get(User, account.id),
            ref,
            amount=amount,
            submission_key=key or uuid.uuid4().hex,
            **kwargs,
        )
        db.session.commit()
        return quote.id


def _after_deadline(app, ref):
    """Move the clock a minute past the deadline (time travel for the decision)."""
    with app.app_context():
        deadline = market.get_request(ref).deadline
    clock.freeze(deadline + timedelta(minutes=1))


def test_market_lowest_price_takes_the_lowest_quote_and_the_notice_verifies(app, make_user):
    owner, accounts, codes, ref, _ = _setup(app, make_user)
    for account, amount in zip(accounts, ["52000", "48000.50", "61000"], strict=True):
        _quote(app, account, ref, amount)
    _after_deadline(app, ref)
    with app.app_context():
        decision = market.decide(db.session.get(User, owner.id), ref)
        db.session.commit()
        award = decision.award
        assert award.amount == Decimal("48000.50")
        assert award.provider.uscc == codes[1]
        assert award.request.status == RequestStatus.AWARDED.value
        check = market.verify_award(award)
        assert check["seed_matches"], check
        assert check["winner_matches"], check
        assert award.engagement.committed_days == 10


def test_market_random_draw_is_reproducible_from_the_stored_inputs(app, make_user):
    owner, accounts, codes, ref, _ = _setup(app, make_user, method="随机抽取", providers=4)
    for account in accounts:
        _quote(app, account, ref)
    _after_deadline(app, ref)
    with app.app_context():
        award = market.decide(db.session.get(User, owner.id), ref).award
        db.session.commit()
        assert award.draw_inputs["candidates"] == sorted(codes)
        from registry.pure import selection_engine as engine

        seed = engine.draw_seed(ref, sorted(codes), award.draw_inputs["deadline"])
        assert award.seed == seed
        assert award.provider.uscc == engine.draw(seed, sorted(codes))[0]
        assert market.verify_award(award)["winner_matches"]


def test_market_fewer_than_two_participants_fails_and_can_be_reposted(app, make_user):
    owner, accounts, _codes, ref, _ = _setup(app, make_user)
    _quote(app, accounts[0], ref, "50000")
    _after_deadline(app, ref)
    with app.app_context():
        user = db.session.get(User, owner.id)
        decision = market.decide(user, ref)
        db.session.commit()
        assert decision.award is None
        assert "不足 2 家" in decision.failure
        assert market.get_request(ref).status == RequestStatus.FAILED.value
        again = market.repost(user, ref, deadline=factories.later(24))
        db.session.commit()
        assert again.reposted_from_id == market.get_request(ref).id
        assert again.status == RequestStatus.OPEN.value


def test_market_quotes_are_sealed_until_the_deadline(app, make_user):
    owner, accounts, _codes, ref, _ = _setup(app, make_user)
    _quote(app, accounts[0], ref, "50000")
    _quote(app, accounts[1], ref, "40000")
    with app.app_context():
        request = market.get_request(ref)
        mine = market.quotes_visible_to(db.session.get(User, accounts[0].id), request)
        assert [q.amount for q in mine] == [Decimal("50000.00")]
        assert market.quotes_visible_to(db.session.get(User, owner.id), request) == []
    _after_deadline(app, ref)
    with app.app_context():
        request = market.get_request(ref)
        seen = market.quotes_visible_to(db.session.get(User, owner.id), request)
        assert sorted(q.amount for q in seen) == [Decimal("40000.00"), Decimal("50000.00")]
        # Another provider still sees only its own.
        theirs = market.quotes_visible_to(db.session.get(User, accounts[1].id), request)
        assert [q.amount for q in theirs] == [Decimal("40000.00")]


def test_market_a_double_submit_stores_one_quote_and_revisions_keep_history(app, make_user):
    _owner, accounts, _codes, ref, _ = _setup(app, make_user)
    first = _quote(app, accounts[0], ref, "50000", key="form-key-1")
    again = _quote(app, accounts[0], ref, "50000", key="form-key-1")
    assert first == again
    _quote(app, accounts[0], ref, "45000", key="form-key-2")
    with app.app_context():
        rows = db.session.scalars(select(Quote).order_by(Quote.revision)).all()
        assert [(q.revision, q.amount) for q in rows] == [
            (1, Decimal("50000.00")),
            (2, Decimal("45000.00")),
        ]
        request = market.get_request(ref)
        assert market.latest_quotes(request)[rows[0].provider_id].amount == Decimal("45000.00")


def test_market_quotes_and_awards_cannot_be_rewritten(app, make_user):
    _owner, accounts, _codes, ref, _ = _setup(app, make_user)
    quote_id = _quote(app, accounts[0], ref, "50000")
    with app.app_context():
        quote = db.session.get(Quote, quote_id)
        quote.amount = Decimal("1")
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(
                text("UPDATE quotes SET amount = 1 WHERE id = :id"), {"id": quote_id}
            )
        db.session.rollback()
        assert db.session.get(Quote, quote_id).amount == Decimal("50000.00")


def test_market_ineligible_providers_cannot_quote(app, make_user):
    owner = make_user("enterprise")
    expired, banned, outsider = (make_user("provider") for _ in range(3))
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        from datetime import date

        factories.active_provider(
            account=db.session.get(User, expired.id), valid_to=date(2020, 1, 1)
        )
        factories.active_provider(
            account=db.session.get(User, banned.id), blacklisted_until=date(2099, 1, 1)
        )
        factories.active_provider(["ZJ-04"], account=db.session.get(User, outsider.id))
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="随机抽取", deadline=factories.later()
        ).ref
        db.session.commit()
    for account in (expired, banned, outsider):
        with app.app_context(), pytest.raises(RegistryError, match="不符合"):
            market.submit_quote(
                db.session.get(User, account.id), ref, submission_key=uuid.uuid4().hex
            )


def test_market_an_enterprise_cannot_reach_another_enterprises_project(app, make_user):
    _owner, _accounts, _codes, ref, project_code = _setup(app, make_user)
    stranger = make_user("enterprise")
    with app.app_context():
        other = db.session.get(User, stranger.id)
        factories.enterprise_with_project(other)
        db.session.commit()
        with pytest.raises(NotFound):
            market.get_project_for(other, project_code)
        with pytest.raises(NotFound):
            market.get_request_for_owner(other, ref)
        with pytest.raises(NotFound):
            market.open_request(
                other,
                project_code,
                service_code="ZJ-03",
                method="随机抽取",
                deadline=factories.later(),
            )


@pytest.mark.concurrency
def test_market_two_concurrent_decisions_record_one_award(app, make_user, database_url):
    """Two owners' sessions deciding at once: exactly one award, the other a clear message."""
    import threading

    owner, accounts, _codes, ref, _ = _setup(app, make_user, method="随机抽取", providers=3)
    for account in accounts:
        _quote(app, account, ref)
    _after_deadline(app, ref)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def decide():
        barrier.wait(timeout=20)  # before any database access: on SQLite the first holds the lock
        with app.app_context():
            user = db.session.get(User, owner.id)
            try:
                market.decide(user, ref)
                db.session.commit()
                results.append("awarded")
            except RegistryError as error:
                db.session.rollback()
                results.append(error.message)
            except Exception as error:  # noqa: BLE001 - a database refusal is also "not twice"
                db.session.rollback()
                results.append(type(error).__name__)

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("awarded") == 1, results
    with app.app_context():
        assert db.session.scalar(select(func.count(Award.id))) == 1
        assert db.session.scalar(select(func.count(SelectionRequest.id))) == 1


def test_market_many_providers_quoting_at_once_lose_and_duplicate_nothing(app, make_user):
    """N providers × M forms each, every form posted four times by two racing threads: exactly
    N×M rows, revisions 1..M per provider, and no error shown to anyone."""
    import threading

    providers, rounds = 5, 3
    _owner, accounts, _codes, ref, _ = _setup(app, make_user, providers=providers)
    barrier = threading.Barrier(providers)
    errors: list[str] = []

    def submit(account):
        barrier.wait(timeout=20)
        for n in range(rounds):
            key = f"{account.username}-{n}"
            for _attempt in range(2):  # and each thread posts it twice
                with app.app_context():
                    try:
                        market.submit_quote(
                            db.session.get(User, account.id),
                            ref,
                            amount=str(40000 + n),
                            submission_key=key,
                        )
                        db.session.commit()
                    except Exception as error:  # noqa: BLE001 - collected and asserted
                        db.session.rollback()
                        errors.append(f"{type(error).__name__}: {error}")

    # Two threads per provider: each form is posted by both at once (double-clicks racing).
    barrier = threading.Barrier(providers * 2)
    threads = [threading.Thread(target=submit, args=(a,)) for a in accounts for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        rows = db.session.scalars(select(Quote)).all()
        assert len(rows) == providers * rounds
        by_provider: dict[int, list[int]] = {}
        for row in rows:
            by_provider.setdefault(row.provider_id, []).append(row.revision)
        assert all(sorted(r) == list(range(1, rounds + 1)) for r in by_provider.values())
        latest = market.latest_quotes(market.get_request(ref))
        assert {q.amount for q in latest.values()} == {Decimal(40000 + rounds - 1)}


def test_market_request_number_takes_the_year_of_publication_and_a_late_deadline_is_refused(
    app, make_user
):
    """Published on 28 December with a deadline in January: numbered in the year it was published
    (it took the deadline's year). A deadline past REQUEST_MAX_NOTICE_DAYS (a year typed wrong)
    is refused, naming the latest day."""
    owner = make_user("enterprise")
    year = clock.today().year
    clock.freeze(clock.at(date(year, 12, 28), 10))
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        january = market.open_request(
            user,
            project.code,
            service_code="ZJ-03",
            method="竞价选取",
            deadline=clock.at(date(year + 1, 1, 12), 17),
        )
        db.session.commit()
        assert january.ref.startswith(f"XQ-{year}-")
        latest = date(year, 12, 28) + timedelta(days=app.config["REQUEST_MAX_NOTICE_DAYS"])
        with pytest.raises(RegistryError, match=f"报名截止时间过晚:最晚可设为 {latest:%Y-%m-%d}"):
            market.open_request(
                user,
                project.code,
                service_code="ZJ-10",
                method="竞价选取",
                deadline=clock.at(latest + timedelta(days=1), 9),
            )
        db.session.rollback()
        assert market.open_request(
            user,
            project.code,
            service_code="ZJ-10",
            method="竞价选取",
            deadline=clock.at(latest, 17),
        ).ref.startswith(f"XQ-{year}-")
