"""Work done once before a server answers its first request (`registry serve`, and the gunicorn
master before it forks its workers — registry/gunicorn_conf.py, `preload_app`):

* the search index is built if it is missing and the outbox caught up — never inside a request;
* the segmentation, pinyin and synonym tables are loaded by one search, so that forked workers
  share them (copy-on-write) instead of each loading its own on its first search;
* every database connection and index file handle opened meanwhile is released, so no worker
  inherits a socket or a file offset it would share with another.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from registry.extensions import db
from registry.search.engine import get_engine

log = logging.getLogger(__name__)


def prepare(app: Flask) -> float:
    """Warm the application up; returns the seconds it took."""
    started = time.perf_counter()
    with app.app_context():
        get_engine().warm_up()
        db.session.remove()
        db.engine.dispose()
    seconds = time.perf_counter() - started
    log.info("ready to serve after %.1f s of start-up work", seconds)
    return seconds
