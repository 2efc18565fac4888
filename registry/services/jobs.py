"""The worker (`registry worker`): sends the mail outbox every WORKER_POLL_SECONDS and runs the
daily jobs once a day at DAILY_JOBS_AT (Beijing time), once per day across any number of nodes.

Unlike the services it drives, this module is a caller that commits, as a CLI command is: each
step of the mail protocol (services/mail.py) must be durable before the next one starts, and a
daily job's claim must be visible to the other nodes before the job runs.

Daily jobs: each is claimed by inserting JobRun(job, day); the unique key lets one node win and
the others skip. The winner records finished_at and the outcome. A worker that starts after
DAILY_JOBS_AT runs a day's missing jobs at once (catch-up). A job that fails is recorded as
failed and not retried that day (every job is idempotent, so `registry check-deadlines` may be
run by hand).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time as time_module
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.kernel import clock
from registry.models import JobRun, MailMessage, MailStatus
from registry.services import mail
from registry.services.batches import Batches, T

log = logging.getLogger("registry.worker")

# A daily job: its name (the JobRun key) and a function of the day returning one summary line.
DailyJob = tuple[str, Callable[[date], str]]


def node_name() -> str:
    """This worker's name in JobRun rows: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def daily_time() -> time:
    """DAILY_JOBS_AT ("HH:MM", Beijing time) as a time of day."""
    return time.fromisoformat(str(current_app.config["DAILY_JOBS_AT"]))


def daily_due(now: datetime | None = None) -> bool:
    """Whether today's daily jobs are due: the local time is at or past DAILY_JOBS_AT."""
    return clock.local(now or clock.now()).time() >= daily_time()


def _claim(name: str, day: date, node: str) -> int | None:
    """Insert JobRun(name, day) and commit: its id, or None when another node has it."""
    if db.session.scalar(select(JobRun.id).where(JobRun.job == name, JobRun.day == day)):
        db.session.rollback()
        return None
    run = JobRun(job=name, day=day, node=node, started_at=clock.now())
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return run.id


def run_committing(batches: Batches[T], after_batch: Callable[[], None] | None = None) -> T:
    """Run a batched service (services/batches.py), committing after each batch, so no
    transaction holds SQLite's write lock for long; its summary. `after_batch` runs after each
    commit (tests use it to stop a job between batches).

    On SQLite the job then pauses JOB_BATCH_PAUSE seconds (default 0.05) before its next batch:
    SQLite's lock is not fair, and a request waiting for it polls (at up to 100 ms intervals),
    so a job that began its next batch at once would keep the lock from it batch after batch."""
    pause = _batch_pause()
    while True:
        try:
            next(batches)
        except StopIteration as done:
            db.session.commit()
            return done.value
        db.session.commit()
        if after_batch is not None:
            after_batch()
        if pause:
            time_module.sleep(pause)


def _batch_pause() -> float:
    if db.session.get_bind().dialect.name != "sqlite":
        return 0.0  # PostgreSQL locks rows, not the database: nobody waits for a batch
    return float(current_app.config.get("JOB_BATCH_PAUSE", 0.05))


def run_daily_jobs(jobs: Sequence[DailyJob], node: str) -> list[str]:
    """Run each of today's jobs this node claims (if due); returns the names it ran."""
    if not daily_due():
        return []
    day, ran = clock.today(), []
    for name, job in jobs:
        run_id = _claim(name, day, node)
        if run_id is None:
            continue
        log.info("daily job %s for %s started on %s", name, day, node)
        try:
            outcome = job(day)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            log.exception("daily job %s for %s failed", name, day)
            outcome = f"失败:{type(error).__name__}: {error}"
        run = db.session.get(JobRun, run_id)
        run.finished_at, run.outcome = clock.now(), outcome[:2000]
        db.session.commit()
        log.info("daily job %s for %s finished", name, day)
        ran.append(name)
    return ran


def send_due_mail(
    backend: mail.Backend | None = None, stop: Callable[[], bool] = lambda: False
) -> Counter:
    """Send every due mail by the protocol of services/mail.py, committing after each step.
    Returns how many mails ended at each status (and "lost" for a claim that ran out)."""
    backend = backend or mail.backend_from_config()
    counts: Counter = Counter()
    try:
        settled = mail.settle_orphans(backend.idempotent)
        db.session.commit()
        if settled:
            log.warning("%d mail(s) orphaned while handed over are now in doubt", settled)
        while not stop():
            claimed = mail.claim_due(backend.idempotent)
            db.session.commit()
            if not claimed:
                break
            for mail_id, lease in claimed:
                if stop():
                    mail.release(mail_id, lease)
                    db.session.commit()
                    continue
                counts[_send_one(backend, mail_id, lease)] += 1
    finally:
        backend.close()
    if counts:
        log.info("mail: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def _send_one(backend: mail.Backend, mail_id: int, lease: datetime) -> str:
    """Claimed → (connect) → handing → sent, or a failure recorded; returns the status."""
    row = db.session.get(MailMessage, mail_id, populate_existing=True)
    attempts = row.attempts
    try:
        message = mail.build_message(row)
        backend.prepare()
    except (mail.Refused, ValueError) as error:
        return _failed(mail_id, lease, attempts, str(error))
    handing = mail.begin_handing(mail_id, lease)
    db.session.commit()
    if handing is None:
        log.warning("mail %d: claim ran out before handing over; left to its new owner", mail_id)
        return "lost"
    try:
        backend.deliver(mail_id, message)
    except mail.Refused as error:
        return _failed(mail_id, handing, attempts, str(error))
    except Exception as error:
        if backend.idempotent:
            return _failed(mail_id, handing, attempts, mail.describe(error))
        mail.record_in_doubt(mail_id, handing, mail.describe(error))
        db.session.commit()
        log.warning("mail %d in doubt: %s", mail_id, mail.describe(error))
        return MailStatus.IN_DOUBT.value
    mail.record_sent(mail_id)
    db.session.commit()
    return MailStatus.SENT.value


def _failed(mail_id: int, lease: datetime, attempts: int, error: str) -> str:
    status = mail.record_failure(mail_id, lease, attempts, error)
    db.session.commit()
    log.warning("mail %d not sent (attempt %d): %s", mail_id, attempts + 1, error)
    return status


class Worker:
    """The loop of `registry worker`: a pass (daily jobs if due, then due mail), then a pause of
    WORKER_POLL_SECONDS; `stop()` (SIGTERM, SIGINT) ends it after the mail in hand."""

    def __init__(self, jobs: Sequence[DailyJob], node: str | None = None) -> None:
        self.jobs, self.node = list(jobs), node or node_name()
        self.stopped = threading.Event()

    def stop(self, *_args: object) -> None:
        """Ask the loop to end (usable as a signal handler)."""
        self.stopped.set()

    def run_pass(self) -> Counter:
        """One pass: today's daily jobs if due and not yet run, then every due mail."""
        try:
            ran = run_daily_jobs(self.jobs, self.node)
            counts = send_due_mail(stop=self.stopped.is_set)
            counts.update({f"job {name}": 1 for name in ran})
            return counts
        finally:
            db.session.remove()

    def run(self) -> None:
        """Passes until stopped; a failing pass (database away) is logged and tried again."""
        poll = float(current_app.config["WORKER_POLL_SECONDS"])
        log.info("worker %s started (poll %ss, daily jobs at %s)", self.node, poll, daily_time())
        while not self.stopped.is_set():
            try:
                self.run_pass()
            except Exception:
                log.exception("worker pass failed; trying again in %ss", poll)
            self.stopped.wait(poll)
        log.info("worker %s stopped", self.node)
