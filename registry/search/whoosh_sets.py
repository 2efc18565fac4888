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

import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import accumulate

from whoosh import query as Q
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.system import _INT_SIZE

from registry.search.whoosh_schema import FACET_FIELDS

# Cached term sets hold at most this many document numbers in all (about 60 bytes each).
CACHE_IDS = 3_000_000
# Candidates scored per query at most; beyond that the strongest alternatives fill the pool.
MAX_SCORED = 2_000


def _block_ids(matcher: W3LeafMatcher):
    """The current block's document numbers (Whoosh decodes the deltas with a Python
    generator; accumulate does it in C)."""
    if matcher._ids is None:
        if matcher._data is None:
            matcher._read_data()
        raw = matcher._data[0]
        matcher._ids = raw if matcher._byteids else tuple(accumulate(raw))
    return matcher._ids[matcher._i :]


def _leaf_ids(matcher) -> list[int]:
    """All document numbers of one term's postings in a segment, read block by block."""
    if isinstance(matcher, FilterMatcher):  # deletions: subtracted once per query instead
        matcher = matcher.child
    if not isinstance(matcher, W3LeafMatcher):
        return list(matcher.all_ids())
    ids: list[int] = []
    while matcher.is_active():
        ids.extend(_block_ids(matcher))
        matcher._next_block()
    return ids


def _leaf_postings(matcher) -> tuple[list[int], list[bytes]]:
    """Document numbers and raw values (encoded positions) of one term's postings in a
    segment, block by block."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    ids: list[int] = []
    values: list[bytes] = []
    if not isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            ids.append(matcher.id())
            values.append(matcher.value())
            matcher.next()
        return ids, values
    while matcher.is_active():
        ids.extend(_block_ids(matcher))
        if matcher._values is None:
            matcher._read_values()
        values.extend(matcher._values[matcher._i :])
        matcher._next_block()
    return ids, values


_PROTOCOL_2 = b"\x80\x02"


def _position_deltas(values: list[bytes]) -> list[list[int]]:
    """Each posting's position deltas. Whoosh's Positions format stores a 4-byte count and a
    protocol-2 pickle of the delta list (the final STOP may be left off); the pickles of a whole
    posting list are joined into one list pickle and decoded in a single C call, instead of one
    Python-level decode per posting (the cost of a phrase of common words)."""
    payloads = [v[_INT_SIZE:-1] if v.endswith(b".") else v[_INT_SIZE:] for v in values]
    if all(p.startswith(_PROTOCOL_2) for p in payloads):
        try:
            # The index's own postings, which Whoosh itself unpickles the same way.
            joined = pickle.loads(_PROTOCOL_2 + b"](" + b"".join(payloads) + b"e.")  # noqa: S301
        except Exception:  # noqa: BLE001 - an unexpected encoding: decode one by one below
            joined = None
        if isinstance(joined, list) and len(joined) == len(values):
            return joined
    return [pickle.loads(p + b".") for p in payloads]  # noqa: S301


def phrase_docs(reader, fieldname: str, words: list[str]) -> frozenset[int]:
    """Segment-local documents where the words stand at consecutive positions (Whoosh's
    Phrase with slop 1). Each word's postings are read once, block by block; the documents
    holding every word are keyed by their words' encoded positions (texts written from the
    same pattern share them), and each distinct key is decoded and checked once."""
    if not words or not all(reader.doc_frequency(fieldname, w) for w in words):
        return frozenset()
    values: list[dict[int, bytes]] = []
    docs: set[int] | None = None
    for word in words:
        ids, encoded = _leaf_postings(reader.postings(fieldname, word))
        values.append(dict(zip(ids, encoded, strict=True)))
        docs = set(ids) if docs is None else docs.intersection(ids)
        if not docs:
            return frozenset()
    # Built by C-level iteration: one key (the words' encoded positions) per document.
    ordered = list(docs)
    keys = list(zip(*(map(v.__getitem__, ordered) for v in values), strict=True))
    distinct = list(dict.fromkeys(b for key in set(keys) for b in key))
    positions = {
        b: frozenset(accumulate(deltas))
        for b, deltas in zip(distinct, _position_deltas(distinct), strict=True)
    }
    matching = set()
    for key in set(keys):
        starts = positions[key[0]]
        for shift, b in enumerate(key[1:], 1):
            starts = starts.intersection(p - shift for p in positions[b])
            if not starts:
                break
        else:
            matching.add(key)
    return frozenset(d for d, key in zip(ordered, keys, strict=True) if key in matching)


class FacetSets:
    """Document sets per facet value, cached until the index changes.

    Kept per segment (by segment id alone: deleting documents does not change postings, and
    deleted documents never match) and per (segment, offset), so after a commit only the new
    segment is read and the rest are set unions.
    """

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, frozenset[int]]] = {}
        self._generation = None
        self._segments: dict = {}

    def forget(self) -> None:
        self._cache = {}

    def get(self, searcher, facet: str) -> dict[str, frozenset[int]]:
        """value → the documents carrying it, for one facet of FACET_FIELDS."""
        generation = searcher.ixreader.generation()
        if generation != self._generation:
            self._cache = {}
            self._generation = generation
        if facet in self._cache:
            return self._cache[facet]
        field = FACET_FIELDS[facet]
        parts: dict[str, list[frozenset[int]]] = {}
        live = set()
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            key = (reader.segment().segment_id(), field, offset)
            shifted = self._segments.get(key)
            if shifted is None:
                shifted = {}
                for raw in reader.lexicon(field):
                    value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    shifted[value] = frozenset(
                        i + offset for i in reader.postings(field, raw).all_ids()
                    )
                self._segments[key] = shifted
            live.add(key)
            for value, ids in shifted.items():
                parts.setdefault(value, []).append(ids)
        for key in [k for k in self._segments if k[1] == field and k not in live]:
            del self._segments[key]
        self._cache[facet] = {
            v: sets[0] if len(sets) == 1 else frozenset().union(*sets) for v, sets in parts.items()
        }
        return self._cache[facet]


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

        def compute(sub, offset: int) -> frozenset[int]:
            if node.slop == 1:
                local = phrase_docs(sub.reader(), node.fieldname, list(node.words))
            else:
                local = node.docs(sub)
            return frozenset(d + offset for d in local)

        return self._cached(searcher, key, compute)

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
            # Positions decide (phrase_docs reads each word's postings once, rarest first).
            if not all(self.searcher.doc_frequency(node.fieldname, w) for w in node.words):
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
    always: frozenset[int] = frozenset(),
) -> list[tuple]:
    """The best `limit` candidates as (docnum, score), best first.

    Up to MAX_SCORED candidates are all scored. Beyond that the pool is filled from the
    documents matching the strongest alternatives (exact title, then keywords, title words …)
    in that order, and the rest follow unscored in index order only if a page reaches them.
    `boosts` multiplies the scores of some documents (a provider's credit grade, the guide's
    kinds); `always` (a few candidates: the catalogue entries) are scored whatever the pool.
    """
    if len(candidates) <= max(MAX_SCORED, limit):
        pool = candidates
    else:
        picked: set[int] = set(always & candidates)
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
