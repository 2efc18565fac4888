"""A believable, clearly marked (示例) marketplace for `registry seed --demo`: providers across the
catalogue with qualifications and offers, enterprises with projects, open and finished selections
(awards decided by the real selection rules), work in progress and delivered, owner ratings and
credit records (demo/credit.py); the projects' roadmaps come from demo/roadmaps.py.

Every date is laid out from the day it runs (the clock's today and now), so a demo seeded in any
year has open requests, deliveries under way and fresh notices. Names end in (示例), every row
that has the flag carries is_demo, and nothing here is a real firm or project. Idempotent: when
demo providers exist, nothing is added again (except what a database seeded before lacks).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from registry.demo import credit as demo_credit
from registry.demo import people as demo_people
from registry.demo import roadmaps as demo_roadmaps
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    REGIONS,
    EngagementStatus,
    OwnerRating,
    Provider,
    ProviderStatus,
    Qualification,
    Quote,
    SelectionMethod,
    SelectionRequest,
    ServiceItem,
    User,
)
from registry.models.providers import Offer
from registry.pure.uscc import make_uscc
from registry.pure.workdays import (
    add_working_days,
    on_or_after_workday,
    on_or_before_workday,
    working_days_between,
)
from registry.services import evaluations, grades, market

# Industry groups: what a firm of that kind offers and the qualification it holds.
GROUPS = [
    ("环境", ["ZJ-03", "ZJ-10", "ZJ-05"], "环境影响评价单位"),
    ("水务", ["ZJ-04", "ZJ-05", "ZJ-06"], "水土保持方案编制单位水平评价"),
    ("勘察", ["ZJ-14", "ZJ-07", "ZJ-08"], "工程勘察资质"),
    ("测绘", ["ZJ-11", "ZJ-22"], "测绘资质"),
    ("设计", ["ZJ-15", "ZJ-16", "ZJ-19"], "工程设计资质"),
    ("审图", ["ZJ-17", "ZJ-18"], "施工图审查机构认定"),
    ("咨询", ["ZJ-01", "ZJ-02", "ZJ-21"], "工程咨询单位资信"),
    ("安全", ["ZJ-12", "ZJ-13", "ZJ-20"], "安全评价机构资质"),
    ("造价", ["ZJ-25", "ZJ-23"], "工程造价咨询企业登记"),
    ("监理", ["ZJ-24", "ZJ-26"], "工程监理资质"),
]
BRANDS = "华海瑞恒泰达鑫源博睿中晟宏远嘉诚天成正和信安汇通东方北辰海河津港渤龙"
DISTRICTS = ["滨海", "西青", "南开", "河西", "东丽", "津南", "武清", "和平"]
# (industry, serial, name, category); the code's year is that of the land contract (demo/roadmaps.py).
PROJECTS = [
    ("34", "900101", "示例精密装备制造厂房(示例)", "民营/外资"),
    ("39", "900102", "示例电子元器件标准厂房(示例)", "简易低风险厂房"),
    ("72", "900103", "示例科研办公楼(示例)", "国有"),
    ("35", "900104", "示例生物医药中试基地(示例)", "民营/外资"),
]


def _project_code(industry: str, serial: str, today: date) -> str:
    year = demo_roadmaps.land_contract_date(serial, today).year
    return f"{year}-120116-{industry}-03-{serial}"


def _region(district: str, n: int) -> str:
    """The 所在区域 that goes with the demo address (a 河西区 firm read 外省市)."""
    if district != "滨海":
        return "天津市其他区"
    return REGIONS[0] if n % 2 == 0 else REGIONS[1]  # 滨海高新区 / 滨海新区其他区域


def _providers(
    rng: random.Random, today: date, services: dict[str, ServiceItem], account: User | None
) -> list[Provider]:
    made = []
    for n in range(32):
        group, codes, qualification = GROUPS[n % len(GROUPS)]
        brand = "".join(rng.sample(BRANDS, 2))
        district = DISTRICTS[n % len(DISTRICTS)]
        provider = Provider(
            uscc=make_uscc(f"91120116MA{n + 1:06d}"),
            name=f"天津{district}{brand}{group}技术有限公司(示例)",
            legal_representative=f"示例法人{n + 1}",
            address=f"天津市{district}区示例路{rng.randint(1, 300)}号(示例)",
            region=_region(district, n),
            contact_name=f"示例联系人{n + 1}",
            contact_phone=f"022-5{rng.randint(1000000, 9999999)}",
            licence_scope=f"{group}技术咨询与服务(示例数据)",
            status=ProviderStatus.ACTIVE.value if n != 31 else ProviderStatus.PENDING.value,
            account_id=account.id if (account and n == 0) else None,
            is_demo=True,
            submitted_at=clock.at(today - timedelta(days=200), 10),
            reviewed_at=clock.at(today - timedelta(days=190), 10),
        )
        # One firm's certificate has run out: it stays listed but leaves selection.
        valid_to = (
            today - timedelta(days=20) if n == 7 else today + timedelta(days=rng.randint(90, 900))
        )
        provider.qualifications.append(
            Qualification(
                kind=qualification,
                grade=rng.choice(["甲级", "乙级", None]),
                certificate_no=f"示例-{n + 1:04d}",
                issuer="示例发证机关",
                valid_from=today - timedelta(days=800),
                valid_to=valid_to,
            )
        )
        for code in codes[: rng.randint(2, len(codes))] if len(codes) > 2 else codes:
            item = services[code]
            provider.offers.append(
                Offer(
                    service_item=item,
                    committed_days=rng.choice([10, 15, 20, 30]),
                    fee_quote=Decimal(rng.randrange(20000, 150000, 1000)),
                    promise="按承诺时限完成,超期按合同约定承担责任(示例)",
                )
            )
        db.session.add(provider)
        made.append(provider)
    db.session.flush()
    return made


def seed_demo_market() -> dict[str, int]:
    """Add the demo marketplace once, dated from the clock's today, then the demo projects'
    roadmaps and credit notices (also once each, and also on a database whose marketplace was
    seeded before they existed); returns counts of what was added (all zero when present)."""
    today = clock.today()
    if db.session.scalar(select(func.count(Provider.id)).where(Provider.is_demo.is_(True))):
        owner = db.session.scalar(select(User).where(User.username == "demo-enterprise"))
        services = {s.code: s for s in db.session.scalars(select(ServiceItem))}
        counts = {
            "providers": 0,
            **_seed_history(today, owner, services),
            "notices": demo_credit.seed_demo_notices(),
            **demo_people.seed_demo_people(today),
        }
        if counts["notices"] or counts["awards"] or counts["practitioners"]:
            grades.recompute_all(today)
    else:
        counts = _seed_market(today)
    counts["roadmaps"] = demo_roadmaps.seed_demo_roadmaps(today)
    return counts


def _seed_market(today: date) -> dict[str, int]:
    """Providers, the demo enterprise with its projects, selections, deliveries and grades."""
    rng = random.Random(20261125)  # noqa: S311 - reproducible demo data, not a secret
    services = {s.code: s for s in db.session.scalars(select(ServiceItem))}
    provider_account = db.session.scalar(select(User).where(User.username == "demo-provider"))
    owner = db.session.scalar(select(User).where(User.username == "demo-enterprise"))
    providers = _providers(rng, today, services, provider_account)
    if owner is None:
        return {"providers": len(providers), "projects": 0, "awards": 0, "notices": 0}
    enterprise = market.create_enterprise(
        "天津示例科技有限公司(示例)", make_uscc("91120116MA900001"), is_demo=True
    )
    owner.enterprise_id = enterprise.id
    projects = []
    for industry, serial, name, category in PROJECTS:
        project = market.create_project(
            owner,
            code=_project_code(industry, serial, today),
            name=name,
            category=category,
            location="天津滨海高新区(示例)",
        )
        project.is_demo = True
        projects.append(project)
    plans = [
        (projects[0], "ZJ-03", SelectionMethod.LOWEST_PRICE, 40),
        (projects[0], "ZJ-14", SelectionMethod.RANDOM, 35),
        (projects[1], "ZJ-11", SelectionMethod.CLOSEST_TO_MEAN, 30),
        (projects[2], "ZJ-04", SelectionMethod.CREDIT_SHORTLIST, 28),
        (projects[3], "ZJ-17", SelectionMethod.BEST_PROPOSAL, 25),
        (projects[3], "ZJ-01", SelectionMethod.RANDOM, 12),
    ]
    awards = 0
    for number, (project, code, method, days_ago) in enumerate(plans, 1):
        award = _finished_selection(
            owner, project, services[code], method, today, days_ago, number, rng
        )
        awards += award is not None
    awards += _recent_selection(owner, projects[2], services["ZJ-03"], today, len(plans) + 3)
    # Open requests the demo provider (an 环境 firm) can answer.
    for number, (project, code, method) in enumerate(
        [
            (projects[1], "ZJ-03", SelectionMethod.LOWEST_PRICE),
            (projects[2], "ZJ-10", SelectionMethod.RANDOM),
        ],
        len(plans) + 1,
    ):
        # Posted yesterday, open for about a week from today; the 环评 one wants a certified
        # 项目负责人 (market/people.py checks the quotes).
        posted = _request(
            project,
            services[code],
            method,
            clock.at(on_or_after_workday(today + timedelta(days=5 + number)), 17),
            owner,
            number,
            posted=clock.now() - timedelta(days=1),
        )
        if code == "ZJ-03":
            posted.leader_certificate = market.people.checked_requirements(
                services[code], "环境影响评价工程师", None
            )[0]
    db.session.flush()
    history = _seed_history(today, owner, services)
    _evaluations(today, rng)
    notices = demo_credit.seed_demo_notices()
    people = demo_people.seed_demo_people(today)
    # Grades come from the credit rules applied to the ratings, scores and notices above, never
    # invented.
    grades.recompute_all(today)
    return {
        "providers": len(providers),
        "projects": len(projects) + history["projects"],
        "awards": awards + history["awards"],
        "notices": notices,
        **people,
    }


# Decided requests among demo firms in which each integrity signal of the oversight dashboard
# (/stats, staff only, 待核查线索) has something to show: the first three 造价 firms bid together
# on four requests and win in turn (the two losers a hair apart on the last one), and the first
# two 监理 firms bid together on three requests, the same one winning each time. Lowest price
# wins; (service, days before the seeding day, budget in yuan, bidder → share of the budget
# quoted, bidders being the eligible demo firms offering the service in order of their code).
PATTERN = [
    ("ZJ-25", 170, 68000, ("0.90", "0.95", "0.97")),
    ("ZJ-25", 135, 72000, ("0.96", "0.91", "0.98")),
    ("ZJ-25", 100, 64000, ("0.99", "0.94", "0.90")),
    ("ZJ-25", 65, 70000, ("0.92", "0.960", "0.962")),
    ("ZJ-24", 150, 120000, ("0.88", "0.93")),
    ("ZJ-24", 110, 135000, ("0.90", "0.95", "1.00")),
    ("ZJ-24", 45, 128000, ("0.89", "0.92")),
]


def _seed_history(today: date, owner: User | None, services: dict[str, ServiceItem]) -> dict:
    """What the oversight dashboard reads on a fresh install: the demo projects that obtained
    their permit (demo/roadmaps.py PERMITS) and, on them, the decided requests of PATTERN, each
    delivered as the other demo awards are. Added once, with those projects."""
    projects = demo_roadmaps.seed_demo_permits(today)
    if not projects or owner is None:
        return {"projects": len(projects), "awards": 0}
    rng = random.Random(20261207)  # noqa: S311 - reproducible demo data, not a secret
    awards = 0
    for number, (code, days_ago, budget, shares) in enumerate(PATTERN, 21):
        deadline = clock.at(on_or_before_workday(today - timedelta(days=days_ago)), 17)
        project = projects[number % len(projects)]
        request = _request(
            project, services[code], SelectionMethod.LOWEST_PRICE, deadline, owner, number
        )
        eligible = [
            p for p in market.eligible_providers(request, clock.local_date(deadline)) if p.is_demo
        ]
        for provider, share in zip(eligible, shares, strict=False):
            db.session.add(
                Quote(
                    request_id=request.id,
                    provider_id=provider.id,
                    amount=(budget * Decimal(share)).quantize(Decimal("1")),
                    submission_key=f"demo-{request.ref}-{provider.uscc}",
                    submitted_at=deadline - timedelta(days=2),
                )
            )
        db.session.flush()
        decision = market.decide(owner, request.ref, now=deadline + timedelta(hours=1))
        if decision.award is not None:
            _deliver(decision.award, clock.local_date(deadline), today, rng)
            awards += 1
    return {"projects": len(projects), "awards": awards}


def _request(project, service, method, deadline, owner, number, posted=None) -> SelectionRequest:
    posted = posted or deadline - timedelta(days=7)
    request = SelectionRequest(
        ref=f"XQ-{clock.local(posted):%Y}-9{number:05d}",  # the year of publication
        project=project,
        service_item=service,
        method=method.value,
        deadline=deadline,
        requirements=f"{service.name}(示例需求)",
        created_by_id=owner.id,
        is_demo=True,
        created_at=posted,
    )
    db.session.add(request)
    db.session.flush()
    return request


def _recent_selection(owner, project, service, today: date, number: int) -> int:
    """A ZJ-03 request decided yesterday: its award notice is still in its 公示期, so a newcomer
    can read one that takes objections (the demo enterprise owns it; the demo provider's firm
    bid). Its own random stream keeps the rest of the demo as it was. 1 if it was awarded."""
    rng = random.Random(20261207)  # noqa: S311 - reproducible demo data, not a secret
    method = SelectionMethod.LOWEST_PRICE
    award = _finished_selection(owner, project, service, method, today, 1, number, rng)
    return int(award is not None)


def _finished_selection(owner, project, service, method, today, days_ago, number, rng):
    """A request whose deadline passed, quotes from eligible demo firms, decided by the rules."""
    deadline = clock.at(on_or_before_workday(today - timedelta(days=days_ago)), 17)
    request = _request(project, service, method, deadline, owner, number)
    eligible = [
        p for p in market.eligible_providers(request, clock.local_date(deadline)) if p.is_demo
    ]
    for provider in eligible[:5]:
        offer = next(o for o in provider.offers if o.service_item_id == service.id)
        amount = None
        if method.uses_price:
            amount = (
                offer.fee_quote * Decimal(rng.choice(["0.85", "0.9", "0.95", "1.0"]))
            ).quantize(Decimal("1"))
        db.session.add(
            Quote(
                request_id=request.id,
                provider_id=provider.id,
                amount=amount,
                proposal="服务方案(示例)" if method == SelectionMethod.BEST_PROPOSAL else None,
                submission_key=f"demo-{request.ref}-{provider.uscc}",
                submitted_at=deadline - timedelta(days=2),
            )
        )
    db.session.flush()
    chosen = eligible[0].uscc if eligible and method.owner_decides else None
    decision = market.decide(
        owner,
        request.ref,
        chosen_uscc=chosen,
        reason="方案技术路线完整、工期安排合理(示例)" if chosen else None,
        now=deadline + timedelta(hours=1),
    )
    if decision.award is None:
        return None
    _deliver(decision.award, clock.local_date(deadline), today, rng)
    return decision.award


def _deliver(award, awarded_on: date, today: date, rng: random.Random) -> None:
    """Move the engagement along as far as `today`: contract, result, confirmation and a rating."""
    engagement = award.engagement
    contract = add_working_days(awarded_on, 3)
    submitted = add_working_days(contract, engagement.committed_days + rng.choice([-3, -1, 0, 2]))
    if contract > today:
        return  # still awaiting the contract
    engagement.contract_date = contract
    engagement.due_date = add_working_days(contract, engagement.committed_days)
    engagement.status = EngagementStatus.IN_PROGRESS.value
    if submitted >= today:
        return
    engagement.submitted_at = clock.at(submitted, 15)
    confirmed = add_working_days(submitted, 2)
    if confirmed >= today:
        engagement.status = EngagementStatus.SUBMITTED.value
        return
    engagement.status = EngagementStatus.CONFIRMED.value
    engagement.confirmed_at = clock.at(confirmed, 11)
    if submitted > engagement.due_date:
        engagement.overrun_days = working_days_between(engagement.due_date, submitted)
    scores = {
        part: rng.randint(72, 98)
        for part in ("quality", "timeliness", "attitude", "fee", "conduct")
    }
    rated = min(clock.at(add_working_days(confirmed, 1), 16), clock.now())  # never ahead of now
    db.session.add(
        OwnerRating(
            engagement=engagement,
            provider_id=award.provider_id,
            comment_html="<p>成果质量较好,沟通及时。(示例评价)</p>",
            created_at=rated,
            **scores,
        )
    )
    db.session.flush()


def _evaluations(today: date, rng: random.Random) -> None:
    """A published evaluation of the previous half-year by each demo regulator, scoring every
    provider in its scope, so that the credit grades have a regulator part."""
    first_day = date(today.year, 1, 1) if today.month > 6 else date(today.year - 1, 7, 1)
    name, starts, ends = evaluations.half_year(first_day)
    for username in ("demo-regulator-sthj", "demo-regulator-sw"):
        regulator = db.session.scalar(select(User).where(User.username == username))
        if regulator is None:
            continue
        period = evaluations.open_period(
            regulator, name=f"{name}(示例)", starts_on=starts, ends_on=ends
        )
        for provider in evaluations.scorable_providers(period):
            scores = {c["code"]: rng.randint(70, 98) for c in period.criteria}
            evaluations.enter_scores(
                regulator,
                period,
                provider.uscc,
                scores,
                submit=True,
                submission_key=f"demo-{period.id}-{provider.uscc}",
            )
        evaluations.close_period(regulator, period)
        evaluations.publish_period(regulator, period)
