"""/healthz (ok, degraded, 503 without a database), /metrics (request counters by endpoint, the
outbox gauges, who may scrape) and the request id."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from registry.extensions import db
from registry.kernel import clock
from registry.pure import workdays
from registry.services import jobs, notify
from tests.conftest import make_app


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of an exposition: (name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _run_job(app, job) -> None:
    """Run one daily job through the worker's own claim-and-record path."""
    with app.app_context():
        jobs.run_daily_jobs([("check-deadlines", job)], node="test-node")


def test_health_ok_on_seeded_app(app, client):
    _run_job(app, lambda day: f"checked {day}")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    checks = body["checks"]
    assert checks["database"] == {"status": "ok"}
    assert checks["search"]["status"] == "ok"
    assert checks["search"]["documents"] > 0  # the seeded catalogue is indexed
    assert checks["mail"]["status"] == "ok"
    assert checks["mail"]["oldest_pending_seconds"] is None
    assert checks["jobs"]["status"] == "ok"
    assert checks["jobs"]["jobs"]["check-deadlines"]["failed"] is False
    year = clock.today().year
    official = not workdays.arrangement(year).provisional
    assert checks["calendar"]["official"][str(year)] is official
    # A provisional current year (the suite re-run with the clock in a later year) is the only
    # thing that may make a healthy seeded node "degraded".
    assert body["status"] == ("ok" if official else "degraded")
    assert response.headers["Cache-Control"] == "no-store"


def test_health_answers_at_the_calendars_end(app, client, frozen_clock):
    """A tester (stop 31): /healthz answered a 500 page in 2099, asking about 2100, which the
    calendar does not cover. It answers, degraded (2099 is provisional), and past 2099 too."""
    frozen_clock.freeze(date(2099, 3, 1))
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json()["checks"]["calendar"]["official"] == {"2099": False}
    frozen_clock.freeze(date(2100, 3, 1))
    later = client.get("/healthz")
    assert later.status_code == 200
    assert later.get_json()["checks"]["calendar"]["status"] == "degraded"


def test_health_degraded_by_old_mail_and_failed_job(app, client):
    with app.app_context():
        notify.queue_mail("someone@example.com", "测试", "正文", topic="account")
        db.session.commit()

    def broken(_day):
        raise RuntimeError("boom")

    _run_job(app, broken)
    clock.advance(timedelta(seconds=app.config["HEALTH_MAIL_LAG_SECONDS"] + 60))
    response = client.get("/healthz")
    assert response.status_code == 200  # degraded, not dropped by the load balancer
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["mail"]["status"] == "degraded"
    assert body["checks"]["mail"]["oldest_pending_seconds"] >= 960
    assert body["checks"]["jobs"]["status"] == "degraded"
    assert body["checks"]["jobs"]["jobs"]["check-deadlines"]["failed"] is True
    assert body["checks"]["database"]["status"] == "ok"


def test_health_503_without_database_and_no_dsn(tmp_path):
    dsn = "postgresql://registry:s3cret-pw@127.0.0.1:1/nowhere_db"
    app = make_app(dsn, tmp_path)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"status": "fail", "error": "unreachable"}
    assert body["checks"]["search"]["status"] == "fail"
    text = response.get_data(as_text=True)
    for secret in ("s3cret-pw", "nowhere_db", "127.0.0.1:1", "registry:", str(tmp_path)):
        assert secret not in text
    # /metrics still answers, and says the database did not.
    metrics = _samples(client.get("/metrics").get_data(as_text=True))
    assert metrics[("registry_database_up", ())] == 0


def test_metrics_counts_requests_by_endpoint_and_outbox(app, client):
    for _ in range(2):
        assert client.get("/").status_code == 200
    assert client.get("/services/ZJ-03").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    with app.app_context():
        notify.queue_mail("someone@example.com", "测试", "正文", topic="account")
        db.session.commit()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    samples = _samples(response.get_data(as_text=True))

    def requests(endpoint, status):
        key = (("endpoint", endpoint), ("method", "GET"), ("status", status))
        return samples.get(("registry_http_requests_total", key))

    assert requests("public.index", "200") == 2
    assert requests("catalogue.show_service", "200") == 1
    assert requests("<unmatched>", "404") == 1  # never the raw path: bounded labels
    latency = (("endpoint", "public.index"), ("method", "GET"))
    assert samples[("registry_http_request_duration_seconds_count", latency)] == 2
    assert samples[("registry_mail_outbox_messages", (("status", "待发送"),))] == 1
    assert samples[("registry_mail_outbox_messages", (("status", "已发送"),))] == 0
    assert samples[("registry_mail_queue_due_messages", ())] == 1
    assert samples[("registry_database_up", ())] == 1


def test_metrics_only_for_configured_networks_or_token(app, client):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=outside, headers=wrong).status_code == 403
    right = {"Authorization": "Bearer scrape-token-123"}
    assert client.get("/metrics", environ_base=outside, headers=right).status_code == 200


@pytest.mark.parametrize(
    ("given", "kept"),
    [("lb-7f3a9c2e-0001", True), ('bad id "forged"', False), ("short", False), ("", False)],
)
def test_request_id_round_trips(reader, given, kept):
    response = reader.get("/healthz", headers={"X-Request-ID": given} if given else {})
    answered = response.headers["X-Request-ID"]
    if kept:
        assert answered == given
    else:
        assert answered != given
        assert len(answered) == 32
        assert int(answered, 16) >= 0  # a generated hex id
