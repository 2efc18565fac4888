"""中介服务超市 — the intermediary-services registry. create_app() builds the Flask application."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from registry.config import DEFAULTS, PROJECT_ROOT, from_environment, sqlite_url, trusted_hosts


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: config → extensions → blueprints → error handlers → CLI. No side effects."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_config(app, test_config)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        # Behind a load balancer: take the client address and scheme from X-Forwarded-* set by
        # exactly this many trusted proxies (rate limits and the audit log need the real client).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults, then instance/config.py, then REGISTRY_* variables (or the test config)."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(from_environment(os.environ))
    else:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = sqlite_url(Path(app.instance_path) / "registry.db")
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(Path(app.instance_path) / "uploads")
    if not app.config.get("MAIL_DIR"):
        app.config["MAIL_DIR"] = str(Path(app.instance_path) / "mail")
    if not app.config.get("RUN_LOCK_FILE"):
        app.config["RUN_LOCK_FILE"] = str(Path(app.instance_path) / "running.lock")
    # Flask answers 400 to a Host header outside this list (links never come from it anyway).
    app.config["TRUSTED_HOSTS"] = trusted_hosts(
        app.config.get("TRUSTED_HOSTS"), app.config["SITE_URL"]
    )
    if not app.config.get("SECRET_KEY"):
        # Without a configured key (written to instance/config.py by `registry init-db`), sessions
        # last only as long as this process; never a fixed, guessable key.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Chinese stays readable inside JSON columns (and LIKE filters can match it).
    options.setdefault("json_serializer", lambda obj: json.dumps(obj, ensure_ascii=False))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.json.ensure_ascii = False  # the API answers UTF-8, not \u escapes


def register_extensions(app: Flask) -> None:
    """Bind the extension singletons."""
    from registry import models  # noqa: F401 - register every table on the metadata
    from registry.database import configure_engine
    from registry.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    # Derived data: search, credit grades and the entered calendar follow their rows.
    from registry import hooks

    hooks.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Attach the feature blueprints and the request guard; index maintenance after responses."""
    from registry.web import after_response, install
    from registry.web.urls import BoundedIntConverter

    # Before any route is added: every <int:…> id is bounded (404, not a database overflow).
    app.url_map.converters["int"] = BoundedIntConverter
    install(app)
    after_response.install(app)


def register_errorhandlers(app: Flask) -> None:
    """Chinese error pages, JSON errors under /api."""
    from registry.web.errors import install

    install(app)


def register_commands(app: Flask) -> None:
    """The `registry` CLI group."""
    from registry.cli import commands

    for command in commands:
        app.cli.add_command(command)
