"""The marketplace's selection rules as pure functions: eligibility, the public draw, price rules.

Nothing here touches the database or Flask, so an award can be re-computed from its published
inputs by anyone, with this module or with the algorithm text in `draw_seed` and `draw`.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext

from registry.pure.money import format_money

ALGORITHM_VERSION = "sha256-ctr-v1"

# Best first; a grade missing from the map (None, 未评级) ranks after D.
GRADE_ORDER = ("AA", "A", "B", "C", "D")

NOT_ENOUGH_MESSAGE = "有效参与者不足 2 家"  # the reason; the pages say 选取失败 and 可重新发布


class NotEnoughCandidates(ValueError):
    """Fewer than two eligible or valid participants: the request fails and may be reposted."""

    def __init__(self, valid: int, invalid: Mapping[str, str] | None = None):
        super().__init__(NOT_ENOUGH_MESSAGE)
        self.valid = valid
        self.invalid = dict(invalid or {})


@dataclass(frozen=True)
class Candidate:
    """A provider as the selection sees it on one request."""

    key: str
    name: str
    active: bool
    offers_item: bool
    qualification_valid_until: date | None
    blacklisted: bool
    excluded: bool
    grade: str | None
    credit_score: Decimal | float | None
    # Whether its people meet the request's certificate requirement (项目负责人, team counts):
    # decided outside (before quoting from the roster, at the decision from the quote's team) and
    # recorded with the draw's inputs.
    staffed: bool = True


@dataclass(frozen=True)
class Quote:
    """One provider's price for a request."""

    key: str
    amount: Decimal


@dataclass(frozen=True)
class Outcome:
    """Who won, by which rule, and the figures a member of the public needs to re-check it."""

    winner: str
    method: str
    explanation: str
    seed: str
    participants: tuple[str, ...]  # valid participants, sorted
    shortlist: tuple[str, ...]  # best on the method's own criterion (tied price, credit top N)
    draw_pool: tuple[str, ...]  # what the draw chose among; one key means no draw was needed
    mean: Decimal | None = None
    invalid: dict[str, str] = field(default_factory=dict)
    algorithm: str = ALGORITHM_VERSION


def _unique_sorted(keys: Sequence[str]) -> list[str]:
    """Sorted keys; a duplicate is a caller bug that would give one provider two tickets."""
    ordered = sorted(keys)
    if len(set(ordered)) != len(ordered):
        raise ValueError("候选机构重复")
    return ordered


def eligibility(
    candidates: Sequence[Candidate], on: date
) -> tuple[list[Candidate], dict[str, str]]:
    """Split candidates into the eligible (sorted by key) and the rest with a Chinese reason each."""
    _unique_sorted([c.key for c in candidates])
    eligible: list[Candidate] = []
    reasons: dict[str, str] = {}
    for c in sorted(candidates, key=lambda c: c.key):
        # Every failed rule is named, so a provider sees all it must fix, not just the first.
        failed = [
            reason
            for broken, reason in (
                (not c.active, "未激活"),
                (not c.offers_item, "未提供该服务"),
                (
                    c.qualification_valid_until is None or c.qualification_valid_until < on,
                    "资质已过期或缺失",
                ),
                (c.blacklisted, "已列入黑名单"),
                (c.excluded, "已申请回避"),
                (not c.staffed, "人员不满足要求"),
            )
            if broken
        ]
        if failed:
            reasons[c.key] = "、".join(failed)
        else:
            eligible.append(c)
    return eligible, reasons


def draw_seed(request_ref: str, candidate_keys: Sequence[str], deadline: str) -> str:
    """The public draw seed: lower-case hex SHA-256 of the canonical JSON of the inputs.

    Byte layout: the UTF-8 encoding of the JSON object
    ``{"candidates":[<keys sorted by code point>],"deadline":"<deadline>","request":"<request_ref>"}``
    with keys in that (sorted) order, no whitespace (separators "," and ":") and non-ASCII characters
    written as themselves, not \\u escapes; i.e. Python's
    ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")``.

    Worked example (re-run with any shell): request "XQ-2025-0001", candidates 914403001922038216
    and 91350100M000100Y43 (sorted: "3" < "4", so 9135… comes first), deadline
    "2025-01-01T17:00:00+08:00" ⇒
    ``printf '%s' '{"candidates":["91350100M000100Y43","914403001922038216"],"deadline":"2025-01-01T17:00:00+08:00","request":"XQ-2025-0001"}' | sha256sum``
    ⇒ 1dca15eb765d6f68609f0e9242604ef91472b10d200abae0e805893e3ebf359b.
    """
    return hashlib.sha256(
        seed_text(request_ref, candidate_keys, deadline).encode("utf-8")
    ).hexdigest()


def seed_text(request_ref: str, candidate_keys: Sequence[str], deadline: str) -> str:
    """The canonical JSON text whose SHA-256 is the draw seed (see `draw_seed`), printed on the
    award notice so anyone can hash it themselves."""
    payload = {
        "candidates": _unique_sorted(candidate_keys),
        "deadline": deadline,
        "request": request_ref,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _random_stream(seed: bytes):
    """Yield r_0, r_1, …: r_i = first 8 bytes (big-endian) of SHA-256(seed || i as 8-byte big-endian)."""
    counter = 0
    while True:
        block = hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        yield int.from_bytes(block[:8], "big")
        counter += 1


def draw(seed_hex: str, keys: Sequence[str], *, count: int = 1) -> list[str]:
    """Pick count distinct keys, reproducibly and without bias, from the keys sorted by code point.

    Algorithm sha256-ctr-v1, published with every award:

    1. seed = the 32 bytes of the 64-hex-digit seed; pool = the keys sorted by Unicode code point
       (plain ASCII order for credit codes), n = len(pool), positions numbered from 0.
    2. Random numbers: for i = 0, 1, 2, … take SHA-256(seed || i), where i is written as 8 bytes
       big-endian, and read the first 8 bytes of the digest as an unsigned big-endian integer r_i
       (0 ≤ r_i < 2^64). One counter i runs through the whole draw: each r_i is used once, in order,
       and rejected numbers (step 3) consume their i too.
    3. For step j = 0 … count-1: m = n - j; limit = 2^64 - (2^64 mod m). Take the next r; if r ≥ limit,
       discard it and take the next (this rejection removes modulo bias). u = r mod m. Swap
       pool[j] with pool[j + u]. Pool[j] is the j-th pick (a partial Fisher–Yates shuffle).
    4. The result is pool[0 … count-1]; for count = 1 the winner is pool[u] of the sorted keys.

    Worked example (seed from `draw_seed`'s example, count = 1, n = 2):
    ``(printf '%s' 1dca15eb765d6f68609f0e9242604ef91472b10d200abae0e805893e3ebf359b | xxd -r -p;
    printf '\\0\\0\\0\\0\\0\\0\\0\\0') | sha256sum``
    ⇒ 94af731072714875…; r_0 = 0x94af731072714875 < limit, u = r_0 mod 2 = 1 ⇒ winner
    pool[1] = 914403001922038216.
    """
    if len(seed_hex) != 64 or not all(c in string.hexdigits for c in seed_hex):
        raise ValueError("抽取种子应为 64 位十六进制 SHA-256 值")
    pool = _unique_sorted(keys)
    if not 1 <= count <= len(pool):
        raise ValueError(f"无法从 {len(pool)} 家中抽取 {count} 家")
    stream = _random_stream(bytes.fromhex(seed_hex))
    for j in range(count):
        m = len(pool) - j
        limit = 2**64 - (2**64 % m)
        r = next(stream)
        while r >= limit:
            r = next(stream)
        u = r % m
        pool[j], pool[j + u] = pool[j + u], pool[j]
    return pool[:count]


def _grade_rank(grade: str | None) -> int:
    """0 for AA … 4 for D, 5 for 未评级; an unknown grade is a data error, not 未评级."""
    if grade is None:
        return len(GRADE_ORDER)
    if grade not in GRADE_ORDER:
        raise ValueError(f"未知的信用等级:{grade}")
    return GRADE_ORDER.index(grade)


def _break_ties(
    tied: Sequence[str], grades: Mapping[str, str | None], seed_hex: str
) -> tuple[str, tuple[str, ...]]:
    """Best credit grade among the tied, then the draw among those still tied: (winner, draw pool)."""
    best = min(_grade_rank(grades.get(k)) for k in tied)
    pool = tuple(sorted(k for k in tied if _grade_rank(grades.get(k)) == best))
    return draw(seed_hex, pool)[0], pool


def _tie_note(shortlist: Sequence[str], pool: Sequence[str]) -> str:
    """Say in Chinese how a tie, if any, was settled."""
    if len(shortlist) == 1:
        return ""
    if len(pool) == 1:
        return f";{len(shortlist)} 家并列,按信用等级择优"
    return f";{len(shortlist)} 家并列,信用等级择优后仍有 {len(pool)} 家并列,按公开算法抽取"


def _valid_quotes(
    quotes: Sequence[Quote], band: tuple[Decimal | None, Decimal | None]
) -> tuple[list[Quote], dict[str, str]]:
    """Quotes that are positive and inside the band (sorted by key), and the rest with reasons."""
    _unique_sorted([q.key for q in quotes])
    low, high = band
    if low is not None and high is not None and low > high:
        raise ValueError("价格区间下限高于上限")
    valid: list[Quote] = []
    invalid: dict[str, str] = {}
    for q in sorted(quotes, key=lambda q: q.key):
        # Floats would make ties depend on binary rounding; NaN would break every comparison.
        if not isinstance(q.amount, Decimal) or not q.amount.is_finite():
            invalid[q.key] = "报价金额无效"
        elif q.amount <= 0:
            invalid[q.key] = "报价须为正数"
        elif low is not None and q.amount < low:
            invalid[q.key] = "低于价格区间下限"
        elif high is not None and q.amount > high:
            invalid[q.key] = "高于价格区间上限"
        else:
            valid.append(q)
    if len(valid) < 2:
        raise NotEnoughCandidates(len(valid), invalid)
    return valid, invalid


# A price rule's measure: for the valid quotes, each one's distance from the rule's target (the
# smallest wins), the explanation before any tie note, and the mean when the rule uses one.
Measure = Callable[[Sequence[Quote]], tuple[dict[str, Decimal], str, Decimal | None]]


@dataclass(frozen=True)
class PriceRule:
    """A rule on sealed quotes: the valid quotes nearest the rule's target form the shortlist;
    ties go to the better grade, then to the draw."""

    method: str
    measure: Measure

    def __call__(
        self,
        quotes: Sequence[Quote],
        grades: Mapping[str, str | None],
        seed_hex: str,
        *,
        band: tuple[Decimal | None, Decimal | None] = (None, None),
    ) -> Outcome:
        """Decide among `quotes` (those outside `band` or not positive are invalid)."""
        valid, invalid = _valid_quotes(quotes, band)
        distance, explanation, mean = self.measure(valid)
        best = min(distance.values())
        shortlist = tuple(q.key for q in valid if distance[q.key] == best)
        winner, pool = _break_ties(shortlist, grades, seed_hex)
        return Outcome(
            winner=winner,
            method=self.method,
            explanation=f"{explanation}{_tie_note(shortlist, pool)}",
            seed=seed_hex,
            participants=tuple(q.key for q in valid),
            shortlist=shortlist,
            draw_pool=pool,
            mean=mean,
            invalid=invalid,
        )


def _lowest(valid: Sequence[Quote]) -> tuple[dict[str, Decimal], str, None]:
    """竞价选取: the lowest valid quote wins."""
    best = min(q.amount for q in valid)
    return (
        {q.key: q.amount for q in valid},
        f"有效报价 {len(valid)} 家,最低价 {format_money(best)}",
        None,
    )


def _closest_to_mean(valid: Sequence[Quote]) -> tuple[dict[str, Decimal], str, Decimal]:
    """均价比选: the valid quote closest to the mean of all valid quotes wins."""
    # Compare |n·amount − total| instead of |amount − total/n|: same order, but exact, so a
    # rounded mean can never split a true tie or fake one. Inexact is trapped to prove it.
    with localcontext(Context(prec=100, traps=[Inexact, InvalidOperation])):
        total = sum((q.amount for q in valid), Decimal(0))
        n = len(valid)
        distance = {q.key: abs(n * q.amount - total) for q in valid}
    with localcontext(Context(prec=28)):
        mean = total / n
    explanation = (
        f"有效报价 {n} 家,平均价 {format_money(mean.quantize(Decimal('0.01')))},最接近平均价者中选"
    )
    return distance, explanation, mean


# The public price rules, called as functions: rule(quotes, grades, seed_hex, band=...).
lowest_price = PriceRule("lowest_price", _lowest)
closest_to_mean = PriceRule("closest_to_mean", _closest_to_mean)


def credit_shortlist(
    candidates: Sequence[Candidate], seed_hex: str, shortlist_size: int = 3
) -> Outcome:
    """信用择优: the top shortlist_size eligible candidates by credit score (ties kept), then a draw."""
    if shortlist_size < 1:
        raise ValueError("入围数量至少为 1")
    participants = _unique_sorted([c.key for c in candidates])
    if len(participants) < 2:
        raise NotEnoughCandidates(len(participants))
    # NaN is unequal to itself and would make the ranking depend on input order.
    if any(c.credit_score is not None and c.credit_score != c.credit_score for c in candidates):
        raise ValueError("信用分无效")

    def rank(c: Candidate) -> tuple[bool, Decimal | float]:
        # Unscored (未评级) after every score; within a score, no order matters (the draw decides).
        return (c.credit_score is None, -(c.credit_score or 0))

    ranked = sorted(candidates, key=rank)
    cutoff = rank(ranked[min(shortlist_size, len(ranked)) - 1])
    shortlist = tuple(sorted(c.key for c in ranked if rank(c) <= cutoff))
    winner = draw(seed_hex, shortlist)[0]
    return Outcome(
        winner=winner,
        method="credit_shortlist",
        explanation=(
            f"符合条件 {len(participants)} 家,按信用分取前 {shortlist_size} 名"
            f"(含并列共 {len(shortlist)} 家)入围,按公开算法抽取"
        ),
        seed=seed_hex,
        participants=tuple(participants),
        shortlist=shortlist,
        draw_pool=shortlist,
    )


def random_draw(candidate_keys: Sequence[str], seed_hex: str) -> Outcome:
    """随机抽取: one of the eligible candidates by the public draw."""
    participants = tuple(_unique_sorted(candidate_keys))
    if len(participants) < 2:
        raise NotEnoughCandidates(len(participants))
    return Outcome(
        winner=draw(seed_hex, participants)[0],
        method="random_draw",
        explanation=f"符合条件 {len(participants)} 家,按公开算法随机抽取",
        seed=seed_hex,
        participants=participants,
        shortlist=participants,
        draw_pool=participants,
    )
