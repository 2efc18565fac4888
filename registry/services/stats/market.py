"""The marketplace's health: requests by method with the share of 直接选取, bids per request and
the 流标 rate, awarded prices against the request's band, award concentration per service item
(top-3 share, HHI) and providers' win rates. An award withdrawn after an upheld objection did
not stand: only standing awards count (the request's new result counts instead)."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import and_, case, func, select

from registry.extensions import db
from registry.models.market import Award, RequestStatus, SelectionMethod, SelectionRequest
from registry.models.providers import Provider
from registry.services.stats.common import STANDING, Settings, Table, bids, one, pct


def method_table() -> tuple[Table, str]:
    """Requests by method: how many, their share, decided, 流标 and its rate, bids per decided
    request; and the share of 直接选取 among all requests."""
    status = SelectionRequest.status
    counts = {
        r.method: r
        for r in db.session.execute(
            select(
                SelectionRequest.method,
                func.count().label("total"),
                func.sum(case((status == RequestStatus.AWARDED.value, 1), else_=0)).label(
                    "awarded"
                ),
                func.sum(case((status == RequestStatus.FAILED.value, 1), else_=0)).label("failed"),
            )
            .where(status != RequestStatus.CANCELLED.value)
            .group_by(SelectionRequest.method)
        )
    }
    bid = bids()
    bid_counts = dict(
        db.session.execute(
            select(SelectionRequest.method, func.count())
            .join(bid, bid.c.request_id == SelectionRequest.id)
            .group_by(SelectionRequest.method)
        ).all()
    )
    total = sum(r.total for r in counts.values())
    table = Table(
        "requests-by-method",
        "选取公告(按选取方式)",
        (
            "选取方式",
            "公告(个)",
            "占比",
            "已选定(个)",
            "流标(个)",
            "流标率",
            "每个已结束公告平均报名(家)",
        ),
        note="不含已撤销的公告;流标率 = 流标 ÷(已选定 + 流标);报名家数只计已结束(已选定或流标)的公告。",
    )
    sums = Counter()
    for method in SelectionMethod:
        r = counts.get(method.value)
        if r is None:
            continue
        awarded, failed = int(r.awarded), int(r.failed)
        decided = awarded + failed
        bidders = bid_counts.get(method.value, 0)
        sums.update(total=r.total, awarded=awarded, failed=failed, bidders=bidders)
        table.rows.append(
            (
                method.value,
                r.total,
                pct(r.total, total),
                awarded,
                failed,
                pct(failed, decided),
                one(bidders / decided if decided else None),
            )
        )
    if table.rows:
        decided = sums["awarded"] + sums["failed"]
        table.rows.append(
            (
                "合计",
                sums["total"],
                pct(sums["total"], total),
                sums["awarded"],
                sums["failed"],
                pct(sums["failed"], decided),
                one(sums["bidders"] / decided if decided else None),
            )
        )
    direct = counts.get(SelectionMethod.DIRECT.value)
    return table, pct(direct.total if direct else 0, total)


def price_table(services: dict[int, tuple[str, str]]) -> Table:
    """Awarded amounts against the request's price band (区间), per service item."""
    request = SelectionRequest
    midpoint_ratio = case(
        (
            and_(
                request.price_min.is_not(None),
                request.price_max.is_not(None),
                request.price_min + request.price_max > 0,
            ),
            Award.amount * 2 / (request.price_min + request.price_max),
        )
    )
    rows = db.session.execute(
        select(
            request.service_item_id,
            func.count().label("n"),
            func.sum(
                case(
                    (and_(request.price_min.is_not(None), Award.amount < request.price_min), 1),
                    else_=0,
                )
            ).label("below"),
            func.sum(
                case(
                    (and_(request.price_max.is_not(None), Award.amount > request.price_max), 1),
                    else_=0,
                )
            ).label("above"),
            func.avg(midpoint_ratio).label("ratio"),
        )
        .join(Award, Award.request_id == request.id)
        .where(
            STANDING,
            Award.amount.is_not(None),
            (request.price_min.is_not(None)) | (request.price_max.is_not(None)),
        )
        .group_by(request.service_item_id)
    )
    table = Table(
        "price-vs-band",
        "中选价格与公告价格区间(按服务事项)",
        (
            "服务事项",
            "有价格区间的中选(个)",
            "低于下限(个)",
            "区间内(个)",
            "高于上限(个)",
            "中选价 ÷ 区间中值(平均)",
        ),
        note="价格区间为业主在选取公告中设定的最低价与最高价;服务事项的取费标准见事项页面。",
    )
    for r in sorted(rows, key=lambda r: services.get(r.service_item_id, ("", ""))[0]):
        code, name = services.get(r.service_item_id, ("?", "?"))
        below, above = int(r.below), int(r.above)
        table.rows.append(
            (
                f"{code} {name}",
                r.n,
                below,
                r.n - below - above,
                above,
                "—" if r.ratio is None else f"{float(r.ratio):.2f}",
            )
        )
    return table


def concentration_table(services: dict[int, tuple[str, str]]) -> Table:
    """Award concentration per service item: winners, top-3 share and HHI (0–10000)."""
    rows = db.session.execute(
        select(SelectionRequest.service_item_id, Award.provider_id, func.count().label("n"))
        .join(Award, Award.request_id == SelectionRequest.id)
        .where(STANDING)
        .group_by(SelectionRequest.service_item_id, Award.provider_id)
    )
    wins: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        wins[r.service_item_id].append(r.n)
    table = Table(
        "award-concentration",
        "中选集中度(按服务事项)",
        ("服务事项", "中选(个)", "中选机构(家)", "前三家占比", "HHI"),
        note="HHI = 各机构中选份额(%)的平方和(0–10000,越高越集中;一家独得为 10000)。",
    )
    for service_id, counts in sorted(wins.items(), key=lambda i: services.get(i[0], ("", ""))[0]):
        total = sum(counts)
        top3 = sum(sorted(counts, reverse=True)[:3])
        hhi = round(sum((100 * n / total) ** 2 for n in counts))
        code, name = services.get(service_id, ("?", "?"))
        table.rows.append((f"{code} {name}", total, len(counts), pct(top3, total), hhi))
    return table


def win_table(s: Settings) -> Table:
    """Providers' win rates over decided requests they bid on (from `min_bids` bids)."""
    bid = bids()
    won = func.count(Award.id)
    rows = db.session.execute(
        select(Provider.name, Provider.uscc, func.count().label("bids"), won.label("wins"))
        .select_from(bid)
        .join(Provider, Provider.id == bid.c.provider_id)
        .outerjoin(
            Award,
            and_(
                Award.request_id == bid.c.request_id,
                Award.provider_id == bid.c.provider_id,
                STANDING,
            ),
        )
        .group_by(Provider.id, Provider.name, Provider.uscc)
        .having(func.count() >= s.min_bids)
        .order_by(func.count().desc(), won.desc(), Provider.uscc)
    )
    table = Table(
        "win-rates",
        "中介机构中选率",
        ("机构", "统一社会信用代码", "参与(次)", "中选(次)", "中选率"),
        shown=s.page_rows,
        note=f"参与 = 报名已结束的公告;列出参与不少于 {s.min_bids} 次的机构,按参与次数排序。",
    )
    for r in rows:
        table.rows.append((r.name, r.uscc, r.bids, r.wins, pct(r.wins, r.bids)))
    return table
