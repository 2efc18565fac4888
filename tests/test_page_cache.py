"""The page cache (registry/web/page_cache.py): anonymous public pages answered from memory and
revalidated with ETag, never stale after a commit — on this app or on another node."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from flask import request_started
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import ServiceItem, User
from registry.services import market
from tests import factories
from tests.conftest import make_app


def _rename(app, code: str, name: str) -> None:
    with app.app_context():
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == code))
        item.name = name
        db.session.commit()


def test_page_cache_revalidates_and_never_serves_a_page_older_than_the_data(app, client):
    first = client.get("/services/ZJ-03")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert etag.startswith('W/"')
    again = client.get("/services/ZJ-03", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""

    _rename(app, "ZJ-03", "环评报告编制(改名测试)")
    changed = client.get("/services/ZJ-03", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "环评报告编制(改名测试)" in changed.get_data(as_text=True)
    assert "环评报告编制(改名测试)" in client.get("/services?per_page=100").get_data(as_text=True)


def test_page_cache_sees_a_commit_made_by_another_node(app, client, database_url, tmp_path):
    assert "水土保持" in client.get("/services/ZJ-05").get_data(as_text=True)
    other_node = make_app(database_url, tmp_path / "other")
    _rename(other_node, "ZJ-05", "另一节点改名的事项")
    with other_node.app_context():
        db.engine.dispose()
    assert "另一节点改名的事项" in client.get("/services/ZJ-05").get_data(as_text=True)


def test_page_cache_gzip_copy_is_the_same_page(client):
    plain = client.get("/services").data
    packed = client.get("/services", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain


def test_page_cache_never_serves_a_signed_in_user_the_anonymous_page(client, make_user, login):
    assert "ETag" in client.get("/providers").headers
    user = make_user("enterprise")
    login(user)
    page = client.get("/providers")
    assert "ETag" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"
    assert user.username in page.get_data(as_text=True)


def test_page_cache_key_turns_with_the_day(client, frozen_clock):
    etag = client.get("/notices").headers["ETag"]
    assert client.get("/notices").headers["ETag"] == etag
    frozen_clock.advance(timedelta(days=1))
    assert client.get("/notices").headers["ETag"] != etag


FAST = pytest.mark.parametrize("app_config", [{"PAGE_CACHE_RECHECK_SECONDS": 60}])


def _open_request(app, make_user, hours: int) -> str:
    """A 随机抽取 request closing `hours` from now; its ref."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        deadline = clock.now() + timedelta(hours=hours)
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="随机抽取", deadline=deadline
        ).ref
        db.session.commit()
        return ref


@pytest.mark.parametrize("app_config", [{"PAGE_CACHE_RECHECK_SECONDS": 0}, FAST.args[1][0]])
def test_page_cache_turns_when_a_deadline_passes(app, client, make_user, frozen_clock):
    """The home page lists a request while it takes applications; at its deadline the cached
    page turns without any write, on the fast path as on Flask's (报名中 → gone from 报名中的选取)."""
    later = _open_request(app, make_user, hours=5)
    ref = _open_request(app, make_user, hours=2)
    first = client.get("/")
    assert ref in first.get_data(as_text=True)
    assert client.get("/").headers["ETag"] == first.headers["ETag"]
    frozen_clock.advance(timedelta(hours=2, minutes=1))
    turned = client.get("/")
    assert turned.headers["ETag"] != first.headers["ETag"]
    assert ref not in turned.get_data(as_text=True)
    assert later in turned.get_data(as_text=True)
    again = client.get("/", headers={"If-None-Match": turned.headers["ETag"]})
    assert again.status_code == 304


@FAST
def test_page_cache_fast_path_answers_before_flask_as_flask_would(app, client):
    seen: list[str] = []
    request_started.connect(lambda sender, **extra: seen.append("flask"), app, weak=False)
    rendered = client.get("/services/ZJ-03")
    cached = client.get("/services/ZJ-03")
    assert seen == ["flask"]  # the second answer never reached Flask
    assert cached.data == rendered.data
    for header in ("ETag", "Content-Security-Policy", "X-Frame-Options", "Cache-Control"):
        assert cached.headers[header] == rendered.headers[header]
    assert cached.headers["X-Request-ID"] != rendered.headers["X-Request-ID"]
    revalidated = client.get("/services/ZJ-03", headers={"If-None-Match": cached.headers["ETag"]})
    assert revalidated.status_code == 304
    assert client.get("/services/ZJ-03", headers={"Host": "evil.example"}).status_code == 400

    _rename(app, "ZJ-03", "快速通道改名测试")  # this process committed: the memo is forgotten
    assert "快速通道改名测试" in client.get("/services/ZJ-03").get_data(as_text=True)
    assert seen == ["flask"] * 3


@FAST
def test_page_cache_fast_path_leaves_signed_in_users_to_flask(client, make_user, login):
    client.get("/providers")
    user = make_user("enterprise")
    login(user)
    assert user.username in client.get("/providers").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"PAGE_CACHE_RECHECK_SECONDS": 0}, FAST.args[1][0]])
def test_page_cache_a_cached_download_keeps_its_file_name(client):
    """A download answered from the cache (Flask's or the fast path) still saves under its name."""
    first = client.get("/notices.csv")
    assert first.headers["Content-Disposition"].startswith('attachment; filename="credit-notices-')
    again = client.get("/notices.csv")
    assert again.headers["ETag"] == first.headers["ETag"]  # the cached answer
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert again.data == first.data
