"""Files sent to the browser as attachments: an uploaded file (a qualification or certificate
scan, an objection's evidence, a service result; 404 when there is none or its content is gone),
and generated files under a Chinese name with a readable ASCII fallback."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import IO

from flask import Response, abort, send_file

from registry.models import Upload
from registry.services.errors import NotFound
from registry.services.uploads import upload_content


def send_attachment(content: Path | IO[bytes], mimetype: str, name: str, fallback: str) -> Response:
    """`content` as a download named `name` (RFC 6266 `filename*`, which browsers use) with the
    ASCII `fallback` as the plain `filename` for clients that only read that. Left to itself,
    Werkzeug drops the Chinese characters of the name, so "考评得分模板-…-2026年上半年.xlsx"
    fell back to "--2026.xlsx"."""
    response = send_file(content, mimetype=mimetype, as_attachment=True, download_name=name)
    if not name.isascii():
        unicode_part = response.headers["Content-Disposition"].split("filename*=", 1)[1]
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{fallback}"; filename*={unicode_part}'
        )
    return response


def send_upload(upload: Upload | None) -> Response:
    """The upload as a download under its own name and type; 404 without one or its content."""
    if upload is None:
        abort(404)
    try:
        content = upload_content(upload)
    except NotFound:
        abort(404)
    suffix = PurePath(upload.filename).suffix.lower()
    fallback = f"file-{upload.id}{suffix if suffix[1:].isascii() and suffix[1:].isalnum() else ''}"
    return send_attachment(content, upload.content_type, upload.filename, fallback)
