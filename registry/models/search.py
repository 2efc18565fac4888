"""Search bookkeeping: the transactional outbox, and the PostgreSQL full-text document table."""

from __future__ import annotations

from sqlalchemy import JSON, Float, Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.types import Created, IntPK, JsonList, Note


class SearchOutbox(db.Model):
    """A searchable row changed: written in the same transaction as the change, drained after commit."""

    __tablename__ = "search_outbox"
    # Ids must never be reused: a drainer deletes the ids it handled, and on SQLite a reused
    # rowid would make it delete a newer, unhandled row (a lost index update, seen in testing).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Created]


class SearchDocument(db.Model):
    """One public document for the PostgreSQL backend (jieba tokens in a `simple` tsvector)."""

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_kind", "kind"),
    )

    doc_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[Note]
    url: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[JsonList]
    facets: Mapped[dict] = mapped_column(JSON, default=dict)
    rank: Mapped[float] = mapped_column(Float, default=0.0)
    content_hash: Mapped[str] = mapped_column(String(64))
    # On SQLite (where this backend is never used) the column is plain text.
    tsv: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))
