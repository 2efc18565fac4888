"""The search relevance judgements (tests/search_relevance.yaml) and how one query's result is
judged; shared by tests/test_search_relevance.py and bench/relevance_large.py."""

from __future__ import annotations

from pathlib import Path

import yaml

RELEVANCE: list[dict] = yaml.safe_load(
    (Path(__file__).parent / "search_relevance.yaml").read_text(encoding="utf-8")
)
# Queries that name an item: the first hit must be one of the expected documents.
FIRST_CATEGORIES = frozenset({"full_name", "abbreviation", "pinyin", "pinyin_initials"})


def judge(case: dict, top: list[str]) -> str | None:
    """None when the top 3 (doc ids, best first) satisfy the case, else why not."""
    expected = case["expect"]
    label = f"{case['query']} ({case['category']}): expected {expected}, got {top[:3]}"
    if not set(expected) <= set(top[:3]):
        return f"{label}: not all in the top 3"
    if case["category"] in FIRST_CATEGORIES and (not top or top[0] not in expected):
        return f"{label}: not first"
    return None
