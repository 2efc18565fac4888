"""What a provider types is what the public reads: a commitment in one unit on every page (its
offer's working days, the catalogue's own 日 / 工作日, through the one |days filter), and the
服务承诺 field's documented formatting (paragraphs, lists, **bold**) rendered as the hint says,
through the one sanitiser."""

from __future__ import annotations

import re

from registry.sanitize import FORMAT_HINT, format_simple
from registry.web.filters import days
from tests.conftest import post_form
from tests.test_providers import USCC_A, make_active, offer_form, signed_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_units_commitment_reads_working_days_on_every_page(app, make_user, login, client):
    user, own = signed_in(app, make_user, login)
    make_active(app, user, services=("ZJ-01",))
    form = own.get("/my/provider/offers/new").get_data(as_text=True)
    assert "承诺办理时限(工作日)" in form
    saved = post_form(own, "/my/provider/offers/new", offer_form(committed_days="15"))
    assert saved.status_code == 302
    for url in ("/services/ZJ-03", f"/providers/{USCC_A}", "/my/provider"):
        page = _text((own if url.startswith("/my") else client).get(url).get_data(as_text=True))
        assert "15 个工作日" in page, url
        assert "15 天" not in page, url
    refused = post_form(own, "/my/provider/offers/new", offer_form(committed_days="0"))
    assert "承诺办理时限须为 1–3650 个工作日" in refused.get_data(as_text=True)


def test_units_catalogue_time_limits_keep_their_own_unit(client):
    calendar = _text(client.get("/services/ZJ-01").get_data(as_text=True))  # 28 日 in the seeds
    assert "28 日" in calendar
    assert "28 个工作日" not in calendar
    working = _text(client.get("/approval-items/SP-02").get_data(as_text=True))  # 20 工作日
    assert "20 个工作日" in working


def test_units_days_filter_words():
    assert days(15, "工作日") == "15 个工作日"
    assert days(28, "日") == "28 日"
    assert days(28, None) == "28 日"
    assert days(None, "工作日") == ""


def test_formats_promise_renders_the_documented_formatting(app, make_user, login, client):
    user, own = signed_in(app, make_user, login)
    make_active(app, user, services=("ZJ-01",))
    form = own.get("/my/provider/offers/new").get_data(as_text=True)
    assert "**文字** 显示为加粗" in form  # the hint documents exactly what is rendered
    promise = "**准时**交付,超期退费\n第二行\n\n- 现场踏勘\n- 出具**报告**\n\n1. 签约\n2. 交付"
    saved = post_form(own, "/my/provider/offers/new", offer_form(promise=promise))
    assert saved.status_code == 302
    page = client.get(f"/providers/{USCC_A}").get_data(as_text=True)
    assert "<p><strong>准时</strong>交付,超期退费<br>第二行</p>" in page
    assert "<ul><li>现场踏勘</li><li>出具<strong>报告</strong></li></ul>" in page
    assert "<ol><li>签约</li><li>交付</li></ol>" in page
    assert "**" not in _text(page.split("服务承诺", 1)[1])


def test_formats_simple_formatting_stays_safe():
    dirty = "**<img src=x onerror=alert(1)>**\n- <script>alert(1)</script>\n- [x](javascript:1)"
    html = format_simple(dirty)
    for bad in ("onerror", "<script", "<img"):
        assert bad not in html
    assert "<ul>" in html
    # Block HTML (admin-edited notes) is left to the sanitiser, not re-wrapped.
    assert format_simple("<p>已核对</p>\n- 保留") == "<p>已核对</p>\n- 保留"
    assert "加粗" in FORMAT_HINT
    assert "列表" in FORMAT_HINT
