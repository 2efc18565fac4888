"""The embedded search backend: a Whoosh index on disk (whoosh-reloaded, behind this adapter)."""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing
import os
import shutil
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR, MERGE_SMALL

from registry.search import analysis, whoosh_queries
from registry.search.base import (
    GROUPS,
    Hit,
    SearchRequest,
    SearchResult,
    highlight_terms,
)
from registry.search.documents import GUIDE_BOOST, GUIDE_KINDS, Document, rank_boost
from registry.search.query import ParsedQuery

# The tokenizers are re-exported: an index on disk names its analyzers by this module.
from registry.search.whoosh_schema import (  # noqa: F401
    FACET_FIELDS,
    RANK_PREFIX,
    BigramTokenizer,
    JiebaTokenizer,
    fields_of,
    schema,
)
from registry.search.whoosh_sets import Evaluation, FacetSets, TermSets, rank

log = logging.getLogger(__name__)


OPEN_ATTEMPTS = 5
# Request writes commit without merging (a merge can take hundreds of milliseconds); small
# segments are merged after the response once there are more than this many.
MAX_SEGMENTS = 8
# Rebuilds of at least this many documents use several processes (when allowed).
PARALLEL_FROM = 2000
PARALLEL_BATCH = 256  # documents handed to a worker process at a time

# A full rebuild builds a new generation beside the live index and switches over at the end:
# CURRENT (in the index directory) names the live generation's subdirectory; without it the
# index directory itself is live (an index made before generations existed). Every write to the
# live index holds LIVE_WRITELOCK, and while a rebuild runs, writers list the documents they
# wrote in REBUILD_JOURNAL, which the rebuild applies to the new generation before switching.
POINTER = "CURRENT"
LIVE_LOCK = "LIVE_WRITELOCK"
REBUILD_LOCK = "REBUILD_WRITELOCK"
JOURNAL = "REBUILD_JOURNAL"
GENERATION_PREFIX = "gen-"

# Loads the current version of documents by id: (upserts, deletes).
CatchUp = Callable[[list[str]], tuple[list[Document], list[str]]]


class IndexBroken(Exception):
    """The index directory cannot be opened or read; it must be rebuilt from the database."""


class WhooshBackend:
    """Index, search with facets, rebuild and verify, on one Whoosh directory."""

    name = "whoosh"

    def __init__(
        self, directory: Path, *, writer_timeout: float = 30.0, rebuild_procs: int = 1
    ) -> None:
        self.directory = Path(directory)
        self.writer_timeout = writer_timeout
        # The worker processes must inherit the segmenter's domain dictionary: fork only.
        forks = multiprocessing.get_start_method() == "fork"
        self.rebuild_procs = max(1, rebuild_procs) if forks else 1
        # Only a command line process forks (SearchEngine.allow_forks: `registry reindex`). A web
        # process never does: its children would copy the listening socket, open database
        # connections and, under a threaded server, locks held by other threads (issue 14).
        self.forks_allowed = False
        self._ix: index.Index | None = None
        self._ix_dir: Path | None = None  # the directory self._ix was opened from
        self._searcher = None
        self._segment_readers: dict[str, SegmentReader] = {}
        self._facets = FacetSets()
        self._term_sets = TermSets()
        self._lexicons = whoosh_queries.Lexicons()
        self._deleted: tuple[int | None, frozenset[int]] = (None, frozenset())
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- opening

    @contextmanager
    def _directory_lock(self) -> Iterator[None]:
        """Whoosh's own writer lock, for creating or resetting the directory itself."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileStorage(str(self.directory)).lock(f"{index._DEF_INDEX_NAME}_WRITELOCK")
        if not try_for(lock.acquire, timeout=self.writer_timeout, delay=0.05):
            raise LockError("search index is locked")
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def _file_lock(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """A lock file of ours in the index directory, shared by every process."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileStorage(str(self.directory)).lock(name)
        timeout = self.writer_timeout if timeout is None else timeout
        if not try_for(lock.acquire, timeout=timeout, delay=0.05):
            raise LockError(f"search index is locked ({name})")
        try:
            yield
        finally:
            lock.release()

    def live_directory(self) -> Path:
        """The live generation's directory (the index directory itself before any rebuild)."""
        try:
            name = (self.directory / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return self.directory
        return self.directory / name if name else self.directory

    def _try_open(self) -> tuple[index.Index | None, str | None]:
        """One attempt to open (or, under the lock, create) the index."""
        with warnings.catch_warnings():
            # Whoosh leaves an unreadable TOC file open inside its frames; they are cleared
            # here so that nothing keeps the file (or the exception) alive.
            warnings.simplefilter("ignore", ResourceWarning)
            failure = None
            try:
                live = self.live_directory()
                if not index.exists_in(str(live)):
                    with self._directory_lock():
                        live = self.live_directory()
                        if not index.exists_in(str(live)):
                            live.mkdir(parents=True, exist_ok=True)
                            index.create_in(str(live), schema())
                ix = index.open_dir(str(live))
                with ix.searcher() as probe:
                    probe.doc_count()
                self._ix_dir = live
                return ix, None
            except LockError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure to read counts
                failure = f"{type(error).__name__}: {error}"
                traceback.clear_frames(error.__traceback__)
            gc.collect()
            return None, failure

    def _open(self) -> index.Index:
        if self._ix is not None:
            if self._ix_dir == self.live_directory():
                return self._ix
            self.close()  # a rebuild switched generations: read (and write) the new one
        # A reader can lose a race with a writer that is removing the files of segments it just
        # merged away; only a failure that persists means the directory is really broken.
        for attempt in range(OPEN_ATTEMPTS):
            ix, failure = self._try_open()
            if ix is not None:
                self._ix = ix
                return ix
            time.sleep(0.05 * (attempt + 1))
        raise IndexBroken(failure)

    def _reader(self):
        with self._lock:
            for attempt in range(OPEN_ATTEMPTS):
                ix = self._open()
                try:
                    if self._searcher is None or not self._searcher.up_to_date():
                        self._searcher = None
                        self._searcher = self._fresh_searcher(ix)
                    return self._searcher
                except Exception as error:  # noqa: BLE001
                    failure = f"{type(error).__name__}: {error}"
                    self.close()
                    time.sleep(0.05 * (attempt + 1))
            raise IndexBroken(failure)

    def _fresh_searcher(self, ix: index.Index) -> Searcher:
        """A searcher over the latest generation that reuses the readers of unchanged segments.

        Not Searcher.refresh(): it reuses readers by segment id and so keeps a segment's old
        deletion set after a commit that only deleted. Here a reused reader is handed the new
        generation's segment object, which carries the current deletions, so after a
        one-document commit only the new segment is opened (opening a large one copies its
        term file into memory).
        """
        toc = ix._read_toc()
        old, kept, readers = self._segment_readers, {}, []
        try:
            for segment in toc.segments:
                key = segment.segment_id()
                reader = old.pop(key, None)
                if reader is None:
                    reader = SegmentReader(
                        ix.storage, toc.schema, segment, generation=toc.generation
                    )
                elif reader.segment() is not segment:
                    # Deletions live on the segment object, read by the reader and its
                    # per-document reader (and cached once as a set); postings and stored
                    # fields never change.
                    reader._segment = segment
                    reader._perdoc._segment = segment
                    reader.__dict__.pop("deleted_docs_set", None)
                kept[key] = reader
                readers.append(reader)
        finally:
            for reader in old.values():
                reader.close()
            self._segment_readers = kept
        if not readers:
            return Searcher(EmptyReader(toc.schema), fromindex=ix)
        # A MultiReader even for one segment: it carries this generation, the reused readers
        # carry the one they were opened at.
        return Searcher(MultiReader(readers, generation=toc.generation), fromindex=ix)

    def close(self) -> None:
        """Release the searcher and the index handle."""
        with self._lock:
            for reader in self._segment_readers.values():
                reader.close()
            self._segment_readers = {}
            self._searcher = None
            self._ix = None
            self._ix_dir = None
            self._facets.forget()

    def reset(self) -> None:
        """Replace a broken directory with an empty index, holding the writer lock meanwhile so
        that no other process writes into files that are being removed."""
        self.close()
        with self._file_lock(LIVE_LOCK), self._directory_lock():
            for path in self.directory.iterdir():
                if not path.name.endswith("WRITELOCK"):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
            index.create_in(str(self.directory), schema())

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
        with self._lock, self._file_lock(LIVE_LOCK):
            ix = self._open()
            writer = ix.writer(timeout=self.writer_timeout)
            try:
                upserts, deletes = load()
                self._journal([*deletes, *(d.doc_id for d in upserts)])
                # Old versions are found with the long-lived searcher (the lock is held, so it
                # is at the writer's generation): the writer's own would open every segment.
                searcher = self._reader()
                for doc_id in [*deletes, *(d.doc_id for d in upserts)]:
                    writer.delete_by_term("doc_id", doc_id, searcher=searcher)
                for document in upserts:
                    writer.add_document(**fields_of(document))
            except BaseException:
                writer.cancel()
                raise
            if upserts or deletes:
                writer.commit(merge=False)
            else:
                writer.cancel()

    def maintain(self) -> None:
        """Merge small segments once there are too many (after a response, or from the CLI)."""
        with self._lock:
            ix = self._open()
            if len(ix._segments()) <= MAX_SEGMENTS:
                return
            try:
                with self._file_lock(LIVE_LOCK, timeout=1.0):
                    writer = self._open().writer(timeout=1.0)
                    writer.commit(mergetype=MERGE_SMALL)
            except LockError:
                return  # another process is writing; it or the next writer merges

    def _journal(self, doc_ids: list[str]) -> None:
        """While a rebuild runs (its journal exists), note the documents this write touched:
        the rebuild read the database before them and applies them again before switching.
        Called with LIVE_WRITELOCK held."""
        if not doc_ids:
            return
        try:
            handle = open(self.directory / JOURNAL, "r+", encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            return
        with handle:
            handle.seek(0, os.SEEK_END)
            handle.write("".join(f"{doc_id}\n" for doc_id in doc_ids))

    def rebuild(
        self,
        documents: Iterable[Document],
        progress: Callable[[int], None] | None = None,
        catch_up: CatchUp | None = None,
    ) -> int:
        """Build a fresh generation beside the live index, then switch readers and writers to
        it. Writes to the live index go on meanwhile (the rebuild holds its lock only to start
        and to switch); those made after the rebuild began are journaled and re-read through
        `catch_up` (doc ids → current documents) into the new generation before the switch.

        `documents` must be read from a snapshot taken after this method starts iterating it."""
        with self._file_lock(REBUILD_LOCK, timeout=max(self.writer_timeout, 600.0)):
            with self._file_lock(LIVE_LOCK):
                (self.directory / JOURNAL).write_text("", encoding="utf-8")
            old = self.live_directory()
            new = self.directory / f"{GENERATION_PREFIX}{time.time_ns():x}-{os.getpid()}"
            try:
                count = self._build(new, documents, progress)
                with self._lock, self._file_lock(LIVE_LOCK):
                    journal = self.directory / JOURNAL
                    touched = list(dict.fromkeys(journal.read_text("utf-8").split()))
                    if touched and catch_up is not None:
                        self._write_into(new, *catch_up(touched))
                    pointer = self.directory / f"{POINTER}.tmp"
                    pointer.write_text(new.name, encoding="utf-8")
                    os.replace(pointer, self.directory / POINTER)
                    journal.unlink()
                    self.close()
            except BaseException:
                (self.directory / JOURNAL).unlink(missing_ok=True)
                shutil.rmtree(new, ignore_errors=True)
                raise
            self._discard_old(old, keep=new)
        return count

    def _build(
        self, folder: Path, documents: Iterable[Document], progress: Callable[[int], None] | None
    ) -> int:
        """Write every document into a new index in folder (nobody else writes there)."""
        folder.mkdir(parents=True)
        ix = index.create_in(str(folder), schema())
        documents = iter(documents)
        head = list(itertools.islice(documents, PARALLEL_FROM))
        options: dict = {"timeout": self.writer_timeout, "limitmb": 256}
        if self.forks_allowed and self.rebuild_procs > 1 and len(head) == PARALLEL_FROM:
            # Whoosh's multiprocess writer: each process analyses and writes its own segment.
            options |= {
                "procs": self.rebuild_procs,
                "multisegment": True,
                "batchsize": PARALLEL_BATCH,
            }
        writer = ix.writer(**options)
        count = 0
        try:
            for document in itertools.chain(head, documents):
                writer.add_document(**fields_of(document))
                count += 1
                if progress is not None:
                    progress(1)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        return count

    @staticmethod
    def _write_into(folder: Path, upserts: list[Document], deletes: list[str]) -> None:
        """Apply caught-up documents to the (not yet live) generation in folder."""
        writer = index.open_dir(str(folder)).writer()
        try:
            for doc_id in [*deletes, *(d.doc_id for d in upserts)]:
                writer.delete_by_term("doc_id", doc_id)
            for document in upserts:
                writer.add_document(**fields_of(document))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=False)

    def _discard_old(self, old: Path, keep: Path) -> None:
        """Remove generations no longer live (the one replaced, any a crashed rebuild left) and
        the files of an index that lived in the directory itself. Readers in other processes
        that still hold them open keep reading until they notice the switch."""
        for path in self.directory.iterdir():
            if path == keep:
                continue
            if path.is_dir() and path.name.startswith(GENERATION_PREFIX):
                shutil.rmtree(path, ignore_errors=True)
            elif (
                old == self.directory
                and path.is_file()
                and "MAIN" in path.name
                and not path.name.endswith("WRITELOCK")
            ):
                path.unlink(missing_ok=True)

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
        return self._facets.get(searcher, facet)

    def build_query(self, parsed: ParsedQuery, synonyms: analysis.Synonyms, searcher=None):
        """The Whoosh query for a parsed user query (registry/search/whoosh_queries.py)."""
        return whoosh_queries.build_query(parsed, synonyms, searcher or self._reader())

    def search(
        self, request: SearchRequest, synonyms: analysis.Synonyms | None = None
    ) -> SearchResult:
        """Run the query: exact total, facet counts, one page of hits with snippets.

        One search at a time per process: the shared searcher and facet cache are replaced when
        the index changes, which must not happen under another thread's feet.
        """
        with self._lock:
            return self._search(request, synonyms)

    def _search(self, request: SearchRequest, synonyms: analysis.Synonyms | None) -> SearchResult:
        synonyms = synonyms or analysis.Synonyms({})
        result = SearchResult(
            [], 0, request.page, request.per_page, notices=list(request.query.notices)
        )
        if request.query.is_empty:
            return result
        searcher = self._reader()
        if not searcher.doc_count_all():
            # An index with no segment yet (its first build is still running in another thread
            # of this process): nothing found, rather than per-segment caches on a reader that
            # has no segment.
            return result
        wanted = None  # documents allowed by the facet filters (None: no filter)
        for facet, value in request.filters.items():
            docs = self._facet_sets(searcher, facet).get(value, frozenset())
            wanted = docs if wanted is None else wanted & docs
        query = self.build_query(request.query, synonyms, searcher)
        evaluation, matched = self._evaluate(searcher, query)
        if not matched:
            corrected = self.suggest(request.query, searcher)
            if corrected is not None:
                better = self.build_query(corrected, synonyms, searcher)
                better_evaluation, better_matched = self._evaluate(searcher, better)
                if better_matched:  # a suggestion that finds nothing either is not offered
                    result.suggestion = corrected.text
                    result.notices.append(
                        f"没有找到“{request.query.text}”的结果,已为您显示“{corrected.text}”的结果。"
                    )
                    query, evaluation, matched = better, better_evaluation, better_matched
        candidates = matched if wanted is None else matched & wanted
        result.total = len(candidates)
        for facet in FACET_FIELDS:
            counts = {
                value: len(docs & matched)
                for value, docs in self._facet_sets(searcher, facet).items()
            }
            result.facets[facet] = {k: v for k, v in sorted(counts.items()) if v}
        if not result.total:
            return result
        limit = request.page * request.per_page
        boosts = self._boosts(searcher, candidates)
        guide = self._kinds(searcher, GUIDE_KINDS) & candidates
        terms = highlight_terms(request.query, synonyms)

        def hits(ranked) -> list[Hit]:
            return [
                Hit.of(searcher.stored_fields(docnum), score, terms) for docnum, score in ranked
            ]

        ranked = rank(evaluation, query, candidates, limit, boosts, guide)
        result.hits = hits(ranked[(request.page - 1) * request.per_page : limit])
        if request.group_size:
            counts, best = {}, {}
            type_sets = self._facet_sets(searcher, "type")
            for kind, docs in type_sets.items():
                counts[kind] = len(docs & candidates)
            for spec in GROUPS:
                docs = self._kinds(searcher, spec.kinds) & candidates
                if docs:
                    best[spec.key] = hits(
                        rank(evaluation, query, docs, request.group_size, boosts, guide & docs)
                    )
            result.set_groups(counts, best)
        return result

    def _kinds(self, searcher, kinds) -> frozenset[int]:
        """The documents of these kinds."""
        type_sets = self._facet_sets(searcher, "type")
        return frozenset().union(*(type_sets.get(kind, frozenset()) for kind in kinds))

    def _boosts(self, searcher, candidates: frozenset[int]) -> dict[int, float]:
        """docnum → score factor: rank_boost for the candidates that carry a rank term (a
        provider's credit grade), times GUIDE_BOOST for the guide's kinds (the rest: 1.0)."""
        boosts: dict[int, float] = {}
        for raw in searcher.reader().expand_prefix("keyword_exact", RANK_PREFIX):
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            try:
                factor = rank_boost(float(term.removeprefix(RANK_PREFIX)))
            except ValueError:
                continue
            for docnum in self._term_sets.get(searcher, "keyword_exact", term) & candidates:
                boosts[docnum] = factor
        for docnum in self._kinds(searcher, GUIDE_KINDS) & candidates:
            boosts[docnum] = boosts.get(docnum, 1.0) * GUIDE_BOOST
        return boosts

    def _evaluate(self, searcher, query) -> tuple[Evaluation, frozenset[int]]:
        """The query's matching documents, deleted ones removed."""
        evaluation = Evaluation(searcher, self._term_sets)
        return evaluation, evaluation.of(query) - self._deleted_docs(searcher)

    def _deleted_docs(self, searcher) -> frozenset[int]:
        generation = searcher.ixreader.generation()
        if self._deleted[0] != generation:
            deleted = frozenset(
                docnum + offset
                for sub, offset in searcher.leaf_searchers()
                for docnum in sub.reader().deleted_docs_set
            )
            self._deleted = (generation, deleted)
        return self._deleted[1]

    def suggest(self, parsed: ParsedQuery, searcher=None) -> ParsedQuery | None:
        """Did-you-mean: homophones (same pinyin) and pinyin typos mapped back to real words."""
        searcher = searcher or self._reader()
        changed, chunks = False, []
        for chunk in parsed.chunks:
            replacement = whoosh_queries.correct_chunk(chunk, searcher, self._lexicons)
            changed = changed or (replacement is not None and replacement != chunk)
            chunks.append(replacement or chunk)
        if not changed:
            return None
        return ParsedQuery(raw=" ".join(chunks), chunks=chunks, phrases=list(parsed.phrases))
