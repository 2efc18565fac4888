"""/healthz for load balancers and operators, /metrics for Prometheus.

/healthz answers 503 only when this node cannot serve (database or search index unreachable):
a late mail queue, a silent worker or a provisional calendar make it "degraded" but keep 200, since
dropping every node for them would take the site down without fixing anything. No answer carries
an exception text, a path or a database address.

/metrics is PUBLIC to the guard (a Prometheus scraper has no session) but answers only callers in
METRICS_NETWORKS (loopback by default: the scraper on the node or behind the same proxy) or those
with the bearer METRICS_TOKEN, so request counts and queue sizes are not published to everyone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from registry import observability
from registry.extensions import db
from registry.kernel import clock
from registry.models import JobRun
from registry.policy import PUBLIC, require
from registry.pure import workdays
from registry.search.engine import get_engine

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

OK, DEGRADED, FAIL = "ok", "degraded", "fail"
# Checks without which this node cannot serve: their failure answers 503.
VITAL = ("database", "search")


@bp.get("/healthz")
@require(PUBLIC)
def healthz():
    """The node's health as JSON: 200 ok or degraded, 503 when it cannot serve."""
    checks = {
        "database": _database(),
        "search": _search(),
        "mail": _mail(),
        "jobs": _jobs(),
        "calendar": _calendar(),
    }
    if any(checks[name]["status"] == FAIL for name in VITAL):
        status = FAIL
    elif all(check["status"] == OK for check in checks.values()):
        status = OK
    else:
        status = DEGRADED
    response = jsonify({"status": status, "checks": checks})
    response.status_code = 503 if status == FAIL else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@require(PUBLIC)
def metrics():
    """Prometheus text exposition, for callers from METRICS_NETWORKS or with METRICS_TOKEN."""
    if not observability.may_scrape(request.remote_addr, request.headers.get("Authorization")):
        abort(403)
    body = current_app.extensions["metrics"].exposition()
    return Response(body, content_type=current_app.extensions["metrics"].content_type)


def _unreachable(name: str) -> dict:
    """A failed check: logged with its cause, answered without it."""
    db.session.rollback()
    log.warning("health: %s unreachable", name, exc_info=True)
    return {"status": FAIL, "error": "unreachable"}


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return _unreachable("database")
    return {"status": OK}


def _search() -> dict:
    try:
        found = get_engine().backend.health()
    except Exception:  # noqa: BLE001 - any failure to read the index counts
        return _unreachable("search index")
    return {"status": OK, "backend": found["backend"], "documents": found["documents"]}


def _mail() -> dict:
    limit = float(current_app.config["HEALTH_MAIL_LAG_SECONDS"])
    try:
        lag = observability.mail_lag_seconds()
    except SQLAlchemyError:
        return _unreachable("mail outbox")
    late = lag is not None and lag > limit
    return {
        "status": DEGRADED if late else OK,
        "oldest_pending_seconds": None if lag is None else round(lag),
        "limit_seconds": limit,
    }


def _jobs() -> dict:
    """The last finished run of each daily job: degraded when none is recent or one failed."""
    limit = timedelta(hours=float(current_app.config["HEALTH_JOB_MAX_AGE_HOURS"]))
    latest = (
        select(JobRun.job, func.max(JobRun.finished_at).label("finished_at"))
        .where(JobRun.finished_at.is_not(None))
        .group_by(JobRun.job)
        .subquery()
    )
    try:
        rows = db.session.execute(
            select(JobRun.job, JobRun.finished_at, JobRun.outcome).join(
                latest,
                (JobRun.job == latest.c.job) & (JobRun.finished_at == latest.c.finished_at),
            )
        ).all()
    except SQLAlchemyError:
        return _unreachable("job runs")
    now = clock.now()
    jobs = {
        job: {
            "finished_at": finished.isoformat(),
            "failed": (outcome or "").startswith(observability.JOB_FAILED_PREFIX),
        }
        for job, finished, outcome in rows
    }
    newest = max((finished for _job, finished, _outcome in rows), default=None)
    stale = newest is None or now - newest > limit
    failed = any(job["failed"] for job in jobs.values())
    return {
        "status": DEGRADED if stale or failed else OK,
        "jobs": jobs,
        "limit_hours": limit.total_seconds() / 3600,
    }


def _calendar() -> dict:
    """Whether this year and next have an official holiday arrangement; degraded when this
    year's working days are only provisional (next year's arrangement comes out late in the
    year, so its absence alone is normal)."""
    year = clock.today().year
    try:
        years = {
            str(y): not workdays.arrangement(y).provisional
            for y in (year, year + 1)
            if y <= workdays.LAST_YEAR
        }
    except SQLAlchemyError:
        return _unreachable("calendar")
    if str(year) not in years:  # past the calendar's range (it answered 500 in 2099's tests)
        return {"status": DEGRADED, "official": years, "beyond": workdays.LAST_YEAR}
    return {"status": OK if years[str(year)] else DEGRADED, "official": years}
