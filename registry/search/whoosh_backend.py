"""The embedded search backend: a Whoosh index on disk (whoosh-reloaded, behind this adapter)."""

from __future__ import annotations

import gc
import logging
import shutil
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import analysis as wa
from whoosh import fields, index
from whoosh import query as Q
from whoosh.writing import CLEAR

from registry.search import analysis
from registry.search.base import Drift, Hit, SearchRequest, SearchResult, make_snippet
from registry.search.documents import Document
from registry.search.query import ParsedQuery

log = logging.getLogger(__name__)


class IndexBroken(Exception):
    """The index directory cannot be opened or read; it must be rebuilt from the database."""


class JiebaTokenizer(wa.Tokenizer):
    """Whoosh tokenizer over the shared segmenter: word positions (not character offsets)."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self).__name__)

    def _tokens(self, value: str) -> list[analysis.Token]:
        return analysis.SEGMENTER.tokens(value, search=True)

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = wa.Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for item in self._tokens(value):
            token.text = item.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = item.text
            if positions:
                token.pos = start_pos + item.position
            if chars:
                token.startchar = start_char + item.start
                token.endchar = start_char + item.end
            yield token


class BigramTokenizer(JiebaTokenizer):
    """CJK bigrams, for exact substrings of names whatever jieba makes of them."""

    def _tokens(self, value: str) -> list[analysis.Token]:
        return analysis.bigrams(value)


def schema() -> fields.Schema:
    """The index layout."""
    words = JiebaTokenizer()
    return fields.Schema(
        doc_id=fields.ID(stored=True, unique=True),
        kind=fields.ID(stored=True),
        title=fields.TEXT(analyzer=words, stored=True, phrase=True),
        title_exact=fields.ID(),
        title_ngram=fields.TEXT(analyzer=BigramTokenizer(), phrase=True),
        keywords=fields.TEXT(analyzer=words, stored=True),
        keyword_exact=fields.KEYWORD(commas=True),
        pinyin=fields.KEYWORD(lowercase=True, scorable=True),
        initials=fields.KEYWORD(lowercase=True, scorable=True),
        body=fields.TEXT(analyzer=words, stored=True, phrase=True),
        url=fields.STORED(),
        stage=fields.KEYWORD(commas=True),
        department=fields.KEYWORD(commas=True),
        fee_regime=fields.KEYWORD(commas=True),
        hash=fields.STORED(),
    )


FACET_FIELDS = {
    "type": "kind",
    "stage": "stage",
    "department": "department",
    "fee_regime": "fee_regime",
}


def _fields(document: Document) -> dict:
    title_words = analysis.SEGMENTER.words(document.title)
    full, initials = analysis.pinyin_terms([*title_words, *document.keywords])
    facets = document.facets
    return {
        "doc_id": document.doc_id,
        "kind": document.kind,
        "title": document.title,
        "title_exact": analysis.normalise(document.title),
        "title_ngram": " ".join([document.title, *document.keywords]),
        "keywords": " ".join(document.keywords),
        "keyword_exact": ",".join(analysis.normalise(k) for k in document.keywords),
        "pinyin": " ".join(full),
        "initials": " ".join(initials),
        "body": document.body,
        "url": document.url,
        "stage": ",".join(facets.get("stage", [])),
        "department": ",".join(facets.get("department", [])),
        "fee_regime": ",".join(facets.get("fee_regime", [])),
        "hash": document.content_hash(),
    }


class WhooshBackend:
    """Index, search with facets, rebuild and verify, on one Whoosh directory."""

    name = "whoosh"

    def __init__(self, directory: Path, *, writer_timeout: float = 30.0) -> None:
        self.directory = Path(directory)
        self.writer_timeout = writer_timeout
        self._ix: index.Index | None = None
        self._searcher = None
        self._facet_cache: dict = {}
        self._facet_generation = None
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- opening

    def _open(self) -> index.Index:
        if self._ix is not None:
            return self._ix
        failure = None
        with warnings.catch_warnings():
            # Whoosh leaves an unreadable TOC file open inside its frames; those are dropped
            # below (and the exception is re-raised outside this block so that nothing keeps them).
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                if index.exists_in(str(self.directory)):
                    ix = index.open_dir(str(self.directory))
                    with ix.searcher() as probe:
                        probe.doc_count()
                else:
                    self.directory.mkdir(parents=True, exist_ok=True)
                    ix = index.create_in(str(self.directory), schema())
            except Exception as error:  # noqa: BLE001 - any failure to read means a broken index
                failure = f"{type(error).__name__}: {error}"
                traceback.clear_frames(error.__traceback__)
            if failure is not None:
                gc.collect()
        if failure is not None:
            raise IndexBroken(failure)
        self._ix = ix
        return ix

    def _reader(self):
        with self._lock:
            ix = self._open()
            try:
                # Not Searcher.refresh(): it reuses segment readers by segment id and so keeps a
                # segment's old deletion set after a commit that only deleted documents.
                if self._searcher is None or not self._searcher.up_to_date():
                    if self._searcher is not None:
                        self._searcher.close()
                    self._searcher = ix.searcher()
            except Exception as error:  # noqa: BLE001
                self.close()
                raise IndexBroken(str(error)) from error
            return self._searcher

    def close(self) -> None:
        """Release the searcher and the index handle."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._ix = None
            self._facet_cache = {}

    def reset(self) -> None:
        """Remove the directory's contents (used before rebuilding a broken index)."""
        self.close()
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- writing

    def apply(self, upserts: list[Document], deletes: list[str]) -> None:
        """Write one batch, waiting for the lock (never the default timeout=0)."""
        if upserts or deletes:
            self.apply_locked(lambda: (upserts, deletes))

    def apply_locked(self, load: Callable[[], tuple[list[Document], list[str]]]) -> None:
        """Take the writer lock FIRST, then call load() for the batch, then commit.

        Loading after the lock means two processes draining at once cannot write an older
        version of a row over a newer one: the second waits, then reads the newer row.
        """
        ix = self._open()
        writer = ix.writer(timeout=self.writer_timeout)
        try:
            upserts, deletes = load()
            for doc_id in deletes:
                writer.delete_by_term("doc_id", doc_id)
            for document in upserts:
                writer.update_document(**_fields(document))
        except BaseException:
            writer.cancel()
            raise
        if upserts or deletes:
            writer.commit()
        else:
            writer.cancel()

    def rebuild(
        self, documents: Iterable[Document], progress: Callable[[int], None] | None = None
    ) -> int:
        """Replace every segment with a fresh build (readers switch over at commit)."""
        ix = self._open()
        writer = ix.writer(timeout=self.writer_timeout, limitmb=256)
        count = 0
        try:
            for document in documents:
                writer.add_document(**_fields(document))
                count += 1
                if progress is not None:
                    progress(1)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        return count

    def optimize(self) -> None:
        """Merge all segments (slow at scale: CLI only, never in a request)."""
        self._open().optimize()

    # ---------------------------------------------------------------- reading

    def stored_hashes(self) -> dict[str, str]:
        """doc_id → content hash."""
        searcher = self._reader()
        return {f["doc_id"]: f.get("hash") for f in searcher.all_stored_fields()}

    def health(self) -> dict:
        """Document count and segment count."""
        searcher = self._reader()
        return {
            "backend": self.name,
            "documents": searcher.doc_count(),
            "segments": len(self._open()._segments()),
            "directory": str(self.directory),
        }

    def _facet_sets(self, searcher, facet: str) -> dict[str, frozenset[int]]:
        """Posting sets per facet value, cached until the index changes."""
        generation = searcher.ixreader.generation() if hasattr(searcher, "ixreader") else None
        if generation != self._facet_generation:
            self._facet_cache = {}
            self._facet_generation = generation
        if facet not in self._facet_cache:
            field = FACET_FIELDS[facet]
            sets = {}
            for raw in searcher.lexicon(field):
                value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                sets[value] = frozenset(searcher.postings(field, raw).all_ids())
            self._facet_cache[facet] = sets
        return self._facet_cache[facet]

    def _chunk_query(self, chunk: str, synonyms: analysis.Synonyms):
        words = analysis.SEGMENTER.words(chunk)
        content = [w for w in words if w not in analysis.STOP_TOKENS] or words
        alternatives = []
        per_word = []
        for word in content:
            options = [
                Q.Term("title", word, boost=4.0),
                Q.Term("keywords", word, boost=4.0),
                Q.Term("body", word),
            ]
            parts = [t.text for t in analysis.SEGMENTER.tokens(word) if t.text != word]
            if len(word) >= 3 and parts:
                # jieba may cut the indexed text differently: its sub-words must all be there.
                options.append(
                    Q.And([Q.Or([Q.Term("title", p), Q.Term("body", p)]) for p in parts])
                )
            options += [
                self._phrase_query(expansion, boost=2.0) for expansion in synonyms.expand(word)
            ]
            per_word.append(Q.Or(options))
        if per_word:
            alternatives.append(Q.And(per_word) if len(per_word) > 1 else per_word[0])
        grams = [t.text for t in analysis.bigrams(chunk)]
        if analysis.CJK_RE.search(chunk) and len(grams) >= 1:
            alternatives.append(
                Q.Phrase("title_ngram", grams, boost=3.0)
                if len(grams) > 1
                else Q.Term("title_ngram", grams[0], boost=3.0)
            )
        lowered = chunk.lower()
        if analysis.ASCII_WORD_RE.match(lowered) and lowered.isalpha():
            alternatives += [
                Q.Term("pinyin", lowered, boost=3.0),
                Q.Term("initials", lowered, boost=2.0),
            ]
            if len(lowered) >= 4:
                alternatives.append(Q.Prefix("pinyin", lowered, boost=1.0))
        normal = analysis.normalise(chunk)
        alternatives += [
            Q.Term("title_exact", normal, boost=12.0),
            Q.Term("keyword_exact", normal, boost=8.0),
        ]
        alternatives += [
            self._phrase_query(expansion, boost=3.0) for expansion in synonyms.expand(chunk)
        ]
        return Q.Or(alternatives)

    @staticmethod
    def _phrase_query(text: str, boost: float = 1.0):
        words = analysis.SEGMENTER.words(text)
        if not words:
            return Q.NullQuery
        if len(words) == 1:
            return Q.Or([Q.Term("title", words[0], boost=boost), Q.Term("body", words[0])])
        return Q.Or(
            [
                Q.Phrase("title", words, boost=boost),
                Q.Phrase("body", words),
                Q.Phrase("title_ngram", [t.text for t in analysis.bigrams(text)], boost=boost),
            ]
        )

    def build_query(self, parsed: ParsedQuery, synonyms: analysis.Synonyms):
        """The Whoosh query for a parsed user query (no query parser: nothing can fail to parse)."""
        parts = [self._chunk_query(chunk, synonyms) for chunk in parsed.chunks]
        parts += [self._phrase_query(phrase, boost=4.0) for phrase in parsed.phrases]
        main = Q.And(parts) if len(parts) > 1 else parts[0]
        if parsed.excluded:
            exclusions = [
                Q.Term(f, w)
                for text in parsed.excluded
                for w in analysis.SEGMENTER.words(text)
                for f in ("title", "body")
            ]
            main = Q.AndNot(main, Q.Or(exclusions))
        return main

    def search(
        self, request: SearchRequest, synonyms: analysis.Synonyms | None = None
    ) -> SearchResult:
        """Run the query: exact total, facet counts, one page of hits with snippets."""
        synonyms = synonyms or analysis.Synonyms({})
        result = SearchResult(
            [], 0, request.page, request.per_page, notices=list(request.query.notices)
        )
        if request.query.is_empty:
            return result
        searcher = self._reader()
        query = self.build_query(request.query, synonyms)
        matched = set(searcher.docs_for_query(query))
        if not matched:
            corrected = self.suggest(request.query, searcher)
            if corrected is not None:
                result.suggestion = corrected.text
                result.notices.append(
                    f"没有找到“{request.query.text}”的结果,已为您显示“{corrected.text}”的结果。"
                )
                query = self.build_query(corrected, synonyms)
                matched = set(searcher.docs_for_query(query))
        allowed = matched
        for facet, value in request.filters.items():
            allowed = allowed & self._facet_sets(searcher, facet).get(value, frozenset())
        result.total = len(allowed)
        for facet in FACET_FIELDS:
            counts = {
                value: len(docs & matched)
                for value, docs in self._facet_sets(searcher, facet).items()
            }
            result.facets[facet] = {k: v for k, v in sorted(counts.items()) if v}
        if not allowed:
            return result
        limit = request.page * request.per_page
        hits = searcher.search(query, filter=allowed, limit=limit, terms=False)
        terms = self._highlight_terms(request.query, synonyms)
        for hit in hits[(request.page - 1) * request.per_page : limit]:
            stored = hit.fields()
            text = stored.get("body") or ""
            snippet = make_snippet(text, terms)
            result.hits.append(
                Hit(
                    stored["doc_id"],
                    stored["kind"],
                    stored["title"],
                    stored["url"],
                    snippet,
                    float(hit.score or 0),
                )
            )
        return result

    @staticmethod
    def _highlight_terms(parsed: ParsedQuery, synonyms: analysis.Synonyms) -> list[str]:
        terms = []
        for chunk in [*parsed.chunks, *parsed.phrases]:
            terms.append(chunk)
            terms += analysis.SEGMENTER.words(chunk)
            terms += synonyms.expand(chunk)
        return [t for t in terms if t not in analysis.STOP_TOKENS]

    def suggest(self, parsed: ParsedQuery, searcher=None) -> ParsedQuery | None:
        """Did-you-mean: homophones (same pinyin) and pinyin typos mapped back to real words."""
        searcher = searcher or self._reader()
        changed, chunks = False, []
        for chunk in parsed.chunks:
            replacement = self._correct_chunk(chunk, searcher)
            changed = changed or (replacement is not None and replacement != chunk)
            chunks.append(replacement or chunk)
        if not changed:
            return None
        return ParsedQuery(raw=" ".join(chunks), chunks=chunks, phrases=list(parsed.phrases))

    def _correct_chunk(self, chunk: str, searcher) -> str | None:
        lowered = chunk.lower()
        if analysis.CJK_RE.search(chunk):
            if len(chunk) < 2:
                return None
            target = analysis.pinyin_of(chunk)[0]
        elif lowered.isalpha() and len(lowered) >= 4:
            target = lowered
            if not searcher.doc_frequency("pinyin", target):
                found = searcher.corrector("pinyin").suggest(lowered, limit=1, maxdist=2)
                if not found:
                    return None
                target = found[0]
        else:
            return None
        if not target or not searcher.doc_frequency("pinyin", target):
            return None
        candidates: list[str] = []
        for hit in searcher.search(Q.Term("pinyin", target), limit=10):
            stored = hit.fields()
            candidates += stored.get("keywords", "").split()
            candidates += analysis.SEGMENTER.words(stored.get("title", ""))
        return analysis.best_homophone(chunk, candidates, target)

    def verify(self, expected: dict[str, str]) -> Drift:
        """Compare ids and hashes with what the database says should be indexed."""
        actual = self.stored_hashes()
        return Drift(
            missing=sorted(set(expected) - set(actual)),
            extra=sorted(set(actual) - set(expected)),
            stale=sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k]),
        )
