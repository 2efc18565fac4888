"""The small interface every search backend implements, and the result types pages and the API use."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from markupsafe import Markup, escape

from registry.search.documents import Document
from registry.search.query import ParsedQuery

FACETS = ("type", "stage", "department", "fee_regime")


@dataclass(frozen=True)
class SearchRequest:
    """A parsed query plus filters and the page wanted."""

    query: ParsedQuery
    kind: str | None = None
    stage: str | None = None
    department: str | None = None
    fee_regime: str | None = None
    page: int = 1
    per_page: int = 20
    # > 0: also the best `group_size` hits of each result group (GROUPS), with counts.
    group_size: int = 0

    @property
    def filters(self) -> dict[str, str]:
        """The facet filters that are set."""
        values = {
            "type": self.kind,
            "stage": self.stage,
            "department": self.department,
            "fee_regime": self.fee_regime,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Hit:
    """One result."""

    doc_id: str
    kind: str
    title: str
    url: str
    snippet: Markup
    score: float

    @classmethod
    def of(cls, stored: Mapping[str, Any], score: float, terms: Iterable[str]) -> Hit:
        """A hit from a document's stored fields (doc_id, kind, title, url, body), its snippet
        cut from the body around the first of `terms`."""
        return cls(
            stored["doc_id"],
            stored["kind"],
            stored["title"],
            stored["url"],
            make_snippet(stored.get("body"), terms),
            float(score),
        )


@dataclass(frozen=True)
class GroupSpec:
    """A result group of the search page, as a government portal groups them."""

    key: str
    label: str
    kinds: tuple[str, ...]


# Every document kind belongs to exactly one group.
GROUPS = (
    GroupSpec("service", "服务事项", ("service",)),
    GroupSpec("approval", "审批事项", ("approval",)),
    GroupSpec("provider", "中介机构", ("provider",)),
    GroupSpec("practitioner", "从业人员", ("practitioner",)),
    GroupSpec("bulletin", "公告与公示", ("award", "notice")),
    GroupSpec("department", "监管部门", ("department",)),
)


@dataclass
class Group:
    """One group of a result: how many documents of its kinds match, and the best of them."""

    key: str
    label: str
    kinds: tuple[str, ...]
    count: int
    counts: dict[str, int]
    hits: list[Hit]


@dataclass
class SearchResult:
    """One page of results with facet counts, a notice about the query, and a suggestion."""

    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    suggestion: str | None = None
    # Only when the request asked for groups: those with a match, in the order of their best
    # hit in the overall ranking (a query naming a provider puts 中介机构 first).
    groups: list[Group] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    def set_groups(self, counts: dict[str, int], best: dict[str, list[Hit]]) -> None:
        """Groups from the matching count per kind and each GROUP's best hits (best first)."""
        groups = []
        for spec in GROUPS:
            per_kind = {kind: counts.get(kind, 0) for kind in spec.kinds}
            total = sum(per_kind.values())
            if total:
                hits = best.get(spec.key, [])
                groups.append(Group(spec.key, spec.label, spec.kinds, total, per_kind, hits))
        place = {hit.doc_id: i for i, hit in enumerate(self.hits)}
        order = {spec.key: i for i, spec in enumerate(GROUPS)}
        groups.sort(
            key=lambda g: (
                place.get(g.hits[0].doc_id, len(place)) if g.hits else len(place),
                order[g.key],
            )
        )
        self.groups = groups


@dataclass
class Drift:
    """Differences between the index and the database."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No difference at all."""
        return not (self.missing or self.extra or self.stale)

    @classmethod
    def between(cls, expected: dict[str, str], actual: dict[str, str]) -> Drift:
        """The drift of an index holding actual (doc_id → hash) from the expected set."""
        return cls(
            missing=sorted(set(expected) - set(actual)),
            extra=sorted(set(actual) - set(expected)),
            stale=sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k]),
        )


class Backend(Protocol):
    """What the rest of the application needs from a search engine."""

    def apply(self, upserts: list[Document], deletes: list[str]) -> None:
        """Add or replace documents and remove ids (one atomic batch)."""

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a query with facets."""

    def rebuild(
        self, documents: Iterable[Document], progress: Callable[[int], None] | None = None
    ) -> int:
        """Replace the whole index with these documents; returns how many."""

    def stored_hashes(self) -> dict[str, str]:
        """doc_id → content hash of everything in the index."""

    def health(self) -> dict:
        """A short description of the index state."""


def highlight_terms(parsed: ParsedQuery, synonyms) -> list[str]:
    """The words to mark in snippets: each chunk, its jieba words and its synonyms."""
    from registry.search import analysis

    terms = []
    for chunk in [*parsed.chunks, *parsed.phrases]:
        terms.append(chunk)
        terms += analysis.SEGMENTER.words(chunk)
        terms += synonyms.expand(chunk)
    return [t for t in terms if t not in analysis.STOP_TOKENS]


def make_snippet(text: str, terms: Iterable[str], width: int = 80) -> Markup:
    """An escaped excerpt of text around the first matching term, with matches in <mark>.

    The document's own text is escaped first, so it can never inject markup.
    """
    text = " ".join((text or "").split())
    needles = sorted({t for t in terms if t and len(t) >= 1}, key=len, reverse=True)
    positions = [text.find(t) for t in needles if t in text]
    start = max(0, min(positions) - width // 4) if positions else 0
    excerpt = text[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    if not needles:
        return escape(prefix + excerpt + suffix)
    pattern = re.compile("|".join(re.escape(n) for n in needles))
    pieces, last = [], 0
    for match in pattern.finditer(excerpt):
        pieces.append(escape(excerpt[last : match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % match.group())
        last = match.end()
    pieces.append(escape(excerpt[last:]))
    return escape(prefix) + Markup("").join(pieces) + escape(suffix)
