"""The scale-out search backend: PostgreSQL's own full text, no extra service.

jieba tokens (plus pinyin, CJK bigrams and facet terms, each with a field prefix) are written as a
literal `tsvector` with positions and weights (so PostgreSQL's `simple` parser never re-splits
Chinese), held in a GIN-indexed column, ranked with ts_rank, and updated in the SAME transaction
as the data (from the session's before_commit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import cast, delete, func, select, text
from sqlalchemy.dialects.postgresql import TSVECTOR, insert
from sqlalchemy.orm import Session

from registry.extensions import db
from registry.models.search import SearchDocument, SearchOutbox
from registry.search import analysis
from registry.search.base import (
    GROUPS,
    Hit,
    SearchRequest,
    SearchResult,
    highlight_terms,
)
from registry.search.documents import (
    GUIDE_BOOST,
    GUIDE_KINDS,
    RANK_BOOST_STEP,
    Document,
    documents_for,
)
from registry.search.query import ParsedQuery

MAX_POSITION = 16383
MAX_POSITIONS_PER_LEXEME = 250
REBUILD_BATCH = 200  # documents per transaction of a rebuild


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class _Vector:
    """Builds a tsvector literal: lexeme → [(position, weight)]."""

    def __init__(self) -> None:
        self.positions: dict[str, list[str]] = defaultdict(list)
        self.base = 0

    def add(
        self,
        prefix: str,
        tokens: Iterable[analysis.Token],
        weight: str,
        most: int = MAX_POSITIONS_PER_LEXEME,
    ) -> None:
        last = 0
        for token in tokens:
            position = min(self.base + token.position + 1, MAX_POSITION)
            entries = self.positions[prefix + token.text]
            if len(entries) < most:
                entries.append(f"{position}{weight}")
            last = max(last, token.position + 1)
        self.base += last + 1  # a gap so phrases never span two fields

    def add_terms(self, prefix: str, terms: Iterable[str], weight: str) -> None:
        self.add(prefix, (analysis.Token(t, i, 0, 0) for i, t in enumerate(terms) if t), weight)

    def literal(self) -> str:
        return " ".join(
            f"{_quote(lexeme)}:{','.join(dict.fromkeys(p))}" for lexeme, p in self.positions.items()
        )


def document_vector(document: Document) -> str:
    """The tsvector literal of a document."""
    seg = analysis.SEGMENTER
    vector = _Vector()
    title_tokens = seg.tokens(document.title)
    vector.add("t:", title_tokens, "A")
    vector.add_terms("x:", [analysis.normalise(document.title)], "A")
    named = " ".join([document.title, *document.keywords])
    vector.add("n:", analysis.bigrams(named), "C")
    # Hidden names (documents.Document.hidden) only as one whole-name term each.
    vector.add_terms("h:", [analysis.hidden_term(h) for h in document.hidden], "A")
    # Keywords are a set: a profile naming 测绘 in four offered services' names does not match
    # 测绘 four times better than the item whose alias it is (ts_rank counts positions).
    vector.add("k:", seg.tokens(" ".join(document.keywords)), "B", most=1)
    vector.add_terms("e:", [analysis.normalise(k) for k in document.keywords], "B")
    full, initials = analysis.pinyin_terms([*seg.words(document.title), *document.keywords])
    vector.add_terms("p:", full, "C")
    vector.add_terms("i:", initials, "C")
    named_full, named_initials = analysis.name_pinyin_terms(document.own_names)
    vector.add_terms("p:", named_full, "A")
    vector.add_terms("i:", named_initials, "A")
    vector.add("b:", seg.tokens(document.body), "D")
    facets = [f"type={document.kind}"] + [
        f"{name}={value}" for name, values in document.facets.items() for value in values
    ]
    vector.add_terms("f:", facets, "D")
    return vector.literal()


# ------------------------------------------------------------------ tsquery building


def _term(lexeme: str, prefix_match: bool = False) -> str:
    return _quote(lexeme) + (":*" if prefix_match else "")


def _any(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    return "(" + " | ".join(parts) + ")" if parts else ""


def _all(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    return "(" + " & ".join(parts) + ")" if parts else ""


def _phrase(prefix: str, words: list[str]) -> str:
    return "(" + " <-> ".join(_term(prefix + w) for w in words) + ")" if words else ""


def _phrase_query(text: str) -> str:
    words = analysis.SEGMENTER.words(text)
    grams = [t.text for t in analysis.bigrams(text)]
    if not words:
        return ""
    return _any([_phrase("t:", words), _phrase("b:", words), _phrase("n:", grams)])


def _chunk_query(
    chunk: str, synonyms: analysis.Synonyms, indexed: Callable[[str], bool] | None = None
) -> str:
    seg = analysis.SEGMENTER
    words = seg.words(chunk)
    content = [w for w in words if w not in analysis.STOP_TOKENS] or words
    per_word = []
    for word in content:
        options = [_term("t:" + word), _term("k:" + word), _term("b:" + word)]
        parts = [t.text for t in seg.tokens(word) if t.text != word]
        if len(word) >= 3 and parts and not (indexed and indexed(word)):
            # As the Whoosh backend: sub-words only when the word itself is nowhere in the
            # index (测绘法 cited in a service's legal basis must not also match every title
            # holding 测绘).
            options.append(_all([_any([_term("t:" + p), _term("b:" + p)]) for p in parts]))
        options += [_phrase_query(e) for e in synonyms.expand(word)]
        per_word.append(_any(options))
    alternatives = [_all(per_word)]
    grams = [t.text for t in analysis.bigrams(chunk)]
    if analysis.CJK_RE.search(chunk) and grams:
        alternatives.append(_phrase("n:", grams))
    lowered = chunk.lower()
    if analysis.ASCII_WORD_RE.match(lowered) and lowered.isalpha():
        alternatives += [_term("p:" + lowered), _term("i:" + lowered)]
        # The pinyin of a whole own name (a title or a catalogue alias): the item named.
        mark = analysis.NAME_MARK
        alternatives += [_term("p:" + mark + lowered), _term("i:" + mark + lowered)]
        if len(lowered) >= 4:
            alternatives.append(_term("p:" + lowered, prefix_match=True))
    normal = analysis.normalise(chunk)
    if normal:
        alternatives += [_term("x:" + normal), _term("e:" + normal)]
    alternatives += [_phrase_query(e) for e in synonyms.expand(chunk)]
    return _any(alternatives)


def build_tsquery(
    parsed: ParsedQuery,
    synonyms: analysis.Synonyms,
    indexed: Callable[[str], bool] | None = None,
    *,
    hidden_names: bool = True,
) -> str:
    """A tsquery literal for a parsed user query (tokens are quoted: nothing can inject syntax).
    `indexed(word)`: whether a word is in some title or body (unknown: sub-words always).
    `hidden_names`: also match a hidden name equal to the whole query — for which documents
    match, not for ranking them (one more OR'ed term lowers every ts_rank; see SCORE)."""
    parts = [_chunk_query(c, synonyms, indexed) for c in parsed.chunks]
    parts += [_phrase_query(p) for p in parsed.phrases]
    query = _all(parts)
    hidden = analysis.hidden_term(parsed.text)
    if hidden and query and hidden_names:
        # A hidden name only when the whole query is that name (analysis.hidden_term).
        query = _any([query, _term("h:" + hidden)])
    excluded = [
        _term(f + w)
        for text_ in parsed.excluded
        for w in analysis.SEGMENTER.words(text_)
        for f in ("t:", "b:")
    ]
    if excluded and query:
        query = f"{query} & !{_any(excluded)}"
    return query


def _title_phrase(parsed: ParsedQuery) -> str:
    """A tsquery for titles holding the query's words in order (环评审批 in 环评审批(报告书…)):
    ranked after an exact title and before the rest, as the Whoosh backend's all-bigrams-in-the-
    title alternative weighs. A query without such words matches nothing here."""
    words = analysis.SEGMENTER.words(" ".join(parsed.chunks))
    return _phrase("t:", words) or _term("x:")


def _nearest_pinyin(typed: str, rows) -> str | None:
    """The pinyin of a title word or alias nearest to typed (one edit before two; then the most
    frequent, then the first in sort order): the Whoosh backend's correction, over rows."""
    counts: dict[str, int] = {}
    for title, keywords in rows:
        for word in dict.fromkeys([*(keywords or []), *analysis.SEGMENTER.words(title)]):
            full = analysis.pinyin_of(word)[0] if analysis.CJK_RE.search(word) else ""
            if full:
                counts[full] = counts.get(full, 0) + 1
    best = None
    for full, count in counts.items():
        distance = analysis.edit_distance(typed, full)
        if distance <= 2 and full != typed:
            key = (-distance, count, full)
            best = max(best, key) if best else key
    return best[2] if best else None


FACET_COLUMNS = ("stage", "department", "fee_regime")

# A hit's score: ts_rank times rank_boost(rank) (a provider's credit grade) times kind_boost(kind)
# (the guide first), as documents.py defines them; the order puts an exact title first.
# Ranked by the query without its hidden-name alternative (:r): an OR'ed term that no
# matching document holds would lower every rank, and put a pinyin typo's provider profiles
# (huanpin, matched by prefix) before the guide entry. A hidden name matched goes first (:h).
SCORE = (
    "ts_rank(tsv, CAST(:r AS tsquery)) * (1 + :step * rank) "
    "* (CASE WHEN kind = ANY(:guide) THEN :guide_boost ELSE 1 END)"
)
# The order: an exact title; a guide entry whose own alias is the query (环评: ZJ-03, not the
# providers whose profiles mention 环评); a title holding the query's words in order (环评审批 in
# 环评审批(报告书…)); then the score (the Whoosh backend weighs the same three by boosts).
ORDER = (
    "(tsv @@ CAST(:h AS tsquery)) DESC, (tsv @@ CAST(:x AS tsquery)) DESC, "
    "(kind = ANY(:guide) AND tsv @@ CAST(:e AS tsquery)) DESC, "
    "(tsv @@ CAST(:t AS tsquery)) DESC, score DESC, rank DESC, doc_id"
)


class PostgresBackend:
    """Search over the search_documents table."""

    name = "postgresql"

    # ------------------------------------------------------------------ writing (in transaction)

    def write_in(self, session: Session, upserts: list[Document], deletes: list[str]) -> None:
        """Upsert and delete documents inside the caller's transaction."""
        if deletes:
            session.execute(delete(SearchDocument).where(SearchDocument.doc_id.in_(deletes)))
        for document in upserts:
            values = {
                "doc_id": document.doc_id,
                "kind": document.kind,
                "key": document.key,
                "title": document.title,
                "url": document.url,
                "body": document.body,
                "keywords": document.keywords,
                "facets": document.facets,
                "rank": document.rank,
                "content_hash": document.content_hash(),
                "tsv": cast(document_vector(document), TSVECTOR),
            }
            statement = insert(SearchDocument).values(**values)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[SearchDocument.doc_id],
                    set_={k: statement.excluded[k] for k in values if k != "doc_id"},
                )
            )

    def apply(self, upserts: list[Document], deletes: list[str]) -> None:
        """Write one batch in its own transaction (repairs and tests)."""
        with Session(db.engine) as session:
            self.write_in(session, upserts, deletes)
            session.commit()

    def drain_in(self, session: Session, limit: int | None) -> int:
        """Index pending outbox rows in this transaction (skipping rows others are handling)."""
        query = select(SearchOutbox).order_by(SearchOutbox.id).with_for_update(skip_locked=True)
        if limit:
            query = query.limit(limit)
        with session.no_autoflush:
            rows = session.scalars(query).all()
            if not rows:
                return 0
            keys = {(r.kind, r.key) for r in rows}
            # One writer per document at a time, taken in a fixed order (no deadlock), and the
            # rows are read only after the lock: a transaction that committed a newer version
            # first is seen, so an older version never overwrites it.
            for kind, key in sorted(keys):
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{kind}:{key}"}
                )
            upserts, deletes = documents_for(session, keys)
        self.write_in(session, upserts, deletes)
        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
        return len(rows)

    def rebuild_in(
        self,
        session: Session,
        documents: Iterable[Document],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Replace every document (one transaction: readers see the old set until commit).
        Holds every document's row for the whole transaction: `rebuild` is the batched way."""
        session.execute(delete(SearchDocument))
        count, batch = 0, []
        for document in documents:
            batch.append(document)
            if len(batch) >= 500:
                self.write_in(session, batch, [])
                count += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        self.write_in(session, batch, [])
        count += len(batch)
        if progress and batch:
            progress(len(batch))
        return count

    def rebuild(
        self,
        documents: Iterable[Document],
        progress: Callable[[int], None] | None = None,
        batch_size: int = REBUILD_BATCH,
    ) -> int:
        """Rewrite every document in short transactions of `batch_size` documents, then delete
        the documents the database no longer has. Each batch takes the documents' advisory locks
        (as drain_in does) and reads them again after the lock, so a concurrent edit's newer
        version is never overwritten; a rebuild stopped halfway leaves a consistent index that
        the next run completes. `documents` only name what to write."""
        count, seen = 0, set()
        keys: list[tuple[str, str]] = []
        for document in documents:
            keys.append((document.kind, document.key))
            if len(keys) >= batch_size:
                count += self._rewrite(keys, progress)
                seen.update(f"{kind}:{key}" for kind, key in keys)
                keys = []
        count += self._rewrite(keys, progress)
        seen.update(f"{kind}:{key}" for kind, key in keys)
        extra = sorted(set(self.stored_hashes()) - seen)
        for start in range(0, len(extra), batch_size):
            # Gone from the database (deleted), or added since the rebuild read it (kept).
            self._rewrite([tuple(d.split(":", 1)) for d in extra[start : start + batch_size]])
        return count

    def _rewrite(
        self, keys: list[tuple[str, str]], progress: Callable[[int], None] | None = None
    ) -> int:
        """One batch of rebuild: lock, read, write and commit these documents."""
        if not keys:
            return 0
        with Session(db.engine) as session:
            for kind, key in sorted(set(keys)):
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{kind}:{key}"}
                )
            with session.no_autoflush:
                upserts, deletes = documents_for(session, set(keys))
            self.write_in(session, upserts, deletes)
            session.commit()
        if progress:
            progress(len(keys))
        return len(upserts)

    # ------------------------------------------------------------------ reading

    def stored_hashes(self) -> dict[str, str]:
        """doc_id → content hash."""
        with Session(db.engine) as session:
            return dict(
                session.execute(select(SearchDocument.doc_id, SearchDocument.content_hash)).all()
            )

    def health(self) -> dict:
        """Document count."""
        count = db.session.scalar(select(func.count()).select_from(SearchDocument))
        return {"backend": self.name, "documents": count}

    def search(
        self, request: SearchRequest, synonyms: analysis.Synonyms | None = None
    ) -> SearchResult:
        """Exact total, facet counts and one page of hits ranked by ts_rank."""
        synonyms = synonyms or analysis.Synonyms({})
        result = SearchResult(
            [], 0, request.page, request.per_page, notices=list(request.query.notices)
        )
        if request.query.is_empty:
            return result
        parsed = request.query
        query = build_tsquery(parsed, synonyms, self._indexed)
        if not query or not self._count(query):
            corrected = self.suggest(request.query, synonyms)
            query = corrected and build_tsquery(corrected, synonyms, self._indexed)
            if not query or not self._count(query):
                return result  # a suggestion that finds nothing either is not offered
            result.suggestion = corrected.text
            result.notices.append(
                f"没有找到“{request.query.text}”的结果,已为您显示“{corrected.text}”的结果。"
            )
            parsed = corrected
        result.facets = self._facets(query)
        filters = [_term(f"f:{name}={value}") for name, value in request.filters.items()]
        filtered = _all([query, *filters]) if filters else query
        ranked = build_tsquery(parsed, synonyms, self._indexed, hidden_names=False)
        hidden = analysis.hidden_term(parsed.text)
        result.total = self._count(filtered)
        if not result.total:
            return result
        params = {
            "q": filtered,
            "r": _all([ranked, *filters]) if filters else ranked,
            "h": _term("h:" + hidden) if hidden else _term("h:"),
            "x": _term("x:" + analysis.normalise(request.query.text)),
            "e": _term("e:" + analysis.normalise(request.query.text)),
            "t": _title_phrase(request.query),
            "step": RANK_BOOST_STEP,
            "guide": list(GUIDE_KINDS),
            "guide_boost": GUIDE_BOOST,
        }
        rows = db.session.execute(
            # SCORE and ORDER are this module's constants; every value is bound.
            text(
                f"SELECT doc_id, kind, title, url, body, {SCORE} AS score "  # noqa: S608
                "FROM search_documents WHERE tsv @@ CAST(:q AS tsquery) "
                f"ORDER BY {ORDER} LIMIT :limit OFFSET :offset"
            ),
            {**params, "limit": request.per_page, "offset": (request.page - 1) * request.per_page},
        ).all()
        terms = highlight_terms(request.query, synonyms)
        result.hits = [Hit.of(row._mapping, row.score, terms) for row in rows]
        if request.group_size:
            self._groups(result, params, request.group_size, terms)
        return result

    def _groups(self, result: SearchResult, params: dict, size: int, terms: list[str]) -> None:
        """Each group's best `size` hits and each kind's count, in one pass over the matches:
        ranked within the group (and within the kind, whose first row carries its count)."""
        group_of = " ".join(f"WHEN '{k}' THEN '{g.key}'" for g in GROUPS for k in g.kinds)
        rows = db.session.execute(
            # Constants of this module and GROUPS' kinds; every value is bound.
            text(
                "SELECT doc_id, kind, title, url, body, score, grp, in_group, in_kind, per_kind "  # noqa: S608
                "FROM (SELECT *, "
                f"row_number() OVER (PARTITION BY grp ORDER BY {ORDER}) AS in_group, "
                f"row_number() OVER (PARTITION BY kind ORDER BY {ORDER}) AS in_kind, "
                "count(*) OVER (PARTITION BY kind) AS per_kind "
                f"FROM (SELECT doc_id, kind, title, url, body, rank, tsv, {SCORE} AS score, "
                f"CASE kind {group_of} ELSE kind END AS grp "
                "FROM search_documents WHERE tsv @@ CAST(:q AS tsquery)) AS m) AS r "
                "WHERE in_group <= :size OR in_kind = 1 ORDER BY grp, in_group"
            ),
            {**params, "size": size},
        ).all()
        counts: dict[str, int] = {}
        best: dict[str, list[Hit]] = {}
        for row in rows:
            if row.in_kind == 1:
                counts[row.kind] = row.per_kind
            if row.in_group <= size:
                best.setdefault(row.grp, []).append(Hit.of(row._mapping, row.score, terms))
        result.set_groups(counts, best)

    @staticmethod
    def _indexed(word: str) -> bool:
        """Whether the word is in some title or body (one GIN index probe)."""
        probe = _any([_term("t:" + word), _term("b:" + word)])
        return bool(
            db.session.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM search_documents "
                    "WHERE tsv @@ CAST(:q AS tsquery))"
                ),
                {"q": probe},
            )
        )

    def _count(self, query: str) -> int:
        return (
            db.session.scalar(
                text("SELECT count(*) FROM search_documents WHERE tsv @@ CAST(:q AS tsquery)"),
                {"q": query},
            )
            or 0
        )

    def _facets(self, query: str) -> dict[str, dict[str, int]]:
        rows = db.session.execute(
            text(
                "WITH m AS (SELECT kind, facets FROM search_documents "
                "WHERE tsv @@ CAST(:q AS tsquery)) "
                "SELECT 'type' AS facet, kind AS value, count(*) FROM m GROUP BY kind "
                "UNION ALL SELECT f.name, v.value, count(*) FROM m, "
                "(VALUES ('stage'), ('department'), ('fee_regime')) AS f(name), "
                "json_array_elements_text(m.facets -> f.name) AS v(value) GROUP BY f.name, v.value"
            ),
            {"q": query},
        ).all()
        facets: dict[str, dict[str, int]] = {"type": {}, **{c: {} for c in FACET_COLUMNS}}
        for facet, value, count in rows:
            facets[facet][value] = count
        return {k: dict(sorted(v.items())) for k, v in facets.items()}

    def suggest(self, parsed: ParsedQuery, synonyms: analysis.Synonyms) -> ParsedQuery | None:
        """Did-you-mean: homophones (same pinyin) and truncated pinyin mapped back to words."""
        changed, chunks = False, []
        for chunk in parsed.chunks:
            replacement = self._correct_chunk(chunk)
            changed = changed or (replacement is not None and replacement != chunk)
            chunks.append(replacement or chunk)
        if not changed:
            return None
        return ParsedQuery(raw=" ".join(chunks), chunks=chunks, phrases=list(parsed.phrases))

    def _correct_chunk(self, chunk: str) -> str | None:
        lowered = chunk.lower()
        if analysis.CJK_RE.search(chunk):
            if len(chunk) < 2:
                return None
            target, lexeme = analysis.pinyin_of(chunk)[0], None
            lexeme = _term("p:" + target) if target else None
        elif lowered.isalpha() and len(lowered) >= 4:
            target, lexeme = lowered, _term("p:" + lowered, prefix_match=True)
        else:
            return None
        if not lexeme:
            return None
        rows = db.session.execute(
            text(
                "SELECT title, keywords FROM search_documents "
                "WHERE tsv @@ CAST(:q AS tsquery) "
                "ORDER BY ts_rank(tsv, CAST(:q AS tsquery)) DESC, doc_id LIMIT 10"
            ),
            {"q": lexeme},
        ).all()
        if not rows and not analysis.CJK_RE.search(chunk):
            # Not a clipped pinyin either: a misspelt one (huanpng), up to two edits away.
            rows = self._guide_names()
            target = _nearest_pinyin(target, rows) or target
        candidates = [
            w
            for title, keywords in rows
            for w in [*(keywords or []), *analysis.SEGMENTER.words(title)]
        ]
        if not analysis.CJK_RE.search(chunk):
            # A truncated pinyin (huanpin): the candidate's own full pinyin becomes the target.
            full = next(
                (
                    analysis.pinyin_of(w)[0]
                    for w in candidates
                    if analysis.pinyin_of(w)[0].startswith(target)
                ),
                None,
            )
            target = full or target
        return analysis.best_homophone(chunk, candidates, target)

    @staticmethod
    def _guide_names() -> list:
        """Titles and aliases of the guide's documents (a few dozen rows): the words a pinyin
        typo (huanpng, jiaopign) is corrected to. PostgreSQL has no edit-distance index over
        tsvector lexemes, and a provider's name is rarely typed in pinyin."""
        return db.session.execute(
            text("SELECT title, keywords FROM search_documents WHERE kind = ANY(:guide)"),
            {"guide": list(GUIDE_KINDS)},
        ).all()
