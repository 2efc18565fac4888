"""An uploaded file sent to the browser as an attachment (a qualification or certificate scan,
an objection's evidence, a service result): 404 when there is none or its content is gone."""

from __future__ import annotations

from flask import Response, abort, send_file

from registry.models import Upload
from registry.services.errors import NotFound
from registry.services.uploads import upload_content


def send_upload(upload: Upload | None) -> Response:
    """The upload as a download under its own name and type; 404 without one or its content."""
    if upload is None:
        abort(404)
    try:
        content = upload_content(upload)
    except NotFound:
        abort(404)
    return send_file(
        content, mimetype=upload.content_type, as_attachment=True, download_name=upload.filename
    )
