"""The search facade the application uses: backend choice, the transactional outbox, draining,
rebuild and verify. The database is the truth; the index is a cache of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from registry.database import read_only
from registry.extensions import db
from registry.models.search import SearchOutbox
from registry.search import analysis
from registry.search.base import Drift, SearchRequest, SearchResult
from registry.search.documents import (
    KINDS,
    Document,
    all_documents,
    documents_for,
    kind_for,
    related_documents,
)
from registry.search.query import parse_query
from registry.search.whoosh_backend import IndexBroken, WhooshBackend

log = logging.getLogger(__name__)
DRAIN_BATCH = 500


class SearchEngine:
    """One per application: chooses the backend and keeps it in step with the database."""

    def __init__(self, app: Flask) -> None:
        self.backend_name = app.config.get("SEARCH_BACKEND", "whoosh")
        self.synonyms = analysis.Synonyms.load(
            Path(app.config["SEEDS_DIR"]) / "search" / "synonyms.yaml"
        )
        analysis.SEGMENTER.add_words(self.synonyms.words())
        analysis.SEGMENTER.add_words(_catalogue_words(Path(app.config["SEEDS_DIR"])))
        if self.backend_name == "postgresql":
            from registry.search.pg_backend import PostgresBackend

            self.backend = PostgresBackend()
        else:
            self.backend = WhooshBackend(
                Path(app.config["SEARCH_INDEX_DIR"]),
                writer_timeout=float(app.config["SEARCH_WRITER_TIMEOUT"]),
                rebuild_procs=int(app.config.get("SEARCH_REBUILD_PROCS", 2)),
            )
        self._started = False
        # Set by the web layer: runs a task after the response is sent, or answers False (no
        # request). The search layer itself knows nothing of requests.
        self.defer: Callable[[Callable[[], None]], bool] | None = None

    @property
    def in_transaction(self) -> bool:
        """Whether the index is updated inside the data's own transaction (PostgreSQL)."""
        return self.backend_name == "postgresql"

    # ------------------------------------------------------------------ reading

    def search(self, request: SearchRequest) -> SearchResult:
        """Search; a broken index is rebuilt from the database instead of being served."""
        self._start()
        try:
            return self.backend.search(request, self.synonyms)
        except IndexBroken as error:
            log.warning("search index unreadable (%s); rebuilding", error)
            self.rebuild_broken()
            return self.backend.search(request, self.synonyms)

    def _start(self) -> None:
        """First use in this process: pick up outbox rows a crash left behind."""
        if self._started:
            return
        self._started = True
        try:
            if not self.backend.health()["documents"]:
                # A new or emptied index beside existing data (first start, or an upgrade that
                # added search): build it from the database rather than answer "nothing found".
                self.rebuild()
            elif not self.in_transaction:
                self.drain()
        except IndexBroken:
            self.rebuild_broken()
        except Exception:  # noqa: BLE001 - the next writer or `registry reindex` retries
            log.exception("search: start-up catch-up failed")

    def warm_up(self) -> None:
        """Before a server answers: build a missing index and catch up the outbox (never inside
        a request), run one search so the segmenter, pinyin and synonym tables are loaded, then
        release the index handles, so that forked workers open their own files."""
        self._start()
        self.search(SearchRequest(query=parse_query("环评 huanping")))
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------------ writing

    def drain(self, limit: int = DRAIN_BATCH) -> int:
        """Move pending outbox rows into the index; returns how many rows were handled."""
        if self.in_transaction:
            with Session(db.engine) as session:
                count = self.backend.drain_in(session, limit)
                session.commit()
                return count
        handled = 0
        while True:
            done: list[int] = []

            def load(done=done) -> tuple[list[Document], list[str]]:
                with read_only(), Session(db.engine) as session:
                    rows = session.scalars(
                        select(SearchOutbox).order_by(SearchOutbox.id).limit(limit)
                    ).all()
                    done.extend(r.id for r in rows)
                    return documents_for(session, {(r.kind, r.key) for r in rows})

            try:
                self.backend.apply_locked(load)
            except IndexBroken:
                self.rebuild_broken()
                return handled
            if not done:
                return handled
            with Session(db.engine) as session:
                session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(done)))
                session.commit()
            handled += len(done)
            if len(done) < limit:
                return handled

    def maintain(self) -> None:
        """Merge small index segments when there are too many; failures only log."""
        try:
            self.backend.maintain()
        except Exception:  # noqa: BLE001 - the next write tries again
            log.exception("search: merging segments failed")

    def maintain_later(self) -> None:
        """Merge later when the web layer can (after the response is sent: the user does not
        wait), or now (CLI, tests)."""
        if self.in_transaction:
            return
        if self.defer is None or not self.defer(self.maintain):
            self.maintain()

    def allow_forks(self) -> None:
        """This process is a single-threaded command (`registry reindex`): a full Whoosh rebuild
        may fork SEARCH_REBUILD_PROCS processes. Web processes never call this (issue 14)."""
        if isinstance(self.backend, WhooshBackend):
            self.backend.forks_allowed = True

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the whole index from the database; clears the outbox it covers. Never one
        long transaction: PostgreSQL rewrites the documents in short batches, Whoosh builds a
        new generation from a read-only snapshot beside the live index and switches to it,
        catching up with the edits drained meanwhile."""
        seen: dict[str, int | None] = {}

        def documents(session: Session):
            # Read only once the backend is ready (Whoosh: its journal of concurrent writes is
            # open), so nothing drained after this snapshot is missed.
            seen["last"] = session.scalar(select(SearchOutbox.id).order_by(SearchOutbox.id.desc()))
            yield from all_documents(session)

        # A read-only snapshot: a long rebuild never holds SQLite's write lock.
        with read_only(), Session(db.engine) as session:
            if self.in_transaction:
                count = self.backend.rebuild(documents(session), progress)
            else:
                count = self.backend.rebuild(documents(session), progress, self._current)
        if seen.get("last") is not None:
            with Session(db.engine) as session:
                session.execute(delete(SearchOutbox).where(SearchOutbox.id <= seen["last"]))
                session.commit()
        return count

    @staticmethod
    def _current(doc_ids: list[str]) -> tuple[list[Document], list[str]]:
        """The current documents of these ids (a rebuild catching up), read afresh."""
        keys = {tuple(doc_id.split(":", 1)) for doc_id in doc_ids if ":" in doc_id}
        with read_only(), Session(db.engine) as session:
            return documents_for(session, keys)

    def rebuild_broken(self) -> None:
        """Throw away an unreadable index directory and build it again."""
        if isinstance(self.backend, WhooshBackend):
            self.backend.reset()
        self.rebuild()

    def expected_hashes(self) -> dict[str, str]:
        """doc_id → hash of what the database says the index should hold."""
        with read_only(), Session(db.engine) as session:
            return {d.doc_id: d.content_hash() for d in all_documents(session)}

    def verify(self) -> Drift:
        """Compare the index with the database."""
        try:
            return Drift.between(self.expected_hashes(), self.backend.stored_hashes())
        except IndexBroken:
            return Drift(missing=["<index unreadable>"])

    def repair(self, drift: Drift) -> None:
        """Fix only the drift: re-index missing and stale documents, delete extra ones."""
        wanted = {tuple(doc_id.split(":", 1)) for doc_id in drift.missing + drift.stale}
        with Session(db.engine) as session:
            upserts, deletes = documents_for(session, wanted)
            if self.in_transaction:
                self.backend.write_in(session, upserts, deletes + drift.extra)
                session.commit()
            else:
                self.backend.apply(upserts, deletes + drift.extra)


def _catalogue_words(seeds: Path) -> list[str]:
    """Service abbreviations from the seed file (the domain dictionary: 环评, 水保, 图审 …)."""
    from registry import yamlfile

    path = seeds / "catalogue" / "service_items.yaml"
    if not path.exists():
        return []
    rows = yamlfile.read(path) or []
    return [word for row in rows for word in row.get("abbreviations") or [] if len(word) <= 4]


# ---------------------------------------------------------------------- session hooks


def _engine() -> SearchEngine | None:
    if not has_app_context():
        return None
    return current_app.extensions.get("search")


def _before_flush(session: Session, _context, _instances) -> None:
    """Write outbox rows for every changed searchable row, in the same transaction."""
    if _engine() is None:
        return
    pending: list[tuple[str, str]] = []
    modified = [o for o in session.dirty if session.is_modified(o)]
    for obj in [*session.new, *modified, *session.deleted]:
        kind = kind_for(obj)
        if kind is None:
            pending += related_documents(obj)
            continue
        if kind.key(obj) is None and obj in session.new:
            # Keyed by the id the flush is about to give it (a person): queued after the flush.
            session.info.setdefault("search_unkeyed", []).append(obj)
        pending.append((kind.name, kind.key(obj)))
        history = inspect(obj).attrs[kind.key_attr].history
        pending += [(kind.name, old) for old in history.deleted or () if old]
        if obj not in session.deleted:
            pending += kind.dependents(obj)
        # Rows just unlinked from obj (an approval item dropped from a service item, say) still
        # show obj in their own documents until they are re-indexed too.
        state = inspect(obj)
        for relationship in state.mapper.relationships:
            for other in state.attrs[relationship.key].history.deleted or ():
                other_kind = kind_for(other)
                if other_kind is not None:
                    pending.append((other_kind.name, other_kind.key(other)))
    for kind_name, key in dict.fromkeys(pending):
        if kind_name in KINDS and key:
            session.add(SearchOutbox(kind=kind_name, key=str(key)))
    if pending:
        session.info["search_pending"] = True


def _after_flush(session: Session, _context) -> None:
    """Queue the new rows keyed by their id, now that the flush has given them one (the next
    flush, at the latest the commit's, writes the outbox rows)."""
    for obj in session.info.pop("search_unkeyed", ()):
        kind = kind_for(obj)
        key = kind.key(obj) if kind is not None else None
        if key:
            session.add(SearchOutbox(kind=kind.name, key=str(key)))
            session.info["search_pending"] = True


def enqueue(session: Session, kind: str, key: str) -> None:
    """Queue one document for re-indexing in this transaction: for changes made by a bulk
    UPDATE statement, which the flush hooks never see (e.g. a provider's recomputed grade)."""
    if _engine() is None or kind not in KINDS or not key:
        return
    session.add(SearchOutbox(kind=kind, key=str(key)))
    session.info["search_pending"] = True


def _before_commit(session: Session) -> None:
    """PostgreSQL backend: index inside the data's own transaction."""
    engine = _engine()
    if engine is None or not engine.in_transaction:
        return
    session.flush()  # before_commit runs before commit's own flush: flush so the outbox is known
    if session.new:
        session.flush()  # the outbox rows of rows keyed by their new id (_after_flush)
    if not session.info.get("search_pending"):
        return
    engine.backend.drain_in(session, limit=None)
    session.info.pop("search_pending", None)


def _after_commit(session: Session) -> None:
    """Whoosh backend: after commit, drain (this request's rows and any left before)."""
    engine = _engine()
    if engine is None or engine.in_transaction or session.in_nested_transaction():
        # A savepoint released (SQLAlchemy calls after_commit for those too): the outer
        # transaction still holds the write lock, and its own commit drains.
        return
    if not session.info.pop("search_pending", False):
        return
    try:
        engine.drain()
    except Exception:  # noqa: BLE001 - rows stay in the outbox; the next drain takes them
        log.exception("search: drain after commit failed; left for the next writer")
        return
    engine.maintain_later()


def _after_rollback(session: Session, _transaction) -> None:
    session.info.pop("search_pending", None)
    session.info.pop("search_unkeyed", None)


# The session events search listens on; registry/hooks.py installs them after the grades'.
HOOKS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
    ("after_commit", _after_commit),
    ("after_soft_rollback", _after_rollback),
)


def init_app(app: Flask) -> None:
    """Attach the engine (no I/O: the index opens on first use)."""
    app.config.setdefault("SEARCH_BACKEND", "whoosh")
    app.config.setdefault("SEARCH_WRITER_TIMEOUT", 30)
    app.extensions["search"] = SearchEngine(app)


def get_engine() -> SearchEngine:
    """The current application's search engine."""
    return current_app.extensions["search"]
