"""The demo regulators' credit records (示例) about fictional demo firms, published through the
credit services so that the notice board, its feed and the API show one of each story a visitor
should recognise: a 表扬, a 约谈提醒, a 警示通报 the firm objected to and the department answered,
a 列入黑名单 with its term, and a 信用修复 that ended an earlier blacklisting.

Each story is dated from the day of seeding (days_ago): the clock is moved to that day while it
is published, so its 公示期, objection window and audit trail read as they would have then; the
newest are published today and are in their 公示期. Idempotent per story: a story whose title is
already on record is not told again (a database seeded before these existed gains the missing).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    CreditKind,
    CreditRecord,
    ObjectionOutcome,
    Provider,
    ProviderStatus,
    ServiceItem,
    User,
)
from registry.models.providers import Offer
from registry.pure.workdays import add_working_days, on_or_before_workday
from registry.services import credit
from registry.services.errors import RegistryError

NOTE = "(示例数据,所涉机构均为虚构)"


@dataclass(frozen=True)
class Story:
    """One record: who publishes it, about which demo firm (the `firm`-th active demo firm, by
    code, offering `service`), what it says, and how many days before the seeding day."""

    regulator: str
    service: str
    firm: int
    kind: CreditKind
    title: str
    facts: str
    basis: str
    days_ago: int = 0
    term_days: int | None = None  # 列入黑名单: the term runs this many days from publication
    objection: tuple[str, str] | None = None  # the firm's reason and the department's answer


STORIES = [
    # Oldest first: the blacklisting the 信用修复 ends is published before it.
    Story(
        "demo-regulator-sw",
        "ZJ-04",
        2,
        CreditKind.BLACKLIST,
        "水土保持方案编制弄虚作假列入黑名单(示例)",
        "该机构在一份水土保持方案中编造监测数据,经核查属实,列入本部门中介服务黑名单。" + NOTE,
        "本部门中介服务监管办法(示例引用)",
        days_ago=150,
        term_days=730,
    ),
    Story(
        "demo-regulator-sw",
        "ZJ-04",
        2,
        CreditKind.REPAIR,
        "完成整改准予信用修复(示例)",
        "该机构已完成整改,提交信用修复申请及承诺书,经审核准予修复,提前结束黑名单期限。" + NOTE,
        "本部门中介服务信用修复办法(示例引用)",
        days_ago=45,
    ),
    Story(
        "demo-regulator-sthj",
        "ZJ-03",
        0,
        CreditKind.WARNING,
        "环评文件超期提交警示通报(示例)",
        "该机构承接的一项环境影响报告表编制服务超过承诺时限 12 个工作日提交成果,予以警示通报。"
        + NOTE,
        "《建设项目环境影响报告书(表)编制监督管理办法》(示例引用)",
        days_ago=20,
        objection=(
            "超期系建设单位补充资料延迟所致,附往来函件说明。(示例)",
            "经核查,建设单位补充资料在承诺时限内已送达,超期原因在于本机构,异议不成立,维持原记录。"
            "(示例)",
        ),
    ),
    Story(
        "demo-regulator-sthj",
        "ZJ-03",
        1,
        CreditKind.INTERVIEW,
        "环评文件编制质量问题约谈提醒(示例)",
        "抽查发现该机构编制的一份环境影响报告表存在基础资料引用不规范等问题,已约谈提醒并责令整改。"
        "(示例数据)",
        "《建设项目环境影响报告书(表)编制监督管理办法》(示例引用)",
    ),
    Story(
        "demo-regulator-sw",
        "ZJ-04",
        0,
        CreditKind.COMMENDATION,
        "水土保持方案编制工作表扬(示例)",
        "该机构按承诺时限完成水土保持方案编制,成果一次通过技术审查,予以表扬。(示例数据)",
        "本部门中介服务监管办法(示例引用)",
    ),
    Story(
        "demo-regulator-sw",
        "ZJ-04",
        1,
        CreditKind.BLACKLIST,
        "出具虚假水土保持监测报告列入黑名单(示例)",
        "该机构出具的水土保持监测报告与现场情况严重不符,列入本部门中介服务黑名单,"
        "期限内不得参与选取。" + NOTE,
        "本部门中介服务监管办法(示例引用)",
        term_days=365,
    ),
]


def seed_demo_notices() -> int:
    """Tell each story not yet on record; returns how many records were published."""
    told = set(db.session.scalars(select(CreditRecord.title)))
    today = clock.today()
    published = 0
    for story in STORIES:
        if story.title in told:
            continue
        regulator = db.session.scalar(select(User).where(User.username == story.regulator))
        provider = firm_offering(story.service, story.firm)
        if regulator is None or provider is None:
            continue
        published += _tell(story, regulator, provider, today)
    return published


def firm_offering(service_code: str, index: int) -> Provider | None:
    """The index-th active demo firm (by code) that offers the service."""
    return db.session.scalar(
        select(Provider)
        .join(Offer, Offer.provider_id == Provider.id)
        .join(ServiceItem, ServiceItem.id == Offer.service_item_id)
        .where(
            Provider.is_demo.is_(True),
            Provider.status == ProviderStatus.ACTIVE.value,
            ServiceItem.code == service_code,
        )
        .order_by(Provider.uscc)
        .offset(index)
        .limit(1)
    )


def on_day(day: date, hour: int, today: date):
    """The clock moved to a moment of the story, office hours on its day; left as it is when that
    moment is still to come (seeded early on the day itself). Seeded in the evening, a record
    "published today" carried the seeding time (stop 29's list)."""
    moment = clock.at(day, hour)
    return clock.frozen(moment) if day <= today and moment < clock.now() else nullcontext()


def _tell(story: Story, regulator: User, provider: Provider, today: date) -> int:
    """Publish the story's record on its day and, when it has one, the firm's objection the next
    day and the department's answer (维持) three days later; 0 when the firm's credit history
    does not allow it (a 信用修复 without a blacklisting in force)."""
    # A department publishes on a working day; its answers follow on working days too.
    day = on_or_before_workday(today - timedelta(days=story.days_ago))
    with on_day(day, 10, today):
        term = day + timedelta(days=story.term_days) if story.term_days else None
        try:
            draft = credit.draft_record(
                regulator,
                provider_uscc=provider.uscc,
                kind=story.kind.value,
                title=story.title,
                facts=story.facts,
                basis=story.basis,
                term_until=term,
            )
        except RegistryError:
            return 0
        item = credit.publish_record(regulator, draft.number)
    account = db.session.get(User, provider.account_id) if provider.account_id else None
    if story.objection and account is not None and story.days_ago >= 5:
        reason, answer = story.objection
        with on_day(add_working_days(day, 1), 15, today):
            objection = credit.object_to_record(account, item.number, reason=reason)
        with on_day(add_working_days(day, 4), 10, today):
            credit.answer_objection(
                regulator, objection.id, outcome=ObjectionOutcome.REJECTED.value, answer=answer
            )
    return 1
