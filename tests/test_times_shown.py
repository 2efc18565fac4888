"""Every time a person reads is Beijing time: pages through the one date filter (YYYY-MM-DD HH:MM),
the JSON API and the feed as ISO 8601 with +08:00; nowhere a stored UTC value as it is stored."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import User
from registry.services import accounts, market
from registry.web.filters import format_datetime, is_timestamp
from tests import factories
from tests.conftest import TEST_TODAY

LINK_RE = re.compile(r'href="(/[^"#]*)"')


def test_times_filter_shows_stored_utc_in_beijing_time():
    nine_utc = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert format_datetime(nine_utc) == "2026-12-07 17:00"
    assert format_datetime(nine_utc, False) == "2026-12-07"
    assert format_datetime(nine_utc, iso=True) == "2026-12-07T17:00:00+08:00"
    # 16:30 UTC is already the next day in Beijing: the date shown is Beijing's.
    late = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
    assert format_datetime(late) == "2026-12-08 00:30"
    assert format_datetime(late, False) == "2026-12-08"
    assert format_datetime(datetime(2026, 12, 7, 9, 0)) == "2026-12-07 17:00"  # naive = UTC
    assert format_datetime("2026-12-07T09:00:00+00:00") == "2026-12-07 17:00"  # stored JSON
    assert format_datetime(date(2026, 12, 7)) == "2026-12-07"
    assert format_datetime(None) == ""


def test_times_only_aware_iso_text_counts_as_a_timestamp():
    assert is_timestamp("2026-12-07T09:00:00+00:00")
    assert is_timestamp("2026-12-07T17:00:00.123456+08:00")
    assert not is_timestamp("2026-12-07")
    assert not is_timestamp("2026-12-07 17:00")
    assert not is_timestamp("会议定于 2026-12-07T09:00:00+00:00")
    assert not is_timestamp(None)


def _award_with_deadline_at_five(app, make_user) -> tuple[int, str]:
    """A random draw whose deadline is 17:00 Beijing time today (stored as 09:00 UTC)."""
    owner, accounts = make_user("enterprise"), [make_user("provider") for _ in range(2)]
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        for account in accounts:
            factories.active_provider(account=db.session.get(User, account.id))
        deadline = clock.at(TEST_TODAY, 17)
        assert deadline.astimezone(UTC).hour == 9
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="随机抽取", deadline=deadline
        ).ref
        db.session.commit()
        for account in accounts:
            market.submit_quote(
                db.session.get(User, account.id), ref, submission_key=account.username
            )
            db.session.commit()
        clock.advance(timedelta(hours=8))  # 18:00 Beijing time: the deadline has passed
        award = market.decide(user, ref).award
        db.session.commit()
        return award.id, ref


def test_times_award_notice_shows_the_deadline_in_beijing_time(app, client, make_user):
    award_id, ref = _award_with_deadline_at_five(app, make_user)
    day = TEST_TODAY.isoformat()
    notice = client.get(f"/awards/{award_id}").get_data(as_text=True)
    assert f"<dt>报名截止时间</dt><dd>{day} 17:00(北京时间)" in notice
    assert f"<code>{day}T17:00:00+08:00</code>" in notice  # the seed's input, as hashed
    assert f"<dt>确定时间</dt><dd>{day} 18:00(北京时间)</dd>" in notice
    assert "+00:00" not in notice
    assert "09:00" not in notice
    request_page = client.get(f"/requests/{ref}").get_data(as_text=True)
    assert f"{day} 17:00" in request_page
    verify = client.get(f"/awards/{award_id}/verify").get_data(as_text=True)
    assert "与公示结果一致</dt><dd><strong>是" in verify
    # The API keeps ISO 8601, with the Beijing offset people read.
    (item,) = client.get("/api/v1/awards").get_json()["items"]
    assert item["awarded_at"] == f"{day}T18:00:00+08:00"
    assert item["draw_inputs"]["deadline"] == f"{day}T17:00:00+08:00"


def test_times_audit_log_shows_snapshot_times_in_beijing_time(app, client, make_user, login):
    _award_with_deadline_at_five(app, make_user)
    login(make_user("admin"))
    page = client.get("/admin/audit?action=selection.award").get_data(as_text=True)
    # The award's snapshot: its awarded_at field, before (new) and after.
    row = re.search(r"awarded_at</span></th>\s*<td>.*?</td>\s*<td>(.*?)</td>", page)
    assert row is not None
    assert row.group(1) == f"{TEST_TODAY.isoformat()} 18:00"
    assert "+00:00" not in page


def _demo_passwords(app) -> dict[str, str]:
    """New passwords for the demo accounts (the ones `registry seed --demo` printed are gone with
    the golden database's output), by username."""
    found = {}
    with app.app_context():
        for user in db.session.scalars(select(User).where(User.is_demo.is_(True))):
            found[user.username] = accounts.generate_password()
            accounts.set_password(user, found[user.username])
        db.session.commit()
    return found


def _walk(client, starts: list[str], per_kind: int = 3) -> dict[str, str]:
    """The HTML pages reachable from `starts` by plain links (no query strings, downloads or
    exports), breadth first, at most `per_kind` pages of each kind (/awards/1, /awards/2, …)."""
    pages: dict[str, str] = {}
    queue, seen, kinds = list(starts), set(), {}
    while queue:
        url = html.unescape(queue.pop(0))
        if url in seen or url.startswith(("/static/", "/api/")) or "?" in url:
            continue
        if url.endswith((".csv", ".xlsx", ".xml", "/scan", "/result")):
            continue
        seen.add(url)
        kind = re.sub(r"/[^/]*\d[^/]*", "/<id>", url)
        if kinds.get(kind, 0) >= per_kind:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        text = response.get_data(as_text=True)
        pages[url] = text
        queue += [link for link in LINK_RE.findall(text) if link not in seen]
    return pages


VISITS = {
    "anonymous": ["/", "/requests", "/awards", "/notices", "/providers"],
    "demo-admin": ["/admin/audit", "/admin/users"],
    "demo-staff": ["/staff/deadlines", "/staff/projects", "/my/notifications"],
    "demo-enterprise": ["/my/projects", "/my/engagements"],
    "demo-provider": ["/my/provider", "/my/opportunities", "/my/work", "/my/credit"],
    "demo-regulator-sthj": ["/regulator/credit", "/regulator/evaluations"],
}


# One test per demo account, so the walks (~25 pages each) spread over the test processes.
@pytest.mark.demo
@pytest.mark.parametrize("username", VISITS)
def test_times_no_page_of_the_demo_site_shows_utc(username, app, login):
    client = app.test_client()
    if username != "anonymous":
        password = _demo_passwords(app)[username]
        user = type("U", (), {"username": username, "password": password})
        assert login(user, on=client).status_code == 302, username
    pages = _walk(client, VISITS[username])
    assert len(pages) >= 10, (username, sorted(pages))
    for url, text in pages.items():
        assert "+00:00" not in text, (username, url)


@pytest.mark.demo
def test_times_published_times_are_beijing_time_to_the_minute(app):
    anonymous = app.test_client()
    board = anonymous.get("/notices").get_data(as_text=True)
    number = re.search(r'href="/notices/(XY-[0-9-]+)"', board).group(1)
    notice = anonymous.get(f"/notices/{number}").get_data(as_text=True)
    assert f'<meta name="PubDate" content="{clock.today().isoformat()} 10:00">' in notice
    feed = anonymous.get("/notices.xml").get_data(as_text=True)
    assert f"{clock.today().isoformat()}T10:00:00+08:00" in feed
    assert "+00:00" not in feed
    api = anonymous.get("/api/v1/notices").get_json()
    assert all(n["published_at"].endswith("+08:00") for n in api["items"])
