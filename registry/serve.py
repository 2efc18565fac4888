"""`registry serve`: the embedded web server of `make run` — Waitress, because slow clients must
not hold the site.

Waitress reads each request completely in its I/O loop (one thread, poll()) before a worker
thread sees it, and buffers each response the same way, so a client that trickles its request a
byte at a time costs a socket and a few kilobytes, never a thread. gunicorn's sync workers, by
contrast, give each connection a whole process until it finishes or times out: twenty slow
clients took the site down (issue 14). One process with threads also keeps the request metrics
in one place. Production behind a buffering reverse proxy may use gunicorn
(see deploy/).
"""

from __future__ import annotations

import faulthandler
import logging
import socket
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from registry import running, startup


def has_ipv6_loopback() -> bool:
    """Whether [::1] can be bound on this machine (containers often lack it)."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class AccessLog:
    """The access log Waitress does not write: one line per request on stdout, in the combined
    format gunicorn uses (registry/gunicorn_conf.py), with the duration and the request id."""

    def __init__(self, app, stream=None) -> None:
        self.app, self.log = app, logging.getLogger("registry.access")
        if not self.log.handlers:
            handler = logging.StreamHandler(stream or sys.stdout)
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.log.addHandler(handler)
            self.log.setLevel(logging.INFO)
            self.log.propagate = False

    def __call__(self, environ, start_response):
        started, seen = time.perf_counter(), {}

        def recording(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status.split(" ", 1)[0], headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, recording)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()
            headers = dict(seen.get("headers") or [])
            path = environ.get("PATH_INFO", "") + (
                "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""
            )
            self.log.info(
                '%s - - [%s] "%s %s %s" %s %s "%s" "%s" %dms request_id=%s',
                environ.get("REMOTE_ADDR", "-"),
                time.strftime("%d/%b/%Y:%H:%M:%S %z"),
                environ.get("REQUEST_METHOD"),
                path,
                environ.get("SERVER_PROTOCOL"),
                seen.get("status", "-"),
                headers.get("Content-Length", "-"),
                environ.get("HTTP_REFERER", "-"),
                environ.get("HTTP_USER_AGENT", "-"),
                (time.perf_counter() - started) * 1000,
                headers.get("X-Request-ID", "-"),
            )


def waitress_options(port: int, host: str = "127.0.0.1") -> dict:
    """The server's settings, from the app's config (SERVE_*)."""
    config = current_app.config
    listen = [f"{host}:{port}"]
    if host == "127.0.0.1" and has_ipv6_loopback():
        listen.append(f"[::1]:{port}")
    return {
        "listen": " ".join(listen),
        "threads": int(config["SERVE_THREADS"]),
        # Slow or idle connections cost a socket each, not a thread: allow many.
        "connection_limit": int(config["SERVE_CONNECTION_LIMIT"]),
        "channel_timeout": int(config["SERVE_CHANNEL_TIMEOUT"]),
        "asyncore_use_poll": True,  # poll(), not select(): no 1,024-descriptor ceiling
        # Twice the app's limit: a body over the limit but under this reaches the app, which
        # refuses it with its Chinese 413 page (a file a little too large, the usual case).
        # Beyond it Waitress answers itself, in English, before reading the body.
        "max_request_body_size": 2 * int(config["MAX_CONTENT_LENGTH"]),
        "ident": "registry",
    }


@click.command("serve")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@with_appcontext
def serve(port: int, host: str) -> None:
    """Serve the site with Waitress (threads; slow clients are buffered, not waited on)."""
    from waitress import serve as waitress_serve

    # A fatal signal (SIGSEGV …) leaves every thread's Python stack on stderr (issue 14).
    faulthandler.enable(file=sys.stderr, all_threads=True)
    app = current_app._get_current_object()
    try:
        with running.serving(app):
            seconds = startup.prepare(app)
            click.echo(f"search index and dictionaries ready ({seconds:.1f} s)", err=True)
            options = waitress_options(port, host)
            click.echo(
                f"serving on {options['listen']} with {options['threads']} threads", err=True
            )
            waitress_serve(AccessLog(app), **options)
    except running.Busy as error:
        raise click.ClickException(error.message) from None
