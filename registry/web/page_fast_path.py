"""The page cache's fast path: a WSGI layer in front of Flask that answers an anonymous GET
from the page cache (web/page_cache.py) before Flask builds a request, runs the guard and the
hooks, and loads no user.

It answers only when all of these hold, and otherwise hands the request to Flask unchanged:
* GET or HEAD, and no session or remember-me cookie (a signed-in user, or a visitor with a
  flash message waiting, goes through Flask);
* the Host is trusted (an untrusted one gets Flask's 400);
* this process read the data generation less than `PAGE_CACHE_RECHECK_SECONDS` ago and has not
  committed since (services/freshness.Generations.peek): the key is the one Flask would use;
* the page for that key was rendered by Flask for an anonymous visitor and kept.

The answer is the one Flask would send: the stored body (or its gzip copy), the same validators
(`ETag`, `Last-Modified`, `Cache-Control: no-cache`, 304 on a matching `If-None-Match`), the
security headers and a request id; the request is counted in the metrics under its endpoint.
"""

from __future__ import annotations

import time

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.http import http_date
from werkzeug.wsgi import get_host

from registry.observability import REQUEST_ID_HEADER, new_request_id
from registry.web.headers import SECURITY_HEADERS
from registry.web.page_cache import Entry, cache_key


class FastPath:
    """WSGI middleware around the Flask app's wsgi_app."""

    def __init__(self, app: Flask, inner) -> None:
        self.app = app
        self.inner = inner
        self.store = app.extensions["page_cache"]
        self.generations = app.extensions["freshness"]
        names = (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME"))
        self.cookies = tuple(f"{name}=" for name in names if name) or ("remember_token=",)
        self.trusted = app.config.get("TRUSTED_HOSTS")

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        entry = self._entry(environ)
        if entry is None:
            return self.inner(environ, start_response)
        return self._answer(entry, environ, start_response, started)

    def _entry(self, environ) -> Entry | None:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        cookie = environ.get("HTTP_COOKIE", "")
        if cookie and any(name in cookie for name in self.cookies):
            return None
        if self.trusted:
            try:
                get_host(environ, self.trusted)
            except SecurityError:
                return None
        known = self.generations.peek()
        if known is None:
            return None
        raw_path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        path = "/" + raw_path.lstrip("/")
        return self.store.get(cache_key(path, environ.get("QUERY_STRING", ""), known[0]))

    def _answer(self, entry: Entry, environ, start_response, started: float):
        gzipped = entry.gzipped is not None and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        headers = [
            ("Content-Type", entry.content_type),
            ("ETag", f'W/"{entry.etag}"'),
            ("Cache-Control", "no-cache"),
            ("Vary", "Accept-Encoding, Cookie"),
            *entry.kept,
            *SECURITY_HEADERS.items(),
            (REQUEST_ID_HEADER, new_request_id(environ.get("HTTP_X_REQUEST_ID", ""))),
        ]
        if entry.changed_at is not None:
            headers.append(("Last-Modified", http_date(entry.changed_at)))
        if f'"{entry.etag}"' in environ.get("HTTP_IF_NONE_MATCH", ""):
            status, body = "304 NOT MODIFIED", b""
        else:
            status = "200 OK"
            body = entry.gzipped if gzipped else entry.body
            if gzipped:
                headers.append(("Content-Encoding", "gzip"))
            headers.append(("Content-Length", str(len(body))))
        method = environ["REQUEST_METHOD"]
        metrics = self.app.extensions.get("metrics")
        if metrics is not None:
            metrics.requests.labels(entry.endpoint, method, status[:3]).inc()
            metrics.latency.labels(entry.endpoint, method).observe(time.perf_counter() - started)
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]


def install(app: Flask) -> None:
    """Put the fast path in front of the app (inside ProxyFix, which must fix the Host first)."""
    if "page_cache" not in app.extensions:
        return
    outer = app.wsgi_app
    if hasattr(outer, "x_host"):  # werkzeug's ProxyFix: wrap what it wraps
        outer.app = FastPath(app, outer.app)
    else:
        app.wsgi_app = FastPath(app, outer)
