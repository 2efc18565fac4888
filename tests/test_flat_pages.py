"""Pages that stay the same size whatever the size of the data (issue 15): a service page lists
its best providers and links to the directory for the rest; lists are paged."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Award,
    BehaviourKind,
    Provider,
    RequestStatus,
    SelectionMethod,
    SelectionRequest,
    ServiceItem,
    User,
)
from tests.factories import active_provider, enterprise_with_project, later
from tests.test_grades import event
from tests.test_roadmap_queries import _statements


def test_service_page_lists_the_best_twenty_providers_and_links_to_all(app, client):
    with app.app_context():
        names = [
            active_provider(name=f"天津排序测试{score}环境科技有限公司", credit_score=score).name
            for score in range(60, 82)
        ]
        db.session.commit()
    page = client.get("/services/ZJ-03").get_data(as_text=True)
    assert "共 22 家,按信用分列出前 20 家" in page
    assert "在中介机构名录中查看全部 22 家" in page
    assert names[-1] in page  # score 81 first
    assert page.index(names[-1]) < page.index(names[-2])
    assert names[0] not in page  # scores 60 and 61 are on the directory only
    assert names[1] not in page
    directory = client.get("/providers?service=ZJ-03&per_page=50").get_data(as_text=True)
    assert names[0] in directory


def _awards(app, make_user, count: int) -> None:
    """count awarded requests, each on its own enterprise's project (rows, as the demo makes)."""
    owners = [make_user("enterprise").id for _ in range(count)]
    with app.app_context():
        service = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        winner = active_provider()
        for owner in owners:
            user = db.session.get(User, owner)
            project = enterprise_with_project(user)
            request = SelectionRequest(
                ref=f"XQ-{uuid4().hex[:10]}",
                project=project,
                service_item=service,
                method=SelectionMethod.LOWEST_PRICE.value,
                deadline=later(-1),
                status=RequestStatus.AWARDED.value,
            )
            db.session.add(Award(request=request, provider=winner, method=request.method))
        db.session.commit()


@pytest.mark.parametrize("url", ["/awards", "/requests"])
def test_market_lists_read_a_constant_number_of_statements(app, client, make_user, url):
    _awards(app, make_user, 2)
    with _statements(app) as few:
        assert client.get(url).status_code == 200
    _awards(app, make_user, 12)
    with _statements(app) as many:
        page = client.get(url).get_data(as_text=True)
    assert "共 14 条" in page
    assert len(many) == len(few)


def test_provider_credit_detail_is_stored_with_the_grade_and_shown_from_it(app, client):
    with app.app_context():
        provider = active_provider(name="天津信用存储测试环境科技有限公司")
        db.session.commit()
        uscc, provider_id = provider.uscc, provider.id
        event(provider, BehaviourKind.LATE_CONTRACT.value, clock.today())
        db.session.commit()  # the hooks recompute the grade and store the detail
        stored = db.session.get(Provider, provider_id).credit_detail
    assert stored["result"]["on"] == clock.today().isoformat()
    assert [d["kind"] for d in stored["result"]["deductions"]] == ["逾期签约"]
    with app.app_context(), _statements(app) as seen:
        page = client.get(f"/providers/{uscc}").get_data(as_text=True)
    assert "逾期签约" in page
    assert not any("behaviour_events" in statement for statement in seen)  # read, not recomputed


def test_provider_credit_detail_from_another_day_is_computed_afresh(app, client, frozen_clock):
    with app.app_context():
        provider = active_provider()
        event(provider, BehaviourKind.LATE_CONTRACT.value, clock.today())
        db.session.commit()
        uscc = provider.uscc
    frozen_clock.advance(timedelta(days=1))  # the daily job has not run yet
    with _statements(app) as seen:
        page = client.get(f"/providers/{uscc}").get_data(as_text=True)
    assert "逾期签约" in page
    assert any("behaviour_events" in statement for statement in seen)
