"""gunicorn settings for several workers: shared Prometheus metrics, JSON logs with the request id,
and an access log that names it (`gunicorn -c python:registry.gunicorn_conf 'registry:create_app()'`).

gunicorn reads this module's public globals as settings, so helpers are underscore-named.
PROMETHEUS_MULTIPROC_DIR is set here, in the master, before any worker is forked or imports
prometheus_client: every worker then writes its metrics to that folder and /metrics adds them up.
The folder is emptied when the master starts (old workers' files would count twice) and a dead
worker's live gauges are dropped in child_exit.
faulthandler is on in the master and in every worker (post_fork), whatever PYTHONFAULTHANDLER
says: a worker killed by SIGSEGV, SIGFPE, SIGABRT or SIGBUS first writes every thread's Python
stack to stderr, i.e. the journal (issue 14: a worker died of SIGSEGV and left no trace).
"""

import faulthandler as _faulthandler
import os as _os
import sys as _sys
from pathlib import Path as _Path

from registry.config import PROJECT_ROOT as _ROOT

_os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_ROOT / "instance" / "prometheus"))

accesslog = "-"
# The combined format plus the request id the app echoed in its X-Request-ID header.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms '
    "request_id=%({x-request-id}o)s"
)

# Application and gunicorn error logs as JSON lines on stderr, each with the request id (or "-").
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "registry.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        },
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "access",
        },
    },
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}


# The app is loaded in the master, which builds a missing search index and loads the segmentation
# and pinyin tables once (registry/startup.py, in when_ready) before forking: workers share them
# and never build the index inside a request.
preload_app = True


def when_ready(server):
    """Master, app loaded, no worker forked yet: the start-up work of registry/startup.py."""
    from registry import running, startup

    app = server.app.wsgi()
    if "search" in getattr(app, "extensions", {}):  # this registry's app (not a test's stand-in)
        # Held by the master, inherited by every worker: a restore refuses while it lives.
        try:
            running.hold(app)
        except running.Busy as error:
            raise RuntimeError(error.message) from None
        startup.prepare(app)


def on_starting(server):
    """Empty the metrics folder before the first worker starts; faulthandler on in the master."""
    _faulthandler.enable(file=_sys.stderr, all_threads=True)
    folder = _Path(_os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker ended: drop its live gauges from the shared metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """A new worker: a fatal signal dumps every thread's stack to stderr before it dies."""
    _faulthandler.enable(file=_sys.stderr, all_threads=True)
