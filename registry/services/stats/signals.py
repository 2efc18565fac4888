"""Integrity signals for staff (待核查线索, never findings): providers that bid together unusually
often, winners rotating within such a group, near-identical prices on one request, and a provider
that always loses to the same winner. Each row names the decided requests behind it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import aliased

from registry.extensions import db
from registry.models.catalogue import ServiceItem
from registry.models.market import Award, Quote, SelectionRequest
from registry.models.providers import Provider
from registry.services.stats.common import (
    DECIDED,
    STANDING,
    Refs,
    Settings,
    Table,
    bid_counts,
    bids,
    pct,
)


@dataclass
class _Market:
    """What the signals read, fetched once: providers' bids on decided requests (for the providers
    in some signal), awards, refs and deadlines."""

    names: dict[int, str]
    bids_of: dict[int, set[int]]
    winner: dict[int, int]
    refs: dict[int, str]
    order: dict[int, Any]

    def refs_of(self, request_ids) -> Refs:
        ordered = sorted(request_ids, key=lambda i: (self.order[i], i))
        return Refs(self.refs[i] for i in ordered)


def _pair_counts(minimum: int) -> dict[tuple[int, int], int]:
    """Pairs of providers (lower id first) that bid on the same decided request at least
    `minimum` times, with that count."""
    a, b = bids().alias("a"), bids().alias("b")
    rows = db.session.execute(
        select(a.c.provider_id, b.c.provider_id.label("other"), func.count().label("n"))
        .join(b, and_(a.c.request_id == b.c.request_id, a.c.provider_id < b.c.provider_id))
        .group_by(a.c.provider_id, b.c.provider_id)
        .having(func.count() >= minimum)
    )
    return {(r.provider_id, r.other): r.n for r in rows}


def _market_of(providers: set[int]) -> _Market:
    names, bids_of, winner, refs, order = {}, defaultdict(set), {}, {}, {}
    if providers:
        ids = sorted(providers)
        names = {
            r.id: f"{r.name}({r.uscc})"
            for r in db.session.execute(
                select(Provider.id, Provider.name, Provider.uscc).where(Provider.id.in_(ids))
            )
        }
        bid = bids()
        rows = db.session.execute(
            select(
                bid.c.request_id,
                bid.c.provider_id,
                SelectionRequest.ref,
                SelectionRequest.deadline,
                Award.provider_id.label("winner"),
            )
            .join(SelectionRequest, SelectionRequest.id == bid.c.request_id)
            .outerjoin(Award, and_(Award.request_id == bid.c.request_id, STANDING))
            .where(bid.c.provider_id.in_(ids))
        )
        for r in rows:
            bids_of[r.provider_id].add(r.request_id)
            refs[r.request_id], order[r.request_id] = r.ref, r.deadline
            if r.winner is not None:
                winner[r.request_id] = r.winner
    return _Market(names, bids_of, winner, refs, order)


def _components(pairs) -> list[list[int]]:
    """Groups of providers linked by the flagged pairs (connected components)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    return sorted(sorted(g) for g in groups.values())


def signal_tables(s: Settings) -> list[Table]:
    """The staff's integrity signals (待核查线索): each a table whose rows name the providers and
    link the decided requests behind them, with how it was computed."""
    counts = bid_counts()
    pair_counts = _pair_counts(min(s.pair_min_common, s.loser_min_common))
    flagged = {}
    for (a, b), n in pair_counts.items():
        fewer = min(counts.get(a, 0), counts.get(b, 0))
        if n >= s.pair_min_common and fewer and n / fewer >= s.pair_min_share:
            flagged[(a, b)] = n
    loser_rows = db.session.execute(_loser_query(s.loser_min_common)).all()
    losers = []
    for r in loser_rows:
        key = (min(r.loser, r.winner), max(r.loser, r.winner))
        common = pair_counts.get(key, 0)
        if common >= s.loser_min_common and r.n / common >= s.loser_min_share:
            losers.append((r.loser, r.winner, r.n, common))
    people = {p for pair in flagged for p in pair} | {p for row in losers for p in row[:2]}
    market = _market_of(people)
    return [
        _co_bidding(s, flagged, counts, market),
        _rotation(s, flagged, market),
        price_signal_table(s),
        _same_winner(s, losers, market),
    ]


def _co_bidding(s: Settings, flagged: dict, counts: dict[int, int], market: _Market) -> Table:
    """Pairs that bid together unusually often."""
    pairs = Table(
        "signal-co-bidding",
        "经常共同报名的机构",
        (
            "机构 A",
            "机构 B",
            "共同报名(次)",
            "A 报名(次)",
            "B 报名(次)",
            "共同报名占较少一方的比例",
            "相关公告",
        ),
        staff=True,
        note=(
            f"两家机构在已结束的公告中共同报名不少于 {s.pair_min_common} 次,且共同报名次数占报名较少一方"
            f"全部报名的比例不低于 {s.pair_min_share:.0%}。"
        ),
    )
    for (a, b), n in sorted(flagged.items(), key=lambda i: (-i[1], i[0]))[: s.signal_limit]:
        common = market.bids_of[a] & market.bids_of[b]
        pairs.rows.append(
            (
                market.names[a],
                market.names[b],
                n,
                counts[a],
                counts[b],
                pct(n, min(counts[a], counts[b])),
                market.refs_of(common),
            )
        )
    return pairs


def _rotation(s: Settings, flagged: dict, market: _Market) -> Table:
    """Groups of such pairs whose shared requests went to the group, won in turns."""
    rotation = Table(
        "signal-rotation",
        "组内轮流中选",
        (
            "组内机构",
            "组内至少两家共同报名的公告(个)",
            "组内中选(次)",
            "中选机构(家)",
            "中选顺序",
            "相关公告",
        ),
        staff=True,
        note=(
            "“组”由上表经常共同报名的机构连成;在组内至少两家共同报名的公告中(不少于 "
            f"{s.rotation_min_requests} 个),中选者是组内机构的比例不低于 {s.rotation_min_share:.0%},"
            "且至少两家组内机构轮流中选。"
        ),
    )
    for group in _components(flagged):
        members = set(group)
        requests = Counter(r for p in group for r in market.bids_of[p])
        shared = [r for r, n in requests.items() if n >= 2]
        if len(shared) < s.rotation_min_requests:
            continue
        ordered = sorted(shared, key=lambda i: (market.order[i], i))
        winners = [market.winner.get(r) for r in ordered]
        inside = [w for w in winners if w in members]
        if len(inside) / len(shared) < s.rotation_min_share or len(set(inside)) < 2:
            continue
        sequence = " → ".join(
            market.names[w].split("(")[0] if w in members else "组外/流标" for w in winners
        )
        rotation.rows.append(
            (
                "、".join(market.names[p] for p in group),
                len(shared),
                len(inside),
                len(set(inside)),
                sequence,
                market.refs_of(shared),
            )
        )
        if len(rotation.rows) >= s.signal_limit:
            break
    return rotation


def _same_winner(s: Settings, losers: list[tuple], market: _Market) -> Table:
    """A provider that (nearly) always lost to the same winner when both bid."""
    always = Table(
        "signal-same-winner",
        "总是输给同一家",
        ("未中选机构", "中选机构", "共同报名(次)", "其中该机构中选(次)", "相关公告"),
        staff=True,
        note=(
            f"两家机构共同报名的已结束公告不少于 {s.loser_min_common} 次,其中由同一家中选的比例不低于"
            f" {s.loser_min_share:.0%}。"
        ),
    )
    for loser, winner, n, common in sorted(losers, key=lambda r: (-r[2], r[0], r[1]))[
        : s.signal_limit
    ]:
        shared = market.bids_of[loser] & market.bids_of[winner]
        always.rows.append(
            (market.names[loser], market.names[winner], common, n, market.refs_of(shared))
        )
    return always


def _loser_query(minimum: int):
    """(loser, winner, n): a provider that bid and lost to the same winner at least `minimum`
    times."""
    bid = bids()
    return (
        select(
            bid.c.provider_id.label("loser"),
            Award.provider_id.label("winner"),
            func.count().label("n"),
        )
        .join(
            Award,
            and_(
                Award.request_id == bid.c.request_id,
                Award.provider_id != bid.c.provider_id,
                STANDING,
            ),
        )
        .group_by(bid.c.provider_id, Award.provider_id)
        .having(func.count() >= minimum)
    )


def price_signal_table(s: Settings) -> Table:
    """Decided requests where two bids (each provider's latest revision) are within `price_gap`
    of each other."""
    latest = (
        select(Quote.request_id, Quote.provider_id, func.max(Quote.revision).label("revision"))
        .join(SelectionRequest, SelectionRequest.id == Quote.request_id)
        .where(SelectionRequest.status.in_(DECIDED))
        .group_by(Quote.request_id, Quote.provider_id)
        .subquery()
    )
    priced = (
        select(Quote.request_id, Quote.provider_id, Quote.amount)
        .join(
            latest,
            and_(
                latest.c.request_id == Quote.request_id,
                latest.c.provider_id == Quote.provider_id,
                latest.c.revision == Quote.revision,
            ),
        )
        .where(Quote.amount.is_not(None), Quote.amount > 0)
        .subquery()
    )
    a, b = priced.alias("a"), priced.alias("b")
    pa, pb = aliased(Provider), aliased(Provider)
    lower = case((a.c.amount < b.c.amount, a.c.amount), else_=b.c.amount)
    gap = case((a.c.amount > b.c.amount, a.c.amount - b.c.amount), else_=b.c.amount - a.c.amount)
    rows = db.session.execute(
        select(
            SelectionRequest.ref,
            ServiceItem.code,
            pa.name.label("name_a"),
            pa.uscc.label("uscc_a"),
            a.c.amount.label("amount_a"),
            pb.name.label("name_b"),
            pb.uscc.label("uscc_b"),
            b.c.amount.label("amount_b"),
        )
        .select_from(a)
        .join(b, and_(a.c.request_id == b.c.request_id, a.c.provider_id < b.c.provider_id))
        .join(SelectionRequest, SelectionRequest.id == a.c.request_id)
        .join(ServiceItem, ServiceItem.id == SelectionRequest.service_item_id)
        .join(pa, pa.id == a.c.provider_id)
        .join(pb, pb.id == b.c.provider_id)
        .where(gap <= lower * literal(s.price_gap))
        .order_by(SelectionRequest.deadline.desc(), SelectionRequest.ref, pa.uscc, pb.uscc)
        .limit(s.signal_limit)
    )
    table = Table(
        "signal-close-prices",
        "同一公告中报价几乎相同",
        ("公告", "服务事项", "机构 A", "报价 A(元)", "机构 B", "报价 B(元)", "相差"),
        staff=True,
        note=f"同一已结束公告中,两家机构最后一次报价相差不超过较低报价的 {s.price_gap:.1%}(含完全相同)。",
    )
    for r in rows:
        amount_a, amount_b = float(r.amount_a), float(r.amount_b)
        table.rows.append(
            (
                Refs([r.ref]),
                r.code,
                f"{r.name_a}({r.uscc_a})",
                f"{amount_a:,.2f}",
                f"{r.name_b}({r.uscc_b})",
                f"{amount_b:,.2f}",
                pct(abs(amount_a - amount_b), min(amount_a, amount_b)),
            )
        )
    return table
