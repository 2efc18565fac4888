"""Operations: a request id on every request and log line, and the Prometheus metrics.

Request metrics are counted in each process. Under gunicorn with several workers,
PROMETHEUS_MULTIPROC_DIR (set by registry/gunicorn_conf.py before any worker starts) makes
prometheus_client write them to shared files, and the worker that answers a scrape adds up every
worker's files. Gauges read from the database (the mail outbox, the daily job runs) are computed
at scrape time by DatabaseCollector, so they are right whatever the number of workers.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from registry.extensions import db
from registry.kernel import clock
from registry.models import JobRun, MailMessage, MailStatus

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# An id from the proxy in front is kept only when it is plainly an id: no spaces, quotes or
# newlines can reach a log line through it.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")
# Outcome prefix of a failed daily job (services/jobs.py).
JOB_FAILED_PREFIX = "失败"


# --------------------------------------------------------------------------- request id


def request_id() -> str:
    """This request's id ("-" outside a request)."""
    if has_request_context():
        return g.get("request_id", "-")
    return "-"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (for a formatter such as the JSON one of gunicorn_conf)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


def new_request_id(given: str) -> str:
    """The proxy's request id when it is plainly an id, else a new one."""
    return given if _REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex


def _start_request() -> None:
    """The request id (the proxy's when well-formed, else a new one) and the start time."""
    g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER, ""))
    # A duration, not a date: the monotonic counter, which the test clock does not freeze.
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    """Echo the request id and count the request by endpoint (never by raw path) and status."""
    response.headers[REQUEST_ID_HEADER] = request_id()
    metrics: Metrics | None = current_app.extensions.get("metrics")
    started = g.pop("request_started", None)
    if metrics is not None and started is not None:
        endpoint = request.endpoint or "<unmatched>"
        metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        metrics.latency.labels(endpoint, request.method).observe(time.perf_counter() - started)
    return response


# --------------------------------------------------------------------------- metrics


class Metrics:
    """The per-process request metrics of one application."""

    content_type = CONTENT_TYPE_LATEST  # of the exposition

    def __init__(self) -> None:
        # A registry of our own: in one process it is what /metrics shows; in multiprocess mode
        # the values go to PROMETHEUS_MULTIPROC_DIR and this registry is never read.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "registry_http_requests",
            "HTTP requests answered, by Flask endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "registry_http_request_duration_seconds",
            "Time from the start of the request to its response, by Flask endpoint.",
            ["endpoint", "method"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.registry.register(DatabaseCollector())

    def exposition(self) -> bytes:
        """The text exposition: every worker's request metrics plus the database gauges."""
        if multiprocess_dir():
            scrape = CollectorRegistry()
            multiprocess.MultiProcessCollector(scrape)
            scrape.register(DatabaseCollector())
            return generate_latest(scrape)
        return generate_latest(self.registry)


def multiprocess_dir() -> str | None:
    """The shared metrics folder of several worker processes, when there is one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped: the outbox and the daily job runs."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("registry_database_up", "1 when the database answered the scrape.")
        try:
            families = list(_database_families())
        except SQLAlchemyError:
            db.session.rollback()
            log.warning("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _database_families() -> Iterator[GaugeMetricFamily]:
    now = clock.now()
    by_status = dict(
        db.session.execute(
            select(MailMessage.status, func.count()).group_by(MailMessage.status)
        ).all()
    )
    outbox = GaugeMetricFamily(
        "registry_mail_outbox_messages", "Mails in the outbox by status.", labels=["status"]
    )
    for status in MailStatus:
        outbox.add_metric([status.value], by_status.get(status.value, 0))
    yield outbox
    due = db.session.scalar(
        select(func.count()).where(
            MailMessage.status == MailStatus.PENDING.value, MailMessage.next_attempt_at <= now
        )
    )
    yield GaugeMetricFamily(
        "registry_mail_queue_due_messages", "Pending mails whose next attempt is due.", value=due
    )
    yield GaugeMetricFamily(
        "registry_mail_outbox_lag_seconds",
        "Age of the oldest pending mail (0 when none is waiting).",
        value=mail_lag_seconds(now) or 0,
    )
    yield from _job_families()


def _job_families() -> Iterator[GaugeMetricFamily]:
    runs = GaugeMetricFamily(
        "registry_job_runs", "Daily job runs recorded, by job and state.", labels=["job", "state"]
    )
    last = GaugeMetricFamily(
        "registry_job_last_finished_timestamp_seconds",
        "When each daily job last finished (Unix time).",
        labels=["job"],
    )
    failed = JobRun.outcome.startswith(JOB_FAILED_PREFIX)
    rows = db.session.execute(
        select(
            JobRun.job,
            func.count(),
            func.count(JobRun.finished_at),
            func.count().filter(failed),
            func.max(JobRun.finished_at),
        ).group_by(JobRun.job)
    ).all()
    for job, total, finished, failures, latest in rows:
        runs.add_metric([job, "succeeded"], finished - failures)
        runs.add_metric([job, "failed"], failures)
        runs.add_metric([job, "running"], total - finished)
        if latest is not None:
            last.add_metric([job], latest.timestamp())
    yield runs
    yield last


def mail_lag_seconds(now=None) -> float | None:
    """Age in seconds of the oldest pending (待发送) mail, or None when none is waiting."""
    oldest = db.session.scalar(
        select(func.min(MailMessage.created_at)).where(
            MailMessage.status == MailStatus.PENDING.value
        )
    )
    if oldest is None:
        return None
    return max(0.0, ((now or clock.now()) - oldest).total_seconds())


def may_scrape(remote_addr: str | None, authorization: str | None) -> bool:
    """Whether a caller may read /metrics: from METRICS_NETWORKS, or with METRICS_TOKEN."""
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if (
        token
        and (authorization or "").startswith("Bearer ")
        and secrets.compare_digest(given, token)
    ):
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    networks = str(current_app.config.get("METRICS_NETWORKS") or "")
    return any(
        address in ipaddress.ip_network(net.strip(), strict=False)
        for net in networks.split(",")
        if net.strip()
    )


def install(app: Flask) -> None:
    """Request ids and request metrics; must come before the request guard (it sees denials too)."""
    app.extensions["metrics"] = Metrics()
    app.before_request(_start_request)
    app.after_request(_finish_request)
