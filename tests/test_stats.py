"""The oversight dashboard (/stats): figures computed from data built here through the services,
checked against values worked out by hand on that data; the staff part hidden from the public;
each CSV the same as its table; a signal's links leading to its requests."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from registry.demo import roadmaps as demo_roadmaps
from registry.extensions import db
from registry.kernel import clock
from registry.models import ApprovalItem, Project, Provider, SelectionRequest, ServiceItem, User
from registry.models.projects import ProjectCategory
from registry.models.roadmap import ProjectPlan
from registry.pure.workdays import add_working_days, is_workday, on_or_after_workday
from registry.services import accounts as account_service
from registry.services import market, roadmaps, stats
from tests import factories

_serials = itertools.count(1)
STAFF_ONLY = ("超时通报清单", "待核查线索", "经常共同报名的机构", "总是输给同一家")


class Tables(HTMLParser):
    """The cells of each dashboard table on a page, by the table's section id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[str]] = {}
        self._section: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "stats-figure" in (attrs.get("class") or ""):
            self._section = attrs["id"]
            self.tables[self._section] = []
            self.links[self._section] = []
        elif self._section and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []
        elif self._cell is not None and tag == "a":
            self.links[self._section].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._section].append(self._row)
            self._row = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> Tables:
    parsed = Tables()
    parsed.feed(html)
    return parsed


def body_rows(parsed: Tables, name: str) -> list[list[str]]:
    """A table's body rows (the header row dropped)."""
    return parsed.tables[name][1:]


def text_rows(rows) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in rows]


def figures(app, *, staff: bool) -> stats.Stats:
    with app.app_context():
        return stats.dashboard(
            clock.today(),
            lead=app.config["DEADLINE_WARNING_DAYS"],
            settings=stats.Settings.from_config(app.config),
            staff=staff,
        )


# ---------------------------------------------------------------------- building the data


def _project(staff: User, category: str, land) -> str:
    code = f"{clock.today().year}-120116-47-03-{next(_serials) + 800000:06d}"
    roadmaps.register_project_for(
        staff,
        enterprise_uscc=factories.uscc(),
        enterprise_name=f"天津统计{uuid.uuid4().hex[:4]}制造有限公司",
        code=code,
        name=f"统计测试项目{code[-3:]}",
        category=category,
        location="天津滨海高新区",
        land_contract_date=land,
    )
    return code


def _done(staff: User, code: str, key: str, started, finished) -> None:
    roadmaps.record_progress(
        staff, code, key, status="已完成", started_on=started, finished_on=finished
    )


def _workdays(start, end) -> int:
    """Working days from start to end, both included (counted by hand, day by day)."""
    return sum(is_workday(start + timedelta(days=n)) for n in range((end - start).days + 1))


def _department(model, code: str) -> str:
    item = db.session.scalar(select(model).where(model.code == code))
    return item.department.short_name or item.department.name


@pytest.fixture
def staff(app, make_user):
    return make_user("staff")


def test_stats_days_to_permit_by_category_and_quarter_and_time_per_stage(app, staff):
    today = clock.today()
    with app.app_context():
        user = db.session.get(User, staff.id)
        # Two private projects with their permit (140 and 180 days), one state-owned (95 days).
        lands = {"p1": today - timedelta(days=150), "p2": today - timedelta(days=200)}
        p1 = _project(user, "民营/外资", lands["p1"])
        p2 = _project(user, "民营/外资", lands["p2"])
        p3 = _project(user, "国有", today - timedelta(days=100))
        finishes = {p1: today - timedelta(days=10), p2: today - timedelta(days=20)}
        finishes[p3] = today - timedelta(days=5)
        for code, finish in finishes.items():
            _done(user, code, "SP-15", finish, finish)
        # A planning-permission step (20 working days) that took longer.
        sp03_start, sp03_end = lands["p1"] + timedelta(days=10), lands["p1"] + timedelta(days=50)
        _done(user, p1, "SP-03", sp03_start, sp03_end)
        # A simple low-risk project still on its way.
        p4 = _project(user, "简易低风险厂房", today - timedelta(days=30))
        db.session.commit()
        # Its stored forecast (as the daily check keeps it): the figure the table averages.
        plan = db.session.scalar(select(ProjectPlan).join(Project).where(Project.code == p4))
        forecast = plan.forecast_days if plan.forecast_days is not None else plan.total_days
        permit_department = _department(ApprovalItem, "SP-15")
        planning_department = _department(ApprovalItem, "SP-03")

    shown = figures(app, staff=False)
    assert text_rows(shown.table("permit-by-category").rows) == text_rows(
        [
            ("民营/外资", 160, 2, 160.0, 140, 180, 1, "50.0%", 0, "—", 0),
            (
                "简易低风险厂房",
                60,
                0,
                "—",
                "—",
                "—",
                0,
                "—",
                1,
                float(forecast),
                int(forecast > 60),
            ),
            ("国有", 210, 1, 95.0, 95, 95, 1, "100.0%", 0, "—", 0),
        ]
    )

    def quarter(day) -> str:
        return f"{day.year}年Q{(day.month + 2) // 3}"

    expected_quarters = {}
    for category, days, finish in (
        ("民营/外资", 140, finishes[p1]),
        ("民营/外资", 180, finishes[p2]),
        ("国有", 95, finishes[p3]),
    ):
        expected_quarters.setdefault((quarter(finish), category), []).append(days)
    quarter_rows = {(r[0], r[1]): r for r in shown.table("permit-by-quarter").rows}
    assert set(quarter_rows) == set(expected_quarters)
    for (label, category), days in expected_quarters.items():
        target = {"民营/外资": 160, "国有": 210}[category]
        assert quarter_rows[(label, category)][2:] == (
            target,
            len(days),
            round(sum(days) / len(days), 1),
            f"{100 * sum(d <= target for d in days) / len(days):.1f}%",
        )

    used = _workdays(sp03_start, sp03_end)
    late = used > 20
    stages = {(r[0], r[1]): r[2:] for r in shown.table("time-by-stage").rows}
    assert stages == {
        ("第一阶段 立项用地规划许可", "工作日"): (
            1,
            float(used),
            20.0,
            0 if late else 1,
            "0.0%" if late else "100.0%",
            float(used - 20) if late else "—",
        ),
        ("第三阶段 施工许可", "日"): (3, 1.0, 7.0, 3, "100.0%", "—"),
    }
    departments = {(r[0], r[1], r[2]): r[3:] for r in shown.table("time-by-department").rows}
    assert departments[(permit_department, "审批事项", "日")] == (3, 1.0, 7.0, 3, "100.0%", "—")
    assert departments[(planning_department, "审批事项", "工作日")][0] == 1


def test_stats_warnings_and_overdue_by_department_and_the_staff_list(app, staff, client, login):
    today = clock.today()
    land = today - timedelta(days=120)
    with app.app_context():
        user = db.session.get(User, staff.id)
        code = _project(user, "民营/外资", land)
        db.session.commit()
        # Open steps without predecessors are due: SP-01 (1 working day), ZJ-11 (14 days), the
        # survey ZJ-14 and the design ZJ-15 (42 days each); every one long past.
        due = {
            ("SP-01", _department(ApprovalItem, "SP-01")): add_working_days(land, 1),
            # calendar days end on a working day (《民法典》第二百零三条)
            ("ZJ-11", _department(ServiceItem, "ZJ-11")): on_or_after_workday(
                land + timedelta(days=14)
            ),
            ("ZJ-14", _department(ServiceItem, "ZJ-14")): on_or_after_workday(
                land + timedelta(days=42)
            ),
            ("ZJ-15", _department(ServiceItem, "ZJ-15")): on_or_after_workday(
                land + timedelta(days=42)
            ),
        }
    expected: dict[str, list] = {}
    for (_key, department), day in due.items():
        expected.setdefault(department, []).append(day)
    public = figures(app, staff=False)
    rows = {r[0]: r[1:] for r in public.table("alerts-by-department").rows}
    assert rows == {
        name: (0, len(days), (today - min(days)).days, 1) for name, days in expected.items()
    }
    assert "overdue-list" not in public.tables

    listing = figures(app, staff=True).table("overdue-list").rows
    assert [(r[0], r[2].split()[0], r[5]) for r in listing] == [
        (code, key, (today - day).days)
        for (key, _d), day in sorted(due.items(), key=lambda i: (i[1], i[0][0]))
    ]

    # The public page shows the counts but neither the list nor the project.
    anonymous = client.get("/stats")
    assert anonymous.status_code == 200
    page = anonymous.get_data(as_text=True)
    assert "到期预警与超时(按部门)" in page
    assert code not in page
    for title in STAFF_ONLY:
        assert title not in page
    assert client.get("/stats/overdue-list.csv").status_code == 404

    login(staff)
    page = client.get("/stats").get_data(as_text=True)
    assert "超时通报清单" in page
    assert code in page
    parsed = page_tables(page)
    assert f"/projects/{code}/roadmap" in parsed.links["overdue-list"]
    download = client.get("/stats/overdue-list.csv")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert _csv(download)[1:] == body_rows(parsed, "overdue-list")


def _csv(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# ---------------------------------------------------------------------- marketplace


def _marketplace(app, make_user):
    """Providers A–F on ZJ-03 and eight decided requests (see the test for who bid what)."""
    owner = make_user("enterprise")
    accounts = {name: make_user("provider") for name in "ABCDEF"}
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        providers = {
            name: factories.active_provider(
                account=db.session.get(User, a.id), name=f"天津统计{name}环境科技有限公司"
            )
            for name, a in accounts.items()
        }
        band = {"price_min": Decimal("40000"), "price_max": Decimal("60000")}
        # (method, band, bids as (provider, amount)); deadlines an hour apart in this order.
        plans = [
            ("竞价选取", band, [("A", 50000), ("B", 52000), ("C", 58000)]),  # A wins
            ("竞价选取", band, [("A", 45000), ("B", 45100)]),  # A wins; 0.22 % apart
            ("竞价选取", band, [("A", 40000), ("B", 41000)]),  # A wins at the band's floor
            ("竞价选取", band, [("C", 50000)]),  # 流标
            ("直接选取", {}, [("D", None), ("C", None)]),  # the owner names D
            ("竞价选取", {}, [("E", 60000), ("F", 70000)]),  # E
            ("竞价选取", {}, [("E", 70000), ("F", 60000)]),  # F
            ("竞价选取", {}, [("E", 55000), ("F", 65000)]),  # E
        ]
        refs = []
        for number, (method, prices, _bids) in enumerate(plans, 1):
            request = market.open_request(
                user,
                project.code,
                service_code="ZJ-03",
                method=method,
                method_reason="紧急抢险,须由具备现场经验的机构承担"
                if method == "直接选取"
                else None,
                deadline=factories.later(number),
                **prices,
            )
            refs.append(request.ref)
        db.session.commit()
        for ref, (_method, _prices, bids) in zip(refs, plans, strict=True):
            for name, amount in bids:
                market.submit_quote(
                    db.session.get(User, accounts[name].id),
                    ref,
                    amount=None if amount is None else Decimal(amount),
                    proposal="服务方案" if amount is None else None,
                    submission_key=uuid.uuid4().hex,
                )
        db.session.commit()
        clock.freeze(clock.now() + timedelta(hours=len(plans) + 1))
        for ref, (method, _prices, _bids) in zip(refs, plans, strict=True):
            direct = method == "直接选取"
            market.decide(
                user,
                ref,
                chosen_uscc=providers["D"].uscc if direct else None,
                reason="现场经验丰富" if direct else None,
            )
        db.session.commit()
        names = {n: f"{p.name}({p.uscc})" for n, p in providers.items()}
        usccs = {n: p.uscc for n, p in providers.items()}
    return refs, names, usccs


def test_stats_marketplace_health_figures(app, make_user):
    refs, _names, usccs = _marketplace(app, make_user)
    shown = figures(app, staff=False)
    assert shown.table("requests-by-method").rows == [
        ("直接选取", 1, "12.5%", 1, 0, "0.0%", 2.0),
        ("竞价选取", 7, "87.5%", 6, 1, "14.3%", 2.0),
        ("合计", 8, "100.0%", 7, 1, "12.5%", 2.0),
    ]
    assert shown.direct_share == "12.5%"
    item = "ZJ-03 " + shown.table("price-vs-band").rows[0][0].split(" ", 1)[1]
    # Three awards with a band (quotes outside it are refused): 50000, 45000 and 40000 against
    # a midpoint of 50000.
    assert shown.table("price-vs-band").rows == [(item, 3, 0, 3, 0, "0.90")]
    # Wins: A 3, E 2, D 1, F 1 of 7; HHI = (3² + 2² + 1 + 1) / 49 × 10000.
    assert shown.table("award-concentration").rows == [(item, 7, 4, "85.7%", 3061)]
    wins = [(r[1], r[2], r[3], r[4]) for r in shown.table("win-rates").rows]
    zero = sorted([usccs["B"], usccs["C"]])
    assert wins == [
        (usccs["A"], 3, 3, "100.0%"),
        (usccs["E"], 3, 2, "66.7%"),
        (usccs["F"], 3, 1, "33.3%"),
        (zero[0], 3, 0, "0.0%"),
        (zero[1], 3, 0, "0.0%"),
    ]


def test_stats_integrity_signals_for_staff_only_with_their_requests(
    app, make_user, staff, client, login
):
    refs, names, _usccs = _marketplace(app, make_user)
    assert "signal-co-bidding" not in figures(app, staff=False).tables
    signals = figures(app, staff=True)
    assert [r[:6] + (tuple(r[6]),) for r in signals.table("signal-co-bidding").rows] == [
        (names["A"], names["B"], 3, 3, 3, "100.0%", tuple(refs[0:3])),
        (names["E"], names["F"], 3, 3, 3, "100.0%", tuple(refs[5:8])),
    ]
    rotation = signals.table("signal-rotation").rows
    assert len(rotation) == 1
    group, shared, inside, winners, _sequence, linked = rotation[0]
    assert (group, shared, inside, winners, tuple(linked)) == (
        f"{names['E']}、{names['F']}",
        3,
        3,
        2,
        tuple(refs[5:8]),
    )
    assert [(tuple(r[0]), r[2], r[4], r[6]) for r in signals.table("signal-close-prices").rows] == [
        ((refs[1],), names["A"], names["B"], "0.2%")
    ]
    assert [r[:4] + (tuple(r[4]),) for r in signals.table("signal-same-winner").rows] == [
        (names["B"], names["A"], 3, 3, tuple(refs[0:3]))
    ]

    # The public sees none of it, on the page or as CSV.
    page = client.get("/stats").get_data(as_text=True)
    for title in STAFF_ONLY:
        assert title not in page
    assert names["A"].split("(")[0] in page  # the public win rates name providers
    assert client.get("/stats/signal-co-bidding.csv").status_code == 404

    login(staff)
    page = client.get("/stats").get_data(as_text=True)
    assert "待核查线索" in page
    assert "不代表存在违规" in page
    assert "不少于 3 次" in page  # the threshold is shown with the signal
    parsed = page_tables(page)
    links = parsed.links["signal-co-bidding"]
    assert links[:3] == [f"/requests/{ref}" for ref in refs[0:3]]
    shown = client.get(links[0]).get_data(as_text=True)
    assert f"选取公告 {refs[0]}" in shown
    download = _csv(client.get("/stats/signal-co-bidding.csv"))
    assert download[1:] == body_rows(parsed, "signal-co-bidding")


@pytest.mark.parametrize("name", ["requests-by-method", "award-concentration", "win-rates"])
def test_stats_csv_is_the_table(app, make_user, client, name):
    _marketplace(app, make_user)
    page = page_tables(client.get("/stats").get_data(as_text=True))
    download = client.get(f"/stats/{name}.csv")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    rows = _csv(download)
    assert rows[0] == page.tables[name][0]
    assert rows[1:] == body_rows(page, name)
    assert len(rows) > 1


def test_stats_public_page_is_cached_until_a_roadmap_changes(app, staff, client):
    first = client.get("/stats")
    assert first.status_code == 200
    again = client.get("/stats", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    with app.app_context():
        _project(db.session.get(User, staff.id), "国有", clock.today() - timedelta(days=10))
        db.session.commit()
    changed = client.get("/stats", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert client.get("/stats/no-such-table.csv").status_code == 404


@pytest.mark.demo
def test_stats_on_the_demo_shows_days_to_permit_and_each_signal_to_staff(app, client, login):
    """A fresh `registry seed --demo`: staff see days to permit per category (demo projects that
    obtained their permit) and a row of each integrity signal, each traced to its requests."""
    with app.app_context():
        password = account_service.generate_password()
        account_service.set_password(account_service.find_user("demo-staff"), password)
        db.session.commit()
    public = page_tables(client.get("/stats").get_data(as_text=True))
    assert not [name for name in public.tables if name.startswith("signal-")]

    login(type("U", (), {"username": "demo-staff", "password": password}))
    page = client.get("/stats").get_data(as_text=True)
    parsed = page_tables(page)
    # Days to permit: every category has projects with their permit, within target as planned.
    by_category = {row[0]: row for row in body_rows(parsed, "permit-by-category")}
    for category in ProjectCategory:
        target = category.target_days
        planned = [d for _s, _i, _n, c, d, _a in demo_roadmaps.PERMITS if c == category.value]
        row = by_category[category.value]
        assert int(row[2]) == len(planned) > 0
        assert row[3] != "—"  # a mean
        assert row[4] != "—"  # a shortest
        assert int(row[6]) == sum(1 for d in planned if d <= target)
    assert any(int(row[6]) < int(row[2]) for row in by_category.values())  # one over its target
    assert body_rows(parsed, "permit-by-quarter")
    for name in ("time-by-stage", "time-by-department"):
        assert all(int(row[-6]) > 0 for row in body_rows(parsed, name)), name
        assert len(body_rows(parsed, name)) >= 3
    # Each signal has a row naming demo firms and linking the requests behind it.
    for name in (
        "signal-co-bidding",
        "signal-rotation",
        "signal-close-prices",
        "signal-same-winner",
    ):
        rows = body_rows(parsed, name)
        assert rows, name
        assert all("(示例)" in " ".join(row) for row in rows), name
        links = parsed.links[name]
        assert links, name
        assert all(link.startswith("/requests/XQ-") for link in links), name
    assert "待核查线索" in page
    rotation = body_rows(parsed, "signal-rotation")
    assert len(rotation) == 1
    assert int(rotation[0][3]) == 3  # three firms won in turn
    ref = parsed.links["signal-same-winner"][0].rsplit("/", 1)[1]
    shown = client.get(f"/requests/{ref}").get_data(as_text=True)
    assert f"选取公告 {ref}" in shown
    assert "(示例)" in shown


def test_stats_signals_are_kept_per_data_generation_and_follow_a_new_decision(
    app, make_user, staff, client, login
):
    refs, names, usccs = _marketplace(app, make_user)
    first = figures(app, staff=True).table("signal-co-bidding")
    assert figures(app, staff=True).table("signal-co-bidding") is first  # kept, not recomputed
    assert [r[2] for r in first.rows if r[0] == names["E"]] == [3]
    with app.app_context():
        earlier = db.session.scalar(select(SelectionRequest).where(SelectionRequest.ref == refs[0]))
        owner, code = db.session.get(User, earlier.created_by_id), earlier.project.code
        request = market.open_request(
            owner, code, service_code="ZJ-03", method="竞价选取", deadline=factories.later(1)
        )
        db.session.commit()
        for name, amount in (("E", 52000), ("F", 61000)):
            provider = db.session.scalar(select(Provider).where(Provider.uscc == usccs[name]))
            market.submit_quote(
                db.session.get(User, provider.account_id),
                request.ref,
                amount=Decimal(amount),
                submission_key=uuid.uuid4().hex,
            )
        db.session.commit()
        clock.freeze(clock.now() + timedelta(hours=2))
        market.decide(owner, request.ref)
        db.session.commit()
        new_ref = request.ref
    login(staff)
    parsed = page_tables(client.get("/stats").get_data(as_text=True))
    pairs = {row[0]: row for row in body_rows(parsed, "signal-co-bidding")}
    assert pairs[names["E"]][2] == "4"  # the fourth request E and F bid on together
    assert f"/requests/{new_ref}" in parsed.links["signal-co-bidding"]
