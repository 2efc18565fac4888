"""Query evaluation over sets of document numbers, for the Whoosh backend.

Whoosh scores a query by walking every posting of every term through a tree of Python matcher
objects, one call per document per node. For the queries people type here (天津 …有限公司, 测绘)
most terms are common, so the exact total and the facet counts alone cost a pass over most of
the index. Here a query is evaluated as set algebra instead: each term's document numbers are
read once per segment (block by block, not posting by posting), kept in a bounded cache, and
combined with C-speed set operations. Scoring then only visits a bounded pool of candidates,
strongest alternatives first.

Score: for a matching document, each matching term contributes boost × idf (the boosts along
its path multiplied), an And or Or contributes its boost times its children's sum; ties go to
the shorter title. For short catalogue titles this orders like BM25 (term frequency is almost
always 1); it differs on long bodies, which only ever carry weight 1.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from whoosh import query as Q
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher

# Cached term sets hold at most this many document numbers in all (about 60 bytes each).
CACHE_IDS = 3_000_000
# Candidates scored per query at most; beyond that the strongest alternatives fill the pool.
MAX_SCORED = 2_000


def _leaf_ids(matcher) -> list[int]:
    """All document numbers of one term's postings in a segment, read block by block."""
    if isinstance(matcher, FilterMatcher):  # deletions: subtracted once per query instead
        matcher = matcher.child
    if not isinstance(matcher, W3LeafMatcher):
        return list(matcher.all_ids())
    ids: list[int] = []
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        ids.extend(matcher._ids[matcher._i :])
        matcher._next_block()
    return ids


class TermSets:
    """Per-term document sets in index-wide numbering, cached by (segment, offset, field, term)
    with least-recently-used eviction; a cached set includes deleted documents (postings never
    change once written), which are removed from each result instead."""

    def __init__(self, capacity: int = CACHE_IDS) -> None:
        self.capacity = capacity
        self._sets: OrderedDict[tuple, frozenset[int]] = OrderedDict()
        self._size = 0

    def clear(self) -> None:
        self._sets.clear()
        self._size = 0

    def get(self, searcher, fieldname: str, text: str) -> frozenset[int]:
        """The documents whose field holds the term."""
        return self._cached(
            searcher,
            (fieldname, text),
            lambda sub, offset: self._read(sub, offset, fieldname, text),
        )

    def phrase(self, searcher, node) -> frozenset[int]:
        """The documents holding a phrase (positions checked by Whoosh), cached per segment like
        a term: after a commit only the new segment is checked again."""
        key = ("phrase", node.fieldname, tuple(node.words), node.slop)
        return self._cached(
            searcher, key, lambda sub, offset: frozenset(d + offset for d in node.docs(sub))
        )

    def _cached(self, searcher, what: tuple, compute) -> frozenset[int]:
        parts = []
        for sub, offset in searcher.leaf_searchers():
            key = (sub.reader().segment().segment_id(), offset, *what)
            found = self._sets.get(key)
            if found is None:
                found = compute(sub, offset)
                self._sets[key] = found
                self._size += len(found)
                while self._size > self.capacity and len(self._sets) > 1:
                    _, dropped = self._sets.popitem(last=False)
                    self._size -= len(dropped)
            else:
                self._sets.move_to_end(key)
            if found:
                parts.append(found)
        if len(parts) == 1:
            return parts[0]
        return frozenset().union(*parts)

    @staticmethod
    def _read(sub, offset: int, fieldname: str, text: str) -> frozenset[int]:
        reader = sub.reader()
        if fieldname not in reader.schema or not reader.doc_frequency(fieldname, text):
            return frozenset()
        ids = _leaf_ids(reader.postings(fieldname, text))
        return frozenset(i + offset for i in ids) if offset else frozenset(ids)


@dataclass
class Evaluation:
    """The sets computed for one query against one searcher."""

    searcher: object
    terms: TermSets
    # id(node) → (node, set): holding the node keeps its id from being reused by another.
    sets: dict[int, tuple[object, frozenset[int]]] = field(default_factory=dict)
    idf: dict[tuple[str, str], float] = field(default_factory=dict)

    def of(self, node) -> frozenset[int]:
        """The documents matching node (deleted ones included)."""
        key = id(node)
        if key not in self.sets:
            self.sets[key] = (node, self._evaluate(node))
        return self.sets[key][1]

    def _evaluate(self, node) -> frozenset[int]:
        if isinstance(node, Q.Term):
            return self.terms.get(self.searcher, node.fieldname, node.text)
        if isinstance(node, Q.AndNot):
            return self.of(node.a) - self.of(node.b)
        if isinstance(node, Q.AndMaybe):
            self.of(node.b)  # evaluated for scoring
            return self.of(node.a)
        if isinstance(node, Q.And):
            children = sorted((self.of(c) for c in node.subqueries), key=len)
            if not children:
                return frozenset()
            return children[0].intersection(*children[1:])
        if isinstance(node, Q.Or):
            return frozenset().union(*(self.of(c) for c in node.subqueries))
        if isinstance(node, Q.Prefix):
            terms = self.searcher.reader().expand_prefix(node.fieldname, node.text)
            return frozenset().union(
                *(self.terms.get(self.searcher, node.fieldname, t) for t in terms)
            )
        if isinstance(node, Q.Phrase):
            # Positions decide; only documents holding every word are checked.
            if not all(self.terms.get(self.searcher, node.fieldname, w) for w in node.words):
                return frozenset()
            return self.terms.phrase(self.searcher, node)
        if node is Q.NullQuery:
            return frozenset()
        raise TypeError(f"unsupported query node {type(node).__name__}")

    def _idf(self, fieldname: str, text: str) -> float:
        key = (fieldname, text)
        if key not in self.idf:
            self.idf[key] = self.searcher.idf(fieldname, text)
        return self.idf[key]

    def scores(self, node, pool: frozenset[int]) -> dict[int, float]:
        """Scores of the pool's documents that match node, computed node by node: each
        matching (document, term) pair costs one dictionary update, non-matching parts nothing."""
        docs = self.of(node) & pool
        if not docs:
            return {}
        boost = getattr(node, "boost", 1.0)
        if isinstance(node, Q.Term):
            return dict.fromkeys(docs, boost * self._idf(node.fieldname, node.text))
        if isinstance(node, Q.Phrase):
            weight = boost * sum(self._idf(node.fieldname, w) for w in node.words)
            return dict.fromkeys(docs, weight)
        if isinstance(node, Q.Prefix):
            return dict.fromkeys(docs, boost)
        if isinstance(node, Q.AndNot):
            return self.scores(node.a, docs)
        children = [node.a, node.b] if isinstance(node, Q.AndMaybe) else node.subqueries
        total: dict[int, float] = {}
        for child in children:
            for doc, value in self.scores(child, docs).items():
                total[doc] = total.get(doc, 0.0) + value
        if boost != 1.0:
            total = {doc: value * boost for doc, value in total.items()}
        return total

    def weighted_leaves(self, node, weight: float = 1.0) -> list[tuple[float, object]]:
        """(path weight × idf, leaf) for every leaf under node; excluded parts left out."""
        weight *= getattr(node, "boost", 1.0)
        if isinstance(node, Q.AndNot):
            return self.weighted_leaves(node.a, weight)
        if isinstance(node, Q.AndMaybe):
            return self.weighted_leaves(node.a, weight) + self.weighted_leaves(node.b, weight)
        if isinstance(node, Q.And | Q.Or):
            return [leaf for c in node.subqueries for leaf in self.weighted_leaves(c, weight)]
        if isinstance(node, Q.Term):
            return [(weight * self._idf(node.fieldname, node.text), node)]
        if isinstance(node, Q.Phrase | Q.Prefix):
            return [(weight * 4.0, node)]
        return []


def rank(
    evaluation: Evaluation,
    root,
    candidates: frozenset[int],
    limit: int,
    boosts: dict[int, float] | None = None,
) -> list[tuple]:
    """The best `limit` candidates as (docnum, score), best first.

    Up to MAX_SCORED candidates are all scored. Beyond that the pool is filled from the
    documents matching the strongest alternatives (exact title, then keywords, title words …)
    in that order, and the rest follow unscored in index order only if a page reaches them.
    `boosts` multiplies the scores of some documents (a provider's credit grade).
    """
    if len(candidates) <= max(MAX_SCORED, limit):
        pool = candidates
    else:
        picked: set[int] = set()
        leaves = sorted(evaluation.weighted_leaves(root), key=lambda x: -x[0])
        for _weight, leaf in leaves:
            fresh = (evaluation.of(leaf) & candidates) - picked
            room = MAX_SCORED - len(picked)
            if len(fresh) > room:
                fresh = sorted(fresh)[:room]
            picked.update(fresh)
            if len(picked) >= MAX_SCORED:
                break
        pool = frozenset(picked)
    reader = evaluation.searcher.reader()
    scores = evaluation.scores(root, pool)
    if boosts:
        scores = {doc: value * boosts.get(doc, 1.0) for doc, value in scores.items()}
    scored = sorted(
        (-scores.get(doc, 0.0), reader.doc_field_length(doc, "title", 0), doc) for doc in pool
    )
    ranked = [(doc, -negative) for negative, _length, doc in scored[:limit]]
    if len(ranked) < limit and len(pool) < len(candidates):
        rest = sorted(candidates - pool)[: limit - len(ranked)]
        ranked += [(doc, 0.0) for doc in rest]
    return ranked
