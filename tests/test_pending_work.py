"""What waits for each role: the review queue's waiting time, and the page each role lands on
after signing in (its pending work, counted, with links)."""

from __future__ import annotations

import re
from datetime import timedelta

from registry.extensions import db
from registry.kernel import clock
from registry.models import ProviderStatus
from tests import factories


def _text(html: str) -> str:
    """A page's text with tags dropped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pending_provider(name: str, submitted_at):
    """A provider application waiting for review since `submitted_at` (flushed)."""
    provider = factories.active_provider(name=name)
    provider.status = ProviderStatus.PENDING.value
    provider.submitted_at = submitted_at
    db.session.flush()
    return provider


def test_pending_review_queue_shows_days_waited_oldest_first(app, make_user, login, client):
    today = clock.today()
    with app.app_context():
        # Beijing dates: 23:30 yesterday is one day ago, 00:10 today is today.
        _pending_provider("天津乙等待一天环境科技有限公司", clock.at(today - timedelta(days=1), 23, 30))
        _pending_provider("天津甲等待十二天环境科技有限公司", clock.at(today - timedelta(days=12), 9))
        _pending_provider("天津丙今天提交环境科技有限公司", clock.at(today, 0, 10))
        db.session.commit()
    login(make_user("admin"))
    page = client.get("/admin/providers").get_data(as_text=True)
    assert "已等待" in page
    rows = [_text(row) for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", page, re.S)]
    assert [row.split()[0] for row in rows] == [
        "天津甲等待十二天环境科技有限公司",
        "天津乙等待一天环境科技有限公司",
        "天津丙今天提交环境科技有限公司",
    ]
    assert "12 天" in rows[0]
    assert "1 天" in rows[1]
    assert "今天提交" in rows[2]
