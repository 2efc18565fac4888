"""Rendered public pages kept in memory and answered without running the view again.

A view marked `@cached_page` (the catalogue, the directory, provider profiles, credit notices,
the catalogue API) is rendered once per state of the data and day: the key is the URL with its
query, the `public` data generation (services/freshness.py, raised by every commit that changes
what these pages show) and today's date in Beijing (pages show states that turn with the day).
Only anonymous GETs are cached — a signed-in user's page carries their name and menu — and only
a plain 200 that set no cookie and touched no session.

Every cached answer carries a weak `ETag` and `Last-Modified`, with `Cache-Control: no-cache`, so
browsers and proxies revalidate and get `304 Not Modified` without a body; a gzip copy is made
once per page for clients that accept it. The store is a per-process LRU bounded in bytes
(`PAGE_CACHE_BYTES`); `PAGE_CACHE = False` turns it all off.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import LRUCache
from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user

from registry.kernel import clock

MIN_GZIP_BYTES = 1024
# Headers of the rendered answer that a cached answer carries again (a download keeps its name,
# an API answer its CORS headers).
KEPT_HEADERS = (
    "Content-Disposition",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
)


def cached_page(view):
    """Mark a public view whose anonymous GETs may be answered from the page cache."""
    view.cached_page = True
    return view


@dataclass
class Entry:
    body: bytes
    content_type: str
    etag: str
    changed_at: datetime | None
    endpoint: str
    gzipped: bytes | None = field(default=None)
    kept: tuple[tuple[str, str], ...] = ()  # KEPT_HEADERS as the view set them

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + 200


class PageCache:
    """The per-process store (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self._lock = threading.Lock()
        self._entries: LRUCache = LRUCache(maxsize=max_bytes, getsizeof=lambda e: e.size)

    def get(self, key: str) -> Entry | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, entry: Entry) -> None:
        if entry.size > self._entries.maxsize:
            return
        with self._lock:
            self._entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _store() -> PageCache | None:
    return current_app.extensions.get("page_cache")


def _cacheable_request() -> bool:
    if request.method not in ("GET", "HEAD") or _store() is None:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "cached_page", False) or current_user.is_authenticated:
        return False
    return "_flashes" not in session


def cache_key(path: str, query: str, generation: str) -> str:
    """The key (and ETag) of a page: its path and raw query string, the data state, today."""
    raw = f"{path}?{query}|{generation}|{clock.today()}"
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _key() -> tuple[str, datetime | None]:
    generation, changed_at = current_app.extensions["freshness"].current()
    query = request.query_string.decode("latin-1")
    return cache_key(request.path, query, generation), changed_at


def _answer(entry: Entry) -> Response:
    use_gzip = entry.gzipped is not None and "gzip" in request.accept_encodings
    response = Response(entry.gzipped if use_gzip else entry.body, content_type=entry.content_type)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.headers.extend(entry.kept)
    _validators(response, entry.etag, entry.changed_at)
    return response.make_conditional(request)


def _validators(response: Response, etag: str, changed_at: datetime | None) -> None:
    response.set_etag(etag, weak=True)
    if changed_at is not None:
        response.last_modified = changed_at
    response.headers["Cache-Control"] = "no-cache"
    response.vary.update(("Accept-Encoding", "Cookie"))


def _before_request():
    """Answer from the cache (or with 304) before the view runs."""
    if not _cacheable_request():
        return None
    key, changed_at = _key()
    entry = _store().get(key)
    if entry is None:
        g.page_cache_key = (key, changed_at)  # render, then keep (_after_request)
        return None
    if (
        entry.gzipped is None
        and "gzip" in request.accept_encodings
        and len(entry.body) >= MIN_GZIP_BYTES
    ):
        entry.gzipped = gzip.compress(entry.body, 6)
        _store().put(key, entry)
    return _answer(entry)


def _after_request(response: Response) -> Response:
    """Keep a freshly rendered page (a plain 200 that set no cookie and touched no session)."""
    pending = g.pop("page_cache_key", None)
    if pending is None or response.status_code != 200 or response.direct_passthrough:
        return response
    if session.modified or "Set-Cookie" in response.headers or response.content_encoding:
        return response
    key, changed_at = pending
    entry = Entry(response.get_data(), response.content_type, key, changed_at, request.endpoint)
    entry.kept = tuple(
        (name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers
    )
    if "gzip" in request.accept_encodings and len(entry.body) >= MIN_GZIP_BYTES:
        entry.gzipped = gzip.compress(entry.body, 6)
    _store().put(key, entry)
    return _answer(entry)


def install(app: Flask) -> None:
    """After the guard: the cache answers only requests the guard let through."""
    if app.config["PAGE_CACHE"]:
        app.extensions["page_cache"] = PageCache(int(app.config["PAGE_CACHE_BYTES"]))
    app.before_request(_before_request)
    app.after_request(_after_request)
