"""Configuration: defaults, then instance/config.py, then REGISTRY_* environment variables."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, object] = {
    "SITE_NAME": "天津高新区中介服务超市",
    "SITE_SPONSOR": "天津滨海高新技术产业开发区政务服务办公室",
    "SITE_CONTACT_PHONE": "12345",
    "SITE_CONTACT_NOTE": "天津市12345政务服务便民热线",
    "SQLALCHEMY_DATABASE_URI": None,  # filled in from the instance path when unset
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SEARCH_INDEX_DIR": str(PROJECT_ROOT / "search_index"),
    "SEARCH_BACKEND": "whoosh",  # or "postgresql" (several app nodes on one PostgreSQL database)
    "SEARCH_WRITER_TIMEOUT": 30,
    "SEARCH_REBUILD_PROCS": 2,
    "SEEDS_DIR": str(PROJECT_ROOT / "seeds"),
    # Years of the State Council's holiday arrangement added before chinesecalendar ships them.
    "CALENDAR_DIR": str(PROJECT_ROOT / "seeds" / "calendar"),
    "UPLOAD_DIR": None,  # filled in as instance/uploads when unset
    # Where uploaded bytes live: "disk" (UPLOAD_DIR on this node) or "database" (the upload_blobs
    # table, shared by every app node on one PostgreSQL). See registry/storage.py.
    "UPLOAD_STORAGE": "disk",
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,  # a request (form + one file) at most
    # Rate-limit counters in the app's own database, exact across workers and nodes
    # (registry/ratelimit_storage.py); redis://host:6379/0 for many nodes (the "redis" extra);
    # memory:// counts per worker process.
    "RATELIMIT_STORAGE_URI": "registry-db://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute",
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_MINUTES": 15,
    # The key of the HMAC-SHA256 digest that stands for a practitioner's national ID number
    # (registry/pure/pii.py; the number itself is never stored). Unset: derived from SECRET_KEY,
    # so keep SECRET_KEY stable, or set this once and never change it (digests would no longer
    # match, and the same person would be registered twice).
    "PERSONAL_ID_KEY": None,
    # Werkzeug's hash method for new passwords (its default, scrypt). The tests use a cheap one so
    # that thousands of sign-ins do not cost minutes; one test checks the real default.
    "PASSWORD_HASH_METHOD": "scrypt",
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 12,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=7),
    # A form's token lives as long as its session, which ends after SESSION_IDLE_MINUTES idle or
    # SESSION_ABSOLUTE_HOURS: a shorter limit of its own refused a long answer typed in one tab
    # while another kept the session alive, and the text was lost.
    "WTF_CSRF_TIME_LIMIT": None,
    "PER_PAGE": 20,
    # Check every API response against the OpenAPI document and raise on a mismatch (the tests).
    "OPENAPI_VALIDATE_RESPONSES": False,
    "PROXY_COUNT": 0,  # trusted reverse proxies in front of the app (X-Forwarded-For/Proto/Host)
    # Selection requests: the shortest notice, in working days from the day of posting to the
    # deadline's day (a sooner deadline is refused, naming the earliest allowed).
    "REQUEST_MIN_NOTICE_WORKDAYS": 3,
    # ... and the longest, in calendar days: a later deadline (a year typed wrong, say) is refused.
    "REQUEST_MAX_NOTICE_DAYS": 90,
    # Delivery and owner rating (working days on the China calendar, see pure/workdays.py).
    "CREDIT_SHORTLIST_SIZE": 3,  # 信用择优: top credit scores that enter the draw (ties included)
    "CONTRACT_DAYS": 5,  # a contract signed later than this after the award records 逾期签约
    "RATING_WINDOW_DAYS": 15,  # the owner may rate until this many days after confirmation
    "RATING_EDIT_DAYS": 3,  # one edit of a rating within this many days of the first rating
    # Credit records (working days on the China calendar, counted from the publication date).
    "CREDIT_DISCLOSURE_DAYS": 7,  # 公示期: the notice is marked 公示中 until this many days after
    "CREDIT_OBJECTION_DAYS": 5,  # the provider may object (异议) until this many days after
    "CREDIT_ANSWER_DAYS": 10,  # the regulator answers an objection within this many days
    "CREDIT_EXPORT_MAX_ROWS": 10000,  # rows of one CSV / XLSX export of the notice board
    # Award notices (working days on the China calendar): the 公示期 after the award's date, during
    # which bidders and the owner may object (异议), and the time 政务办 staff have to answer one.
    "AWARD_OBJECTION_WORKDAYS": 3,
    "AWARD_ANSWER_WORKDAYS": 5,
    # Roadmaps: a due-date warning (到期预警) this many working days before a step's planned finish.
    "DEADLINE_WARNING_DAYS": 3,
    # Calendar days before a qualification's or a certificate's last valid day that its provider
    # is told (once): time to renew before the expiry counts against it.
    "EXPIRY_NOTICE_DAYS": 30,
    # The oversight dashboard (/stats, services/stats.py): the construction-permit step whose
    # finish ends a project's days from land contract, rows a long table shows on the page (its
    # CSV has all), bids from which a provider's win rate is listed, and the thresholds of the
    # staff's integrity signals (each shown on the page with its signal).
    "STATS_PERMIT_STEP": "SP-15",
    "STATS_PAGE_ROWS": 50,
    "STATS_MIN_BIDS": 3,
    "STATS_SIGNALS": {
        "pair_min_common": 3,  # two providers bid together on at least this many requests …
        "pair_min_share": 0.6,  # … making at least this share of the fewer one's bids
        "rotation_min_requests": 3,  # a group of such providers shares this many requests …
        "rotation_min_share": 0.8,  # … of which this share went to the group, to ≥ 2 members
        "price_gap": 0.005,  # two latest quotes on one request within 0.5 % of the lower
        "loser_min_common": 3,  # bid together at least this many times …
        "loser_min_share": 1.0,  # … and the same one won at least this share of them
        "signal_limit": 200,  # rows per signal table
    },
    # Periodic evaluation (定期考评): criteria and weights per department code; "default" for the
    # rest. Weights of one list sum to 1. A period keeps the criteria it was opened with.
    "EVALUATION_CRITERIA": {
        "default": [
            {"code": "technical", "name": "技术性", "weight": "0.25"},
            {"code": "compliance", "name": "规范性", "weight": "0.25"},
            {"code": "effectiveness", "name": "工作实效", "weight": "0.25"},
            {"code": "service", "name": "服务水平", "weight": "0.25"},
        ],
    },
    "EVALUATION_UPLOAD_MAX_ROWS": 5000,  # rows of one score file (CSV or XLSX)
    # Composite credit score and grade (DESIGN §4; services/grades/compute.py). A rolling window of
    # CREDIT_WINDOW_MONTHS; parts without data drop out and the other weights are re-normalised.
    "CREDIT_WEIGHTS": {"owner": 0.5, "regulator": 0.3, "behaviour": 0.2},
    # (grade, lowest score) from the best down; the last threshold must be 0.
    "CREDIT_BANDS": [("AA", 90), ("A", 80), ("B", 70), ("C", 60), ("D", 0)],
    "CREDIT_WINDOW_MONTHS": 12,
    # Fewer owner ratings AND fewer published regulator scores than this in the window ⇒ 未评级.
    "CREDIT_MIN_SAMPLE": {"owner": 2, "regulator": 1},
    # The negative-behaviour table: points off a behaviour score that starts at 100 (floor 0),
    # per behaviour event kind and per published credit record kind.
    "CREDIT_DEDUCTIONS": {
        "放弃中选": 10,
        "逾期签约": 3,
        "超期服务": 5,
        "资质过期": 5,
        "投诉属实": 10,
        "其他违规": 5,
        # An attempt refused by the registry (services/practitioners/roster.py): recorded for the
        # regulators to see, no points off by default, since the other firm may simply not have
        # ended the person's employment yet; a regulator who finds 挂证 issues a credit record.
        "挂证嫌疑": 0,
        "约谈提醒": 3,
        "警示通报": 5,
        "通报批评": 10,
        "列入黑名单": 20,
    },
    "CREDIT_OVERRUN_MIN_DAYS": 10,  # 超期服务 deducts only beyond this many working days
    # The person score table (services/practitioners/standing.py): points off a person's score
    # (100, floor 0) per published record against them in the window, and the standing bands
    # (name, lowest score) from the best down, the last at 0. A blacklisting in force bars.
    "PRACTITIONER_CREDIT_DEDUCTIONS": {
        "约谈提醒": 5,
        "警示通报": 10,
        "通报批评": 20,
        "列入黑名单": 40,
    },
    "PRACTITIONER_CREDIT_BANDS": [("良好", 90), ("一般", 70), ("较差", 0)],
    # Joining and hearing back (services/notify.py, services/mail.py, services/registration.py).
    # Links in mails are absolute: the address people reach the site at.
    "SITE_URL": "http://127.0.0.1:5000",
    # Host names the site answers to (others get 400); feeds, exports and the API build absolute
    # links from SITE_URL only. Empty: SITE_URL's host plus 127.0.0.1 and localhost. In the
    # environment, comma-separated; a leading dot admits subdomains (.example.gov.cn).
    "TRUSTED_HOSTS": None,
    # Where mail goes: smtp://user:pass@host:587?starttls=1 (or smtps://… for implicit TLS); empty
    # writes every mail as an .eml file under MAIL_DIR (instance/mail), readable at /admin/mail.
    "MAIL_URL": "",
    "MAIL_DIR": None,  # filled in as instance/mail when unset
    # Held (shared) by the site and the worker while they run, taken by `registry restore`.
    "RUN_LOCK_FILE": None,  # filled in as instance/running.lock when unset
    "MAIL_FROM": "中介服务超市 <noreply@zwfw.tjbhht.example>",
    "MAIL_MAX_ATTEMPTS": 6,  # then 发送失败, shown to admins, who may send it again
    "MAIL_RETRY_SECONDS": 60,  # back-off: this, doubled after each failed attempt
    "MAIL_LEASE_SECONDS": 120,  # a claimed mail whose worker is silent this long was orphaned
    "MAIL_TIMEOUT_SECONDS": 20,
    "CONFIRM_LINK_HOURS": 48,  # the registration's address confirmation link
    "RESET_LINK_MINUTES": 30,  # the password reset link
    "REGISTER_RATE_LIMIT": "5 per hour",  # accounts registered, per client address
    "REGISTER_ATTEMPT_RATE_LIMIT": "30 per hour",  # registration forms sent, refused ones too
    "FORGOT_RATE_LIMIT": "5 per hour",
    # Refused registrations of a practitioner per provider account and day: an ID/name pair
    # cannot be probed for at scale (services/practitioners/roster.py answers them all alike).
    "PRACTITIONER_REGISTER_LIMIT": "20 per day",
    # The worker's daily jobs (check-deadlines, grade recomputation) at this local time (HH:MM).
    "DAILY_JOBS_AT": "06:30",
    "WORKER_POLL_SECONDS": 5,
    # `registry serve` (make run): Waitress threads, connections held at once (slow or idle ones
    # cost a socket, not a thread), and seconds a silent connection is kept.
    "SERVE_THREADS": 8,
    "SERVE_CONNECTION_LIMIT": 1000,
    "SERVE_CHANNEL_TIMEOUT": 60,
    # /healthz: "degraded" (still 200) past these (registry/web/health.py).
    "HEALTH_MAIL_LAG_SECONDS": 900,  # age of the oldest 待发送 mail
    "HEALTH_JOB_MAX_AGE_HOURS": 26,  # since the last finished daily job run
    # /metrics: callers from these networks (comma-separated CIDRs), or with this bearer token.
    "METRICS_NETWORKS": "127.0.0.0/8,::1/128",
    "METRICS_TOKEN": "",
    # Rendered public pages kept per data generation and day (registry/web/page_cache.py): on,
    # at most this many bytes per process; another node's commit is seen within RECHECK seconds.
    "PAGE_CACHE": True,
    "PAGE_CACHE_BYTES": 64 * 1024 * 1024,
    "PAGE_CACHE_RECHECK_SECONDS": 1.0,
}

# Settings whose environment value is parsed as JSON (numbers, booleans, objects).
_TYPED = {
    "LOGIN_MAX_FAILURES",
    "LOGIN_LOCKOUT_MINUTES",
    "SESSION_IDLE_MINUTES",
    "SESSION_ABSOLUTE_HOURS",
    "SESSION_COOKIE_SECURE",
    "PER_PAGE",
    "SEARCH_WRITER_TIMEOUT",
    "SEARCH_REBUILD_PROCS",
    "UPLOAD_MAX_BYTES",
    "MAX_CONTENT_LENGTH",
    "PROXY_COUNT",
    "SQLALCHEMY_ENGINE_OPTIONS",
    "CONTRACT_DAYS",
    "REQUEST_MIN_NOTICE_WORKDAYS",
    "REQUEST_MAX_NOTICE_DAYS",
    "CREDIT_SHORTLIST_SIZE",
    "RATING_WINDOW_DAYS",
    "RATING_EDIT_DAYS",
    "CREDIT_DISCLOSURE_DAYS",
    "CREDIT_OBJECTION_DAYS",
    "CREDIT_ANSWER_DAYS",
    "CREDIT_EXPORT_MAX_ROWS",
    "AWARD_OBJECTION_WORKDAYS",
    "AWARD_ANSWER_WORKDAYS",
    "DEADLINE_WARNING_DAYS",
    "EXPIRY_NOTICE_DAYS",
    "STATS_PAGE_ROWS",
    "STATS_MIN_BIDS",
    "STATS_SIGNALS",
    "EVALUATION_CRITERIA",
    "EVALUATION_UPLOAD_MAX_ROWS",
    "CREDIT_WEIGHTS",
    "CREDIT_BANDS",
    "CREDIT_WINDOW_MONTHS",
    "CREDIT_MIN_SAMPLE",
    "CREDIT_DEDUCTIONS",
    "CREDIT_OVERRUN_MIN_DAYS",
    "PRACTITIONER_CREDIT_DEDUCTIONS",
    "PRACTITIONER_CREDIT_BANDS",
    "MAIL_MAX_ATTEMPTS",
    "MAIL_RETRY_SECONDS",
    "MAIL_LEASE_SECONDS",
    "MAIL_TIMEOUT_SECONDS",
    "CONFIRM_LINK_HOURS",
    "RESET_LINK_MINUTES",
    "WORKER_POLL_SECONDS",
    "SERVE_THREADS",
    "SERVE_CONNECTION_LIMIT",
    "SERVE_CHANNEL_TIMEOUT",
    "HEALTH_MAIL_LAG_SECONDS",
    "HEALTH_JOB_MAX_AGE_HOURS",
    "PAGE_CACHE",
    "PAGE_CACHE_BYTES",
    "PAGE_CACHE_RECHECK_SECONDS",
}

# Always trusted when TRUSTED_HOSTS is derived from SITE_URL: the machine itself (make run, tests).
LOCAL_HOSTS = ("127.0.0.1", "localhost")

# Short environment names mapped onto Flask / extension setting names.
_ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def from_environment(environ: os._Environ | dict[str, str]) -> dict[str, object]:
    """Collect REGISTRY_* variables into config keys (REGISTRY_DATABASE_URL → SQLALCHEMY_DATABASE_URI)."""
    found: dict[str, object] = {}
    for key, raw in environ.items():
        if not key.startswith("REGISTRY_") or key.startswith("REGISTRY_TEST_"):
            continue
        name = key.removeprefix("REGISTRY_")
        name = _ALIASES.get(name, name)
        found[name] = json.loads(raw) if name in _TYPED else raw
    return found


def trusted_hosts(configured: object, site_url: str) -> list[str]:
    """TRUSTED_HOSTS as a list (a comma-separated string is split); when none are configured,
    SITE_URL's host and the local names (werkzeug cannot match IPv6 literals such as [::1])."""
    if isinstance(configured, str):
        configured = configured.split(",")
    hosts = [str(h).strip() for h in configured or () if str(h).strip()]
    if hosts:
        return hosts
    derived = [urlsplit(site_url).hostname or "", *LOCAL_HOSTS]
    return list(dict.fromkeys(h for h in derived if h))


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"
