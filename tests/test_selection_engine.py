"""The pure selection engine: eligibility, the public seed and draw, and the price rules."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.pure import selection_engine as engine
from registry.pure.selection_engine import (
    ALGORITHM_VERSION,
    Candidate,
    NotEnoughCandidates,
    Quote,
    closest_to_mean,
    credit_shortlist,
    draw,
    draw_seed,
    eligibility,
    lowest_price,
    random_draw,
)

TODAY = date(2025, 3, 1)
SEED = hashlib.sha256(b"test seed").hexdigest()
HUAWEI, GB_EXAMPLE = "914403001922038216", "91350100M000100Y43"

# Published example: recomputed with `printf … | sha256sum` and `xxd`, see draw_seed / draw.
EXAMPLE_SEED = "1dca15eb765d6f68609f0e9242604ef91472b10d200abae0e805893e3ebf359b"


def candidate(key: str, **changes) -> Candidate:
    """An eligible candidate unless changes say otherwise."""
    base = Candidate(
        key=key,
        name=f"机构{key}",
        active=True,
        offers_item=True,
        qualification_valid_until=TODAY + timedelta(days=30),
        blacklisted=False,
        excluded=False,
        grade="A",
        credit_score=80.0,
    )
    return dataclasses.replace(base, **changes)


def reference_draw(seed_hex: str, keys, count: int) -> list[str]:
    """The draw as the published text describes it, written out again for comparison."""
    seed, pool, i = bytes.fromhex(seed_hex), sorted(keys), 0
    for j in range(count):
        m = len(pool) - j
        while True:
            r = int.from_bytes(hashlib.sha256(seed + i.to_bytes(8, "big")).digest()[:8], "big")
            i += 1
            if r < 2**64 - 2**64 % m:
                break
        pool[j], pool[j + r % m] = pool[j + r % m], pool[j]
    return pool[:count]


def chi_square(observed: Counter, categories, total: int) -> float:
    expected = total / len(categories)
    return sum((observed[c] - expected) ** 2 / expected for c in categories)


seeds = st.binary(min_size=32, max_size=32).map(bytes.hex)
keys = st.lists(
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=1, max_size=18),
    min_size=1,
    max_size=12,
    unique=True,
)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
grades_st = st.sampled_from(["AA", "A", "B", "C", "D", None])


# ── eligibility ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"active": False}, "未激活"),
        ({"offers_item": False}, "未提供该服务"),
        ({"qualification_valid_until": TODAY - timedelta(days=1)}, "资质已过期或缺失"),
        ({"qualification_valid_until": None}, "资质已过期或缺失"),
        ({"blacklisted": True}, "已列入黑名单"),
        ({"excluded": True}, "已申请回避"),
        ({"staffed": False}, "人员不满足要求"),
    ],
)
def test_selection_eligibility_excludes_with_reason(changes, reason):
    eligible, reasons = eligibility(
        [candidate("B"), candidate("X", **changes), candidate("A")], TODAY
    )
    assert [c.key for c in eligible] == ["A", "B"]
    assert reasons == {"X": reason}


def test_selection_eligibility_qualification_valid_through_its_last_day():
    eligible, reasons = eligibility([candidate("A", qualification_valid_until=TODAY)], TODAY)
    assert [c.key for c in eligible] == ["A"]
    assert reasons == {}


def test_selection_eligibility_names_every_failed_rule():
    _, reasons = eligibility([candidate("A", active=False, blacklisted=True)], TODAY)
    assert reasons == {"A": "未激活、已列入黑名单"}


def test_selection_eligibility_rejects_duplicate_keys():
    with pytest.raises(ValueError, match="重复"):
        eligibility([candidate("A"), candidate("A")], TODAY)


@given(st.permutations([candidate(k, excluded=k in "CE") for k in "ABCDEF"]))
def test_selection_eligibility_ignores_input_order(candidates):
    eligible, reasons = eligibility(candidates, TODAY)
    assert [c.key for c in eligible] == ["A", "B", "D", "F"]
    assert reasons == {"C": "已申请回避", "E": "已申请回避"}


# ── draw_seed ────────────────────────────────────────────────────────────────


def test_selection_seed_matches_published_example():
    assert (
        draw_seed("XQ-2025-0001", [HUAWEI, GB_EXAMPLE], "2025-01-01T17:00:00+08:00") == EXAMPLE_SEED
    )


def test_selection_seed_byte_layout_is_compact_utf8_json():
    layout = '{"candidates":["A","乙"],"deadline":"2025-01-01","request":"甲-1"}'.encode()
    assert draw_seed("甲-1", ["乙", "A"], "2025-01-01") == hashlib.sha256(layout).hexdigest()


def test_selection_seed_rejects_duplicate_candidates():
    with pytest.raises(ValueError, match="重复"):
        draw_seed("R", ["A", "A"], "2025-01-01")


text = st.text(st.characters(codec="utf-8"), max_size=20)


@given(text, keys, text, st.data())
def test_selection_seed_ignores_candidate_order(ref, ks, deadline, data):
    shuffled = data.draw(st.permutations(ks))
    assert draw_seed(ref, shuffled, deadline) == draw_seed(ref, ks, deadline)


@given(text, keys, text, text, keys, text)
def test_selection_seed_changes_when_any_input_changes(ref, ks, deadline, ref2, ks2, deadline2):
    before = draw_seed(ref, ks, deadline)
    if ref2 != ref:
        assert draw_seed(ref2, ks, deadline) != before
    if set(ks2) != set(ks):
        assert draw_seed(ref, ks2, deadline) != before
    if deadline2 != deadline:
        assert draw_seed(ref, ks, deadline2) != before


def test_selection_seed_changes_when_one_candidate_is_added_removed_or_altered():
    base = draw_seed("R", ["A", "B", "C"], "D")
    assert draw_seed("R", ["A", "B"], "D") != base
    assert draw_seed("R", ["A", "B", "C", "E"], "D") != base
    assert draw_seed("R", ["A", "B", "c"], "D") != base
    assert draw_seed("R", ["AB", "C"], "D") != draw_seed("R", ["A", "BC"], "D")


# ── draw ─────────────────────────────────────────────────────────────────────


def test_selection_draw_matches_published_example():
    assert draw(EXAMPLE_SEED, [HUAWEI, GB_EXAMPLE]) == [HUAWEI]


@given(seeds, keys, st.data())
def test_selection_draw_is_deterministic_distinct_and_order_free(seed_hex, ks, data):
    count = data.draw(st.integers(min_value=1, max_value=len(ks)))
    picked = draw(seed_hex, ks, count=count)
    assert len(picked) == count == len(set(picked))
    assert set(picked) <= set(ks)
    assert draw(seed_hex, list(reversed(ks)), count=count) == picked
    assert draw(seed_hex.upper(), ks, count=count) == picked
    assert picked == reference_draw(seed_hex, ks, count)


@given(seeds, keys)
def test_selection_draw_prefix_is_stable(seed_hex, ks):
    # Drawing more keys never changes the earlier picks: the shuffle is consumed in order.
    assert draw(seed_hex, ks, count=len(ks))[:1] == draw(seed_hex, ks)


def test_selection_draw_rejection_discards_biased_numbers(monkeypatch):
    # 2^64 mod 6 = 4, so the last 4 values of a 64-bit number must be thrown away.
    limit = 2**64 - 4
    monkeypatch.setattr(engine, "_random_stream", lambda seed: iter([2**64 - 1, limit, 5]))
    assert draw(SEED, list("ABCDEF")) == ["F"]
    monkeypatch.setattr(engine, "_random_stream", lambda seed: iter([limit - 1]))
    assert draw(SEED, list("ABCDEF")) == [list("ABCDEF")[(limit - 1) % 6]]


@pytest.mark.parametrize("bad_seed", ["", "abc", "zz" * 32, SEED[:-2], SEED + "00", " " + SEED[1:]])
def test_selection_draw_rejects_malformed_seed(bad_seed):
    with pytest.raises(ValueError, match="种子"):
        draw(bad_seed, ["A", "B"])


@pytest.mark.parametrize("count", [0, 3, -1])
def test_selection_draw_rejects_impossible_count(count):
    with pytest.raises(ValueError, match="无法从"):
        draw(SEED, ["A", "B"], count=count)


def test_selection_draw_is_uniform_over_6000_fixed_seeds():
    # Deterministic: the seeds are fixed, so this either always passes or always fails.
    # 0.999 quantile of chi-square with 5 degrees of freedom = 20.515.
    six = [f"K{i}" for i in range(6)]
    winners = Counter(
        draw(hashlib.sha256(f"uniformity-{i}".encode()).hexdigest(), six)[0] for i in range(6000)
    )
    assert chi_square(winners, six, 6000) < 20.515


def test_selection_draw_ordered_pairs_are_uniform():
    # The second Fisher–Yates step too: 30 ordered pairs, 0.999 quantile for df = 29 is 58.301.
    six = [f"K{i}" for i in range(6)]
    pairs = Counter(
        tuple(draw(hashlib.sha256(f"pairs-{i}".encode()).hexdigest(), six, count=2))
        for i in range(6000)
    )
    assert chi_square(pairs, list(permutations(six, 2)), 6000) < 58.301


# ── quotes: lowest price and closest to mean ─────────────────────────────────


@given(st.lists(st.tuples(amounts, grades_st), min_size=2, max_size=10), seeds)
def test_selection_lowest_price_always_wins_with_a_minimum_quote(rows, seed_hex):
    quotes = [Quote(f"P{i:02}", amount) for i, (amount, _) in enumerate(rows)]
    grades = {f"P{i:02}": grade for i, (_, grade) in enumerate(rows)}
    outcome = lowest_price(quotes, grades, seed_hex)
    amount = {q.key: q.amount for q in quotes}
    assert amount[outcome.winner] == min(amount.values())
    assert outcome.winner in outcome.draw_pool
    assert set(outcome.draw_pool) <= set(outcome.shortlist)
    assert outcome.method == "lowest_price"
    assert outcome.algorithm == ALGORITHM_VERSION


@given(st.lists(st.tuples(amounts, grades_st), min_size=2, max_size=10), seeds)
def test_selection_closest_to_mean_winner_minimises_distance(rows, seed_hex):
    quotes = [Quote(f"P{i:02}", amount) for i, (amount, _) in enumerate(rows)]
    grades = {f"P{i:02}": grade for i, (_, grade) in enumerate(rows)}
    outcome = closest_to_mean(quotes, grades, seed_hex)
    # Exact rational arithmetic, independent of the module's Decimal handling.
    mean = sum(Fraction(q.amount) for q in quotes) / len(quotes)
    distance = {q.key: abs(Fraction(q.amount) - mean) for q in quotes}
    assert distance[outcome.winner] == min(distance.values())
    assert set(outcome.shortlist) == {k for k, d in distance.items() if d == min(distance.values())}
    assert abs(Fraction(outcome.mean) - mean) <= mean / 10**20


def test_selection_closest_to_mean_example():
    quotes = [Quote("A", Decimal("100")), Quote("B", Decimal("200")), Quote("C", Decimal("400"))]
    outcome = closest_to_mean(quotes, {}, SEED)
    assert outcome.winner == "B"
    assert outcome.mean.quantize(Decimal("0.01")) == Decimal("233.33")
    assert "233.33" in outcome.explanation


def test_selection_price_tie_goes_to_better_grade_whatever_the_seed():
    # 100.00, 100.0 and 100 are the same price: Decimal compares values, not spellings.
    quotes = [
        Quote("A", Decimal("100.00")),
        Quote("B", Decimal("100.0")),
        Quote("C", Decimal("100")),
    ]
    grades = {"A": "AA", "B": "A", "C": None}
    for i in range(20):
        seed_hex = hashlib.sha256(str(i).encode()).hexdigest()
        outcome = lowest_price(quotes, grades, seed_hex)
        assert outcome.winner == "A"
        assert outcome.shortlist == ("A", "B", "C")
        assert outcome.draw_pool == ("A",)
        assert "按信用等级择优" in outcome.explanation


def test_selection_ungraded_ranks_after_d():
    quotes = [Quote("A", Decimal("100")), Quote("B", Decimal("100"))]
    assert lowest_price(quotes, {"A": None, "B": "D"}, SEED).winner == "B"


def test_selection_tie_on_price_and_grade_is_drawn():
    quotes = [Quote(k, Decimal("100")) for k in "DCBA"] + [Quote("E", Decimal("150"))]
    grades = {"A": "B", "B": "A", "C": "A", "D": "A"}
    outcome = lowest_price(quotes, grades, SEED)
    assert outcome.draw_pool == ("B", "C", "D")
    assert outcome.winner == draw(SEED, ["B", "C", "D"])[0]
    assert "按公开算法抽取" in outcome.explanation


def test_selection_mean_tie_is_broken_by_grade():
    quotes = [Quote("A", Decimal("100")), Quote("B", Decimal("300"))]
    outcome = closest_to_mean(quotes, {"A": "C", "B": "B"}, SEED)
    assert outcome.mean == Decimal("200")
    assert outcome.shortlist == ("A", "B")
    assert outcome.winner == "B"


def test_selection_band_filters_and_lists_invalid_quotes():
    quotes = [
        Quote("A", Decimal("50")),
        Quote("B", Decimal("100")),  # on the lower bound: valid
        Quote("C", Decimal("300")),  # on the upper bound: valid
        Quote("D", Decimal("300.01")),
        Quote("E", Decimal("0")),
        Quote("F", Decimal("-5")),
        Quote("G", Decimal("NaN")),
        Quote("H", 120.0),
    ]
    outcome = lowest_price(quotes, {}, SEED, band=(Decimal("100"), Decimal("300")))
    assert outcome.winner == "B"
    assert outcome.participants == ("B", "C")
    assert outcome.invalid == {
        "A": "低于价格区间下限",
        "D": "高于价格区间上限",
        "E": "报价须为正数",
        "F": "报价须为正数",
        "G": "报价金额无效",
        "H": "报价金额无效",
    }
    mean_outcome = closest_to_mean(quotes, {}, SEED, band=(None, Decimal("300")))
    assert mean_outcome.participants == ("A", "B", "C")
    assert mean_outcome.winner == "B"


def test_selection_band_upside_down_is_an_error():
    quotes = [Quote("A", Decimal("1")), Quote("B", Decimal("2"))]
    with pytest.raises(ValueError, match="下限高于上限"):
        lowest_price(quotes, {}, SEED, band=(Decimal("5"), Decimal("1")))


def test_selection_fewer_than_two_valid_quotes_fails():
    quotes = [Quote("A", Decimal("100")), Quote("B", Decimal("900"))]
    with pytest.raises(NotEnoughCandidates) as caught:
        lowest_price(quotes, {}, SEED, band=(None, Decimal("500")))
    assert str(caught.value) == "有效参与者不足 2 家"
    assert caught.value.valid == 1
    assert caught.value.invalid == {"B": "高于价格区间上限"}
    assert isinstance(caught.value, ValueError)
    with pytest.raises(NotEnoughCandidates):
        closest_to_mean([], {}, SEED)


def test_selection_duplicate_quotes_and_unknown_grades_are_errors():
    with pytest.raises(ValueError, match="重复"):
        lowest_price([Quote("A", Decimal("1")), Quote("A", Decimal("2"))], {}, SEED)
    quotes = [Quote("A", Decimal("1")), Quote("B", Decimal("1"))]
    with pytest.raises(ValueError, match="未知的信用等级"):
        lowest_price(quotes, {"A": "AAA"}, SEED)


# ── credit shortlist and random draw ─────────────────────────────────────────


def test_selection_credit_shortlist_keeps_everyone_tied_with_the_last_place():
    scores = {"A": 95.0, "B": 90.0, "C": 90.0, "D": 85.0, "E": None}
    cands = [candidate(k, credit_score=s) for k, s in scores.items()]
    outcome = credit_shortlist(cands, SEED, shortlist_size=2)
    assert outcome.shortlist == ("A", "B", "C")
    assert outcome.winner == draw(SEED, ["A", "B", "C"])[0]
    assert outcome.participants == ("A", "B", "C", "D", "E")


def test_selection_credit_shortlist_puts_unscored_last():
    cands = [candidate("A", credit_score=None), candidate("B", credit_score=0.0)]
    assert credit_shortlist(cands, SEED, shortlist_size=1).shortlist == ("B",)
    cands.append(candidate("C", credit_score=None))
    assert credit_shortlist(cands, SEED, shortlist_size=2).shortlist == ("A", "B", "C")


@given(
    st.lists(st.one_of(st.none(), st.integers(0, 10).map(float)), min_size=2, max_size=10),
    st.integers(1, 12),
    seeds,
)
def test_selection_credit_shortlist_takes_the_best_scores(scores, size, seed_hex):
    cands = [candidate(f"P{i:02}", credit_score=s) for i, s in enumerate(scores)]
    outcome = credit_shortlist(list(reversed(cands)), seed_hex, shortlist_size=size)
    assert len(outcome.shortlist) >= min(size, len(cands))
    assert outcome.winner in outcome.shortlist

    def value(s):
        return float("-inf") if s is None else s

    inside = [value(c.credit_score) for c in cands if c.key in outcome.shortlist]
    outside = [value(c.credit_score) for c in cands if c.key not in outcome.shortlist]
    assert not outside or min(inside) > max(outside)
    assert credit_shortlist(cands, seed_hex, shortlist_size=size) == outcome


def test_selection_credit_shortlist_rejects_bad_input():
    with pytest.raises(NotEnoughCandidates):
        credit_shortlist([candidate("A")], SEED)
    with pytest.raises(ValueError, match="入围数量"):
        credit_shortlist([candidate("A"), candidate("B")], SEED, shortlist_size=0)
    with pytest.raises(ValueError, match="信用分无效"):
        credit_shortlist([candidate("A", credit_score=float("nan")), candidate("B")], SEED)


def test_selection_random_draw_uses_the_public_draw():
    outcome = random_draw([HUAWEI, GB_EXAMPLE], EXAMPLE_SEED)
    assert outcome.winner == HUAWEI
    assert outcome.participants == outcome.draw_pool == (GB_EXAMPLE, HUAWEI)
    assert outcome.seed == EXAMPLE_SEED
    assert outcome.method == "random_draw"


@pytest.mark.parametrize("ks", [[], ["A"]])
def test_selection_random_draw_needs_two(ks):
    with pytest.raises(NotEnoughCandidates, match="有效参与者不足 2 家"):
        random_draw(ks, SEED)
