"""Where uploaded bytes live, behind one small interface: on this node's disk (UPLOAD_STORAGE =
"disk", the default) or in the database's upload_blobs table ("database"), which every app node
on one PostgreSQL shares. Content is addressed by its SHA-256, so a digest names its bytes for good
and storing the same bytes twice is a no-op."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from registry.extensions import db
from registry.models import UploadBlob

BACKENDS = ("disk", "database")
DIGEST = re.compile(r"[0-9a-f]{64}")


class Storage(Protocol):
    """The bytes of uploads by SHA-256 digest."""

    name: str

    def put(self, digest: str, data: bytes) -> None:
        """Store data under its digest (nothing happens when it is already there)."""

    def read(self, digest: str) -> bytes | None:
        """The bytes under digest, or None."""

    def exists(self, digest: str) -> bool:
        """Whether bytes are stored under digest."""

    def iter_digests(self) -> Iterator[str]:
        """Every stored digest."""


class DiskStorage:
    """Files under root/<sha[:2]>/<sha> (the layout uploads have always had)."""

    name = "disk"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        """Where digest's file is (or would be)."""
        if not DIGEST.fullmatch(digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / digest

    def put(self, digest: str, data: bytes) -> None:
        """Write the file under a temporary name and rename it: a reader never sees half a file."""
        target = self.path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)

    def read(self, digest: str) -> bytes | None:
        """The file's bytes, or None when there is no such file."""
        path = self.path(digest)
        return path.read_bytes() if path.is_file() else None

    def exists(self, digest: str) -> bool:
        """Whether the file is there."""
        return self.path(digest).is_file()

    def iter_digests(self) -> Iterator[str]:
        """Every file named by a digest in its two-letter folder (temporary files are skipped)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for file in sorted(folder.iterdir()):
                if DIGEST.fullmatch(file.name) and file.name[:2] == folder.name and file.is_file():
                    yield file.name


class DatabaseStorage:
    """Rows of upload_blobs written in the caller's transaction: a rolled-back upload leaves
    no bytes behind, and a committed one is there for every node at once."""

    name = "database"

    def put(self, digest: str, data: bytes) -> None:
        """Insert the row unless it is there (two nodes storing the same bytes do not collide)."""
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(UploadBlob)
            .values(sha256=digest, data=data)
            .on_conflict_do_nothing(index_elements=["sha256"])
        )
        db.session.execute(statement)

    def read(self, digest: str) -> bytes | None:
        """The row's bytes, or None."""
        return db.session.scalar(select(UploadBlob.data).where(UploadBlob.sha256 == digest))

    def exists(self, digest: str) -> bool:
        """Whether the row is there."""
        found = db.session.scalar(select(UploadBlob.sha256).where(UploadBlob.sha256 == digest))
        return found is not None

    def iter_digests(self) -> Iterator[str]:
        """Every stored digest, in order."""
        yield from db.session.scalars(select(UploadBlob.sha256).order_by(UploadBlob.sha256))


def disk_storage() -> DiskStorage:
    """The disk back-end at UPLOAD_DIR (also what backups copy uploads from and into)."""
    return DiskStorage(Path(current_app.config["UPLOAD_DIR"]))


def get_storage() -> Storage:
    """The back-end UPLOAD_STORAGE names."""
    kind = current_app.config.get("UPLOAD_STORAGE") or "disk"
    if kind == "disk":
        return disk_storage()
    if kind == "database":
        return DatabaseStorage()
    raise ValueError(f"UPLOAD_STORAGE must be one of {', '.join(BACKENDS)}, not {kind!r}")
