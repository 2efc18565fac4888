"""Static files (CSS) cached for a year and compressed.

Every `url_for('static', filename=…)` gets `?v=<hash of the file's content>`. A URL that carries
the file's current hash is answered with `Cache-Control: public, max-age=31536000, immutable`: a
new version of the file has a new URL, so browsers never need to ask again. Any other URL (no
hash, or an old one) is answered with `no-cache` and revalidated through its ETag. A client that
accepts gzip gets a copy compressed once per file version. Behind nginx (deploy/) nginx serves
/static/ itself; this is what `registry serve` and gunicorn do without it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path

from flask import Flask, Response, current_app, request

YEAR = 365 * 24 * 3600
COMPRESSED_TYPES = ("text/css", "text/javascript", "application/javascript", "image/svg+xml")


class StaticVersions:
    """The content hash and the gzip copy of each static file, per (mtime, size) of the file."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._known: dict[str, tuple[tuple[float, int], str, bytes | None]] = {}

    def _entry(self, filename: str) -> tuple[tuple[float, int], str, bytes | None] | None:
        path = (self.folder / filename).resolve()
        if not path.is_relative_to(self.folder.resolve()) or not path.is_file():
            return None
        stat = os.stat(path)
        stamp = (stat.st_mtime, stat.st_size)
        with self._lock:
            known = self._known.get(filename)
        if known is None or known[0] != stamp:
            data = path.read_bytes()
            known = (stamp, hashlib.sha256(data).hexdigest()[:12], None)
            with self._lock:
                self._known[filename] = known
        return known

    def version(self, filename: str) -> str | None:
        entry = self._entry(filename)
        return entry[1] if entry else None

    def gzipped(self, filename: str) -> bytes | None:
        entry = self._entry(filename)
        if entry is None:
            return None
        if entry[2] is None:
            packed = gzip.compress((self.folder / filename).read_bytes(), 9)
            entry = (entry[0], entry[1], packed)
            with self._lock:
                self._known[filename] = entry
        return entry[2]


def _versions() -> StaticVersions:
    return current_app.extensions["static_versions"]


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "v" not in values and values.get("filename"):
        version = _versions().version(values["filename"])
        if version:
            values["v"] = version


def _cache_and_compress(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code != 200:
        if request.endpoint == "static":
            response.headers["Cache-Control"] = "no-cache"
        return response
    filename = (request.view_args or {}).get("filename", "")
    current = _versions().version(filename)
    if current and request.args.get("v") == current:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Encoding")
    if response.mimetype in COMPRESSED_TYPES and "gzip" in request.accept_encodings:
        packed = _versions().gzipped(filename)
        if packed is not None:
            file_body = getattr(response.response, "close", None)
            if file_body is not None:
                file_body()  # the file send_file opened is replaced by the gzip copy
            response.direct_passthrough = False
            response.set_data(packed)
            response.headers["Content-Encoding"] = "gzip"
    return response


def install(app: Flask) -> None:
    if app.static_folder is None:
        return
    app.extensions["static_versions"] = StaticVersions(app.static_folder)
    app.url_defaults(_add_version)
    app.after_request(_cache_and_compress)
