"""Uploaded files (qualification scans, service results, objection evidence): the type is read
from the content, the size is bounded, and the bytes are stored once under their SHA-256 in the
configured storage (registry/storage.py: this node's disk, or the shared database)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import puremagic
from flask import current_app
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.models import Upload, User
from registry.services.errors import NotFound, RegistryError
from registry.storage import DiskStorage, get_storage

# What the content must be, whatever the name or the browser says.
ALLOWED = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}
ALLOWED_LABEL = "PDF、PNG 或 JPG"


def _kind(data: bytes) -> str | None:
    """The extension matching the content's magic number, if it is one we accept."""
    try:
        found = puremagic.from_string(data)
    except (puremagic.PureError, ValueError):
        return None
    found = ".jpg" if found in (".jpeg", ".jfif") else found
    return found if found in ALLOWED else None


def save_upload(file: FileStorage | None, field: str, user: User | None) -> Upload:
    """Check and store one uploaded file; the Upload row is added to the session (not committed)."""
    if file is None or not file.filename:
        raise RegistryError(field, "请选择要上传的文件。")
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = file.stream.read(limit + 1)
    if not data:
        raise RegistryError(field, "上传的文件是空的。")
    if len(data) > limit:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        raise RegistryError(field, f"文件超过 {size} 的上限。")
    kind = _kind(data)
    if kind is None:
        raise RegistryError(field, f"只接受 {ALLOWED_LABEL} 文件(按文件内容判断,不看扩展名)。")
    digest = hashlib.sha256(data).hexdigest()
    get_storage().put(digest, data)
    # The name is only ever shown (escaped) and offered as the download name; the bytes live
    # under their hash, so a hostile name cannot reach the file system.
    stem = Path(file.filename.replace("\\", "/")).stem.strip()[:100] or "file"
    upload = Upload(
        filename=f"{stem}{kind}",
        content_type=ALLOWED[kind],
        size=len(data),
        sha256=digest,
        uploaded_by_id=user.id if user else None,
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def upload_content(upload: Upload) -> Path | io.BytesIO:
    """An upload's bytes for send_file: the file's path on disk (so ranges and conditional
    requests work), or the bytes from the database in a BytesIO."""
    storage = get_storage()
    if isinstance(storage, DiskStorage):
        path = storage.path(upload.sha256)
        if path.is_file():
            return path
    else:
        data = storage.read(upload.sha256)
        if data is not None:
            return io.BytesIO(data)
    raise NotFound("文件不存在或已被移除")
