"""Large data set for the page benchmark (issue 15): the real catalogue and the demo data, then,
through the services, 5,000 providers (≈11,600 offers, qualifications), 2,000 projects with their
roadmaps (≈31,000 steps from the real templates, some progress), 20,000 awards (each with its
selection request, 3 quotes and an engagement), 15,000 owner ratings and 30,000 published credit
notices. Deterministic (one seed); `--scale 0.1` for a tenth of everything.

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/large_data.py /tmp/registry-large             # build, or reuse the cache
    .venv/bin/python bench/large_data.py /tmp/registry-large --fresh     # build again
    .venv/bin/python bench/large_data.py /tmp/registry-small --scale 0.1
    .venv/bin/python bench/large_data.py /tmp/registry-large \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_large  # also load PostgreSQL

The folder it writes holds `registry.db` (SQLite), `index/` (the Whoosh index), `uploads/`, `mail/`,
`accounts.json` (the demo accounts' passwords, e.g. demo-staff for the staff pages) and
`manifest.json` (scale, seed, counts, timings). Point the site at it with the variables that
`env.sh` in the folder exports (REGISTRY_DATABASE_URL, REGISTRY_SEARCH_INDEX_DIR, …). A second run
with the same scale and seed reuses the folder; the build happens beside it and replaces it only
when complete, so an interrupted build never leaves a half-made cache.

How it is built: `registry init-db` and `registry seed --demo` (subprocesses, as `make run` does),
then in-process with the application's services, committing in batches:

* providers, qualifications and offers as models (as registry/demo/market.py does: entry review is
  not what the pages read);
* enterprises (services.market.create_enterprise) and their owner accounts (as models, all with one
  password hash: scrypt per account would dominate), projects through
  services.roadmaps.register_project (the roadmap from the real template), progress through
  services.roadmaps.record_progress, staff through assign_staff;
* selection requests and quotes as models (as the demo does: open_request refuses a deadline in
  the past), each decided by services.market.decide at its deadline (the clock frozen there), which
  writes the award, its engagement, the audit entry and the notifications; the eligibility that
  decide re-checks is run on the quoting providers only (see `_eligible_among_quoters`: the
  service's own query loads every provider offering the item, ≈450 here, for each decision);
* engagements moved along and owner ratings added as the demo does;
* credit notices drafted and published by one regulator account per department through
  services.credit.draft_record / publish_record, each at its own (frozen) publication time.

Grades and the search index are derived data: the session hooks for both are off while the rows are
written (a grade recomputed per batch, and the index drained per commit, would cost more than the
rows), then every grade is computed once (services.grades.recompute_all) and the index is rebuilt
with `registry reindex`, as an operator would after a bulk load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

SEED = 20261515
# Bump when the data the generator makes changes: a cache of another version is rebuilt.
VERSION = 1
FULL = {"providers": 5000, "projects": 2000, "awards": 20000, "ratings": 15000, "notices": 30000}
BATCH = 500
CATEGORIES = ("民营/外资", "简易低风险厂房", "国有")
DISTRICTS = ["滨海", "西青", "南开", "河西", "东丽", "津南", "武清", "和平", "北辰", "宝坻"]
BRANDS = "华海瑞恒泰达鑫源博睿中晟宏远嘉诚天成正和信安汇通东方北辰海河津港渤龙"
SUFFIXES = ["技术", "咨询", "工程", "科技", "规划设计", "检测"]
INDUSTRIES = ["34", "35", "39", "72", "65", "27"]
# Owner-decided methods are rarer than draws and price rules, as in practice.
METHODS = [
    ("RANDOM", 30),
    ("LOWEST_PRICE", 25),
    ("CLOSEST_TO_MEAN", 15),
    ("CREDIT_SHORTLIST", 15),
    ("BEST_PROPOSAL", 10),
    ("DIRECT", 5),
]
NOTICE_KINDS = [("INTERVIEW", 40), ("WARNING", 25), ("COMMENDATION", 25), ("CRITICISM", 10)]
NOTICE_TEXT = {
    "INTERVIEW": ("{service}成果质量问题约谈提醒", "抽查发现该机构编制的{service}成果存在引用不规范等问题,已约谈提醒并责令整改。"),
    "WARNING": ("{service}超时警示通报", "该机构承接的{service}超出承诺时限,经核实予以警示通报。"),
    "COMMENDATION": ("{service}工作表扬", "该机构按承诺时限完成{service},成果一次通过技术审查,予以表扬。"),
    "CRITICISM": ("{service}违规通报批评", "该机构在{service}中存在违规收费行为,经查实予以通报批评。"),
    "BLACKLIST": ("{service}严重失信列入黑名单", "该机构在{service}中出具虚假成果,列入黑名单。"),
}  # fmt: skip


# ------------------------------------------------------------------------------------ helpers


def environment(folder: Path) -> dict[str, str]:
    """The variables that point the site and the CLI at the data set in `folder`."""
    return {
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REGISTRY_SEARCH_INDEX_DIR": str(folder / "index"),
        "REGISTRY_UPLOAD_DIR": str(folder / "uploads"),
        "REGISTRY_MAIL_DIR": str(folder / "mail"),
    }


def scaled(scale: float) -> dict[str, int]:
    return {name: max(2, round(count * scale)) for name, count in FULL.items()}


def weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    names, weights = zip(*choices, strict=True)
    return rng.choices(names, weights)[0]


class Progress:
    """Timings per part, printed as they finish; with `profile`, each part's cProfile top."""

    def __init__(self, profile: bool = False) -> None:
        self.timings: dict[str, float] = {}
        self.profile = profile

    @contextmanager
    def part(self, name: str):
        began = time.perf_counter()
        print(f"  {name} …", file=sys.stderr, flush=True)
        if self.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            yield
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        else:
            yield
        self.timings[name] = round(time.perf_counter() - began, 1)
        print(f"  {name}: {self.timings[name]} s", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------- generation


class Generator:
    """Writes the data set through the services, in the application context it is given."""

    def __init__(self, counts: dict[str, int], seed: int, progress: Progress) -> None:
        from registry.kernel import clock

        self.counts = counts
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not a secret
        self.progress = progress
        self.today = clock.today()
        self.made: dict[str, int] = {}

    # -- shared

    def commit(self) -> None:
        from registry.extensions import db

        db.session.commit()
        db.session.expunge_all()

    def workday_before(self, day: date) -> date:
        from registry.pure.workdays import is_workday

        while not is_workday(day):
            day -= timedelta(days=1)
        return day

    def run(self) -> dict[str, int]:
        from registry.extensions import db
        from registry.models import ServiceItem, User

        self.services = {s.code: s.id for s in db.session.scalars(db.select(ServiceItem))}
        self.service_names = {s.code: s.name for s in db.session.scalars(db.select(ServiceItem))}
        self.departments = {
            s.code: s.department_id for s in db.session.scalars(db.select(ServiceItem))
        }
        staff = db.session.scalar(db.select(User).where(User.username == "demo-staff"))
        self.staff_id = staff.id
        with self.progress.part("providers"):
            self.providers()
        with self.progress.part("projects and roadmaps"):
            self.projects()
        with self.progress.part("awards and delivery"):
            self.awards()
        with self.progress.part("credit notices"):
            self.notices()
        return self.made

    # -- providers

    def providers(self) -> None:
        from registry.demo.market import GROUPS
        from registry.extensions import db
        from registry.kernel import clock
        from registry.models import REGIONS, Provider, ProviderStatus, Qualification
        from registry.models.providers import Offer
        from registry.pure.uscc import make_uscc

        rng, today = self.rng, self.today
        # code → [(provider id, uscc, fee, qualification valid until)]: who may quote for what.
        self.offering: dict[str, list[tuple[int, str, Decimal, date]]] = {}
        self.provider_codes: list[tuple[str, list[str]]] = []
        made = offers = qualifications = 0
        batch: list[tuple[Provider, list[str], date]] = []
        for n in range(self.counts["providers"]):
            group, codes, qualification = GROUPS[n % len(GROUPS)]
            district = DISTRICTS[rng.randrange(len(DISTRICTS))]
            brand = "".join(rng.sample(BRANDS, 2))
            active = n % 97 != 96
            provider = Provider(
                uscc=make_uscc(f"91120116BK{n:06d}"),
                name=f"天津{district}{brand}{group}{rng.choice(SUFFIXES)}有限公司{n:04d}号",
                legal_representative=f"法人{n % 1000:03d}",
                address=f"天津市{district}区海泰发展{n % 9 + 1}道{n % 97 + 1}号",
                region=REGIONS[n % len(REGIONS)],
                contact_name=f"联系人{n % 1000:03d}",
                contact_phone=f"022-5{rng.randint(1000000, 9999999)}",
                licence_scope=f"{group}技术咨询与服务",
                status=(ProviderStatus.ACTIVE if active else ProviderStatus.PENDING).value,
                submitted_at=clock.at(today - timedelta(days=rng.randint(800, 1200)), 10),
                reviewed_at=clock.at(today - timedelta(days=rng.randint(760, 790)), 10),
            )
            # About 2 % hold a certificate that ran out (listed, out of selection).
            expired = rng.random() < 0.02
            valid_to = (
                today - timedelta(days=rng.randint(1, 300))
                if expired
                else today + timedelta(days=rng.randint(90, 1100))
            )
            provider.qualifications.append(
                Qualification(
                    kind=qualification,
                    grade=rng.choice(["甲级", "乙级", None]),
                    certificate_no=f"BK-{n:06d}",
                    issuer="天津市相关主管部门",
                    valid_from=today - timedelta(days=1200),
                    valid_to=valid_to,
                )
            )
            qualifications += 1
            if rng.random() < 0.3:  # a second certificate of the same kind, long valid
                provider.qualifications.append(
                    Qualification(
                        kind=qualification,
                        grade="乙级",
                        certificate_no=f"BK-{n:06d}-2",
                        issuer="天津市相关主管部门",
                        valid_from=today - timedelta(days=900),
                        valid_to=today + timedelta(days=rng.randint(200, 1500)),
                    )
                )
                qualifications += 1
            chosen = codes if len(codes) == 2 else codes[: rng.randint(2, len(codes))]
            for code in chosen:
                provider.offers.append(
                    Offer(
                        service_item_id=self.services[code],
                        committed_days=rng.choice([10, 15, 20, 30]),
                        fee_quote=Decimal(rng.randrange(20000, 150000, 1000)),
                        promise="按承诺时限完成,超期按合同约定承担责任",
                    )
                )
                offers += 1
            db.session.add(provider)
            batch.append((provider, chosen, max(q.valid_to for q in provider.qualifications)))
            made += 1
            if len(batch) == BATCH:
                self._keep_providers(batch, active_only=True)
                batch = []
        self._keep_providers(batch, active_only=True)
        self.made.update(providers=made, offers=offers, qualifications=qualifications)

    def _keep_providers(self, batch, *, active_only: bool) -> None:
        from registry.extensions import db
        from registry.models import ProviderStatus

        db.session.flush()
        for provider, codes, valid_to in batch:
            self.provider_codes.append((provider.uscc, codes))
            if active_only and provider.status != ProviderStatus.ACTIVE.value:
                continue
            for offer in provider.offers:
                code = next(c for c, i in self.services.items() if i == offer.service_item_id)
                self.offering.setdefault(code, []).append(
                    (provider.id, provider.uscc, offer.fee_quote, valid_to)
                )
        self.commit()

    # -- enterprises, projects, roadmaps

    def projects(self) -> None:
        from registry.extensions import db
        from registry.models import User
        from registry.models.accounts import Role
        from registry.pure.uscc import make_uscc
        from registry.services import accounts, market, roadmaps
        from registry.services.errors import RegistryError

        rng = self.rng
        password_hash = accounts._hash(accounts.generate_password())  # noqa: SLF001 - one hash for all
        per_enterprise = 20
        enterprises = max(1, -(-self.counts["projects"] // per_enterprise))
        self.owners: list[int] = []
        for e in range(enterprises):
            enterprise = market.create_enterprise(
                f"天津{DISTRICTS[e % len(DISTRICTS)]}{''.join(rng.sample(BRANDS, 2))}实业有限公司{e:03d}号",
                make_uscc(f"91120116EN{e:06d}"),
            )
            owner = User(
                username=f"bench-owner-{e:04d}",
                display_name=f"{enterprise.name}(业主)",
                password_hash=password_hash,
                role=Role.ENTERPRISE.value,
                enterprise_id=enterprise.id,
            )
            db.session.add(owner)
            db.session.flush()
            self.owners.append(owner.id)
        self.commit()
        # (project id, code, owner id, land-contract date)
        self.project_rows: list[tuple[int, str, int, date]] = []
        steps = progressed = 0
        staff = db.session.get(User, self.staff_id)
        for n in range(self.counts["projects"]):
            category = CATEGORIES[n % len(CATEGORIES)]
            land = self.workday_before(self.today - timedelta(days=rng.randint(20, 900)))
            enterprise_index = n // per_enterprise
            owner = db.session.get(User, self.owners[enterprise_index])
            code = f"{land.year}-120116-{rng.choice(INDUSTRIES)}-03-{800000 + n:06d}"
            project = roadmaps.register_project(
                staff,
                code=code,
                name=f"{DISTRICTS[n % len(DISTRICTS)]}{['厂房', '研发楼', '仓储', '综合楼'][n % 4]}项目{n:04d}号",
                category=category,
                location="天津滨海高新区",
                land_contract_date=land,
                enterprise=owner.enterprise,
                concierge=staff if n % 3 == 0 else None,
                expert=staff if n % 5 == 0 else None,
            )
            steps += len(project.steps)
            self.project_rows.append((project.id, code, owner.id, land))
            # Two projects in three have moved: steps done in order, the last one under way.
            if n % 3 != 2:
                progressed += self._progress(staff, project, land, RegistryError)
            if n % 100 == 99:
                self.commit()
                staff = db.session.get(User, self.staff_id)
        self.commit()
        self.made.update(
            enterprises=enterprises,
            projects=self.counts["projects"],
            roadmap_steps=steps,
            progress_entries=progressed,
        )

    def _progress(self, staff, project, land: date, error_class) -> int:
        from registry.models.roadmap import StepStatus
        from registry.services import roadmaps

        rng, today = self.rng, self.today
        entered = 0
        day = land
        ordered = sorted(project.steps, key=lambda s: (s.sequence, s.id))
        for step in ordered[: rng.randint(1, len(ordered))]:
            started = self.workday_before(day + timedelta(days=rng.randint(0, 5)))
            finished = started + timedelta(days=rng.randint(3, max(4, step.duration or 10)))
            if started < land:
                started = land
            if started > today:
                break
            done = finished <= today and rng.random() < 0.85
            try:
                roadmaps.record_progress(
                    staff,
                    project.code,
                    step.key,
                    status=(StepStatus.DONE if done else StepStatus.STARTED).value,
                    started_on=started,
                    finished_on=finished if done else None,
                    today=today,
                )
            except error_class:
                break
            entered += 1
            if not done:
                break
            day = finished
        return entered

    # -- awards, delivery, ratings

    def awards(self) -> None:
        from registry.extensions import db
        from registry.kernel import clock
        from registry.models import (
            EngagementStatus,
            OwnerRating,
            Quote,
            SelectionMethod,
            SelectionRequest,
            User,
        )
        from registry.pure.workdays import add_working_days, working_days_between
        from registry.services import market

        rng, today = self.rng, self.today
        total = self.counts["awards"]
        rate_share = self.counts["ratings"] / max(total, 1) / 0.95  # ≈5 % are not confirmed yet
        codes = sorted(self.offering)
        awards = quotes = ratings = failed = 0
        # Deadlines spread over the last two years, in order (ids grow with time, as in life).
        days = sorted(rng.randint(8, 730) for _ in range(total))[::-1]
        with _eligibility_among_quoters():
            for n, days_ago in enumerate(days):
                code = codes[rng.randrange(len(codes))]
                method = SelectionMethod[weighted(rng, METHODS)]
                deadline_day = self.workday_before(today - timedelta(days=days_ago))
                deadline = clock.at(deadline_day, 17)
                candidates = [c for c in self.offering[code] if c[3] >= deadline_day]
                if len(candidates) < 3:
                    continue
                project_id, _code, owner_id, _land = self.project_rows[
                    rng.randrange(len(self.project_rows))
                ]
                request = SelectionRequest(
                    ref=f"XQ-{deadline_day.year}-{n + 1:06d}",
                    project_id=project_id,
                    service_item_id=self.services[code],
                    method=method.value,
                    method_reason="涉密事项,仅可委托已签订保密协议的机构(示例理由)"
                    if method == SelectionMethod.DIRECT
                    else None,
                    deadline=deadline,
                    requirements=f"{self.service_names[code]}(采购需求)",
                    created_by_id=owner_id,
                    created_at=deadline - timedelta(days=7),
                )
                db.session.add(request)
                db.session.flush()
                quoting = rng.sample(candidates, 3)
                for provider_id, uscc, fee, _valid in quoting:
                    amount = None
                    if method.uses_price:
                        factor = Decimal(rng.choice(["0.85", "0.9", "0.95", "1.0"]))
                        amount = (fee * factor).quantize(Decimal("1"))
                    db.session.add(
                        Quote(
                            request_id=request.id,
                            provider_id=provider_id,
                            amount=amount,
                            proposal="服务方案"
                            if method == SelectionMethod.BEST_PROPOSAL
                            else None,
                            submission_key=f"bench-{request.ref}-{uscc}",
                            submitted_at=deadline - timedelta(days=2),
                        )
                    )
                    quotes += 1
                db.session.flush()
                owner = db.session.get(User, owner_id)
                decided = deadline + timedelta(hours=1)
                with clock.frozen(decided):
                    decision = market.decide(
                        owner,
                        request.ref,
                        chosen_uscc=quoting[0][1] if method.owner_decides else None,
                        reason="方案技术路线完整、工期安排合理" if method.owner_decides else None,
                        now=decided,
                    )
                if decision.award is None:
                    failed += 1
                    continue
                awards += 1
                engagement = decision.award.engagement
                contract = add_working_days(deadline_day, 3)
                submitted = add_working_days(
                    contract, engagement.committed_days + rng.choice([-3, -1, 0, 2])
                )
                if contract <= today:
                    engagement.contract_date = contract
                    engagement.due_date = add_working_days(contract, engagement.committed_days)
                    engagement.status = EngagementStatus.IN_PROGRESS.value
                    confirmed = add_working_days(submitted, 2)
                    if submitted < today:
                        engagement.submitted_at = clock.at(submitted, 15)
                        engagement.status = EngagementStatus.SUBMITTED.value
                    if submitted < today and confirmed < today:
                        engagement.status = EngagementStatus.CONFIRMED.value
                        engagement.confirmed_at = clock.at(confirmed, 11)
                        if submitted > engagement.due_date:
                            engagement.overrun_days = working_days_between(
                                engagement.due_date, submitted
                            )
                        if rng.random() < rate_share and ratings < self.counts["ratings"]:
                            rated = min(clock.at(add_working_days(confirmed, 1), 16), clock.now())
                            db.session.add(
                                OwnerRating(
                                    engagement=engagement,
                                    provider_id=decision.award.provider_id,
                                    comment_html="<p>成果质量较好,沟通及时。</p>",
                                    created_at=rated,
                                    **{
                                        part: rng.randint(68, 99)
                                        for part in (
                                            "quality",
                                            "timeliness",
                                            "attitude",
                                            "fee",
                                            "conduct",
                                        )
                                    },
                                )
                            )
                            ratings += 1
                if n % BATCH == BATCH - 1:
                    self.commit()
        self.commit()
        self.made.update(
            selection_requests=awards + failed,
            quotes=quotes,
            awards=awards,
            failed_selections=failed,
            ratings=ratings,
        )

    # -- credit notices

    def notices(self) -> None:
        from registry.extensions import db
        from registry.kernel import clock
        from registry.models import CreditKind, Department, User
        from registry.models.accounts import Role
        from registry.services import accounts, credit

        rng, today = self.rng, self.today
        password_hash = accounts._hash(accounts.generate_password())  # noqa: SLF001 - one hash for all
        regulators: dict[int, int] = {}
        for department in db.session.scalars(db.select(Department).order_by(Department.id)):
            if department.id not in set(self.departments.values()):
                continue
            user = User(
                username=f"bench-regulator-{department.code.lower()}",
                display_name=f"监管员·{department.name}",
                password_hash=password_hash,
                role=Role.REGULATOR.value,
                department_id=department.id,
            )
            db.session.add(user)
            db.session.flush()
            regulators[department.id] = user.id
        self.commit()
        total = self.counts["notices"]
        # Published over the last three years, oldest first.
        days = sorted(rng.randint(0, 1095) for _ in range(total))[::-1]
        published = blacklisted = 0
        for n, days_ago in enumerate(days):
            uscc, codes = self.provider_codes[rng.randrange(len(self.provider_codes))]
            code = rng.choice(codes)
            kind = weighted(rng, NOTICE_KINDS)
            if n % 1000 == 999:
                kind = "BLACKLIST"
            day = self.workday_before(today - timedelta(days=days_ago))
            title, facts = (t.format(service=self.service_names[code]) for t in NOTICE_TEXT[kind])
            regulator = db.session.get(User, regulators[self.departments[code]])
            with clock.frozen(clock.at(day, rng.randint(9, 17), rng.randint(0, 59))):
                draft = credit.draft_record(
                    regulator,
                    provider_uscc=uscc,
                    kind=CreditKind[kind].value,
                    title=title,
                    facts=facts + f"(记录 {n + 1})",
                    basis="《天津市中介服务监督管理办法》相关条款",
                    term_until=day + timedelta(days=365) if kind == "BLACKLIST" else None,
                )
                credit.publish_record(regulator, draft.number)
            published += 1
            blacklisted += kind == "BLACKLIST"
            if n % BATCH == BATCH - 1:
                self.commit()
        self.commit()
        self.made.update(notices=published, blacklistings=blacklisted)


@contextmanager
def _eligibility_among_quoters():
    """decide() re-checks who may take part with services.market.eligible_providers, which loads
    every active provider offering the item (≈450 with their qualifications and offers at full
    size) to keep the quoting three; here the same rules (candidate_for and the selection
    engine's eligibility) run on the quoting providers only, which gives decide() the same set."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from registry.extensions import db
    from registry.models import Offer, Provider, ProviderStatus, Quote
    from registry.pure import selection_engine as engine
    from registry.services.market import awards, selection

    original = awards.eligible_providers

    def among_quoters(request, on=None):
        quoting = select(Quote.provider_id).where(Quote.request_id == request.id)
        providers = db.session.scalars(
            select(Provider)
            .join(Offer, Offer.provider_id == Provider.id)
            .where(Offer.service_item_id == request.service_item_id, Offer.is_active.is_(True))
            .where(Provider.status == ProviderStatus.ACTIVE.value, Provider.id.in_(quoting))
            .options(selectinload(Provider.qualifications), selectinload(Provider.offers))
            .order_by(Provider.uscc)
        ).all()
        on = on or selection.today()
        keep, _reasons = engine.eligibility(
            [selection.candidate_for(p, request, on) for p in providers], on
        )
        keys = {c.key for c in keep}
        return [p for p in providers if p.uscc in keys]

    awards.eligible_providers = among_quoters
    try:
        yield
    finally:
        awards.eligible_providers = original


# ------------------------------------------------------------------------------------ building


def _cli(env: dict[str, str], *args: str) -> str:
    # The code beside this script, whatever the virtualenv's editable install points at.
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
    done = subprocess.run(
        [BIN / "registry", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"registry {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build(folder: Path, counts: dict[str, int], seed: int, profile: bool = False) -> dict:
    """Build the data set into `folder` (empty); returns the manifest."""
    progress = Progress(profile)
    variables = environment(folder)
    env = {**os.environ, **variables}
    began = time.perf_counter()
    with progress.part("init-db and seed --demo"):
        _cli(env, "init-db")
        out = _cli(env, "seed", "--demo")
    passwords = dict(re.findall(r"^\s+(demo-[\w-]+)\s+\S+\s+(\S+)\s*$", out, re.MULTILINE))
    (folder / "accounts.json").write_text(json.dumps(passwords, indent=2) + "\n")

    from registry import create_app
    from registry.extensions import db
    from registry.services import grades

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": variables["REGISTRY_DATABASE_URL"],
            "SEARCH_INDEX_DIR": variables["REGISTRY_SEARCH_INDEX_DIR"],
            "UPLOAD_DIR": variables["REGISTRY_UPLOAD_DIR"],
            "MAIL_DIR": variables["REGISTRY_MAIL_DIR"],
        }
    )
    with app.app_context():
        # Derived data is made once at the end (module docstring): grade and search hooks off.
        search = app.extensions.pop("search")
        app.extensions["grades"] = False
        made = Generator(counts, seed, progress).run()
        app.extensions["grades"] = True
        app.extensions["search"] = search
        with progress.part("credit grades (recompute_all)"):
            graded, _changes = grades.recompute_all()
            db.session.commit()
        made["graded"] = graded
        db.session.remove()
        db.engine.dispose()
    with progress.part("search index (registry reindex)"):
        indexed = _cli(env, "reindex")
    found = re.search(r"(\d+)", indexed.strip().splitlines()[-1])
    made["indexed_documents"] = int(found.group(1)) if found else -1
    (folder / "env.sh").write_text("".join(f"export {k}={v}\n" for k, v in variables.items()))
    return {
        "version": VERSION,
        "seed": seed,
        "counts_asked": counts,
        "made": made,
        "timings_s": progress.timings,
        "total_s": round(time.perf_counter() - began, 1),
        "built_on": str(date.today()),
    }


def load_postgresql(folder: Path, url: str) -> float:
    """Copy the SQLite data set into the PostgreSQL database at `url` (migrated first; tables
    emptied), row for row, then move the id sequences on. Returns the seconds it took."""
    from sqlalchemy import create_engine, func, insert, select, text

    from registry import models  # noqa: F401 - the tables into the metadata
    from registry.extensions import db

    began = time.perf_counter()
    _cli({**os.environ, **environment(folder), "REGISTRY_DATABASE_URL": url}, "init-db")
    source = create_engine(f"sqlite:///{folder / 'registry.db'}")
    target = create_engine(url)
    tables = [t for t in db.metadata.sorted_tables if t.name != "alembic_version"]
    with source.connect() as read, target.begin() as write:
        names = ", ".join(f'"{t.name}"' for t in tables)
        write.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table in tables:
            rows = [dict(r._mapping) for r in read.execute(select(table))]  # noqa: SLF001
            for start in range(0, len(rows), 5000):
                write.execute(insert(table), rows[start : start + 5000])
            if "id" in table.c and rows:
                highest = write.scalar(select(func.max(table.c.id)))
                write.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"),
                    {"t": table.name, "v": highest},
                )
    return round(time.perf_counter() - began, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the data set is written (and cached)")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--fresh", action="store_true", help="rebuild even when cached")
    parser.add_argument("--database-url", help="also load this PostgreSQL database")
    parser.add_argument("--profile", action="store_true", help="print each part's profile")
    args = parser.parse_args()
    folder = args.folder.resolve()
    counts = scaled(args.scale)
    manifest_file = folder / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    cached = (
        manifest is not None
        and not args.fresh
        and (manifest["version"], manifest["seed"], manifest["counts_asked"])
        == (VERSION, args.seed, counts)
    )
    if cached:
        print(f"reusing {folder} (built {manifest['built_on']} in {manifest['total_s']} s)")
        # Migrations added since the build (other work on the schema) are applied to the copy.
        _cli({**os.environ, **environment(folder)}, "init-db")
    else:
        building = folder.with_name(folder.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        print(f"building {folder} at scale {args.scale} …")
        manifest = build(building, counts, args.seed, args.profile)
        # Paths inside the folder name it: write them for where it ends up.
        (building / "env.sh").write_text(
            "".join(f"export {k}={v}\n" for k, v in environment(folder).items())
        )
        (building / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        )
        shutil.rmtree(folder, ignore_errors=True)
        building.rename(folder)
    if args.database_url:
        seconds = load_postgresql(folder, args.database_url)
        print(f"loaded into {args.database_url} in {seconds} s")
    print("made: " + ", ".join(f"{k} {v:,}" for k, v in manifest["made"].items()))
    print("time: " + ", ".join(f"{k} {v} s" for k, v in manifest["timings_s"].items()))
    print(f"total {manifest['total_s']} s; site: source {folder / 'env.sh'}")


if __name__ == "__main__":
    main()
