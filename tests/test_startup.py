"""Start-up work (registry/startup.py): the search index is built before the first request."""

from __future__ import annotations

import shutil

from registry import startup
from registry.search.engine import get_engine


def test_startup_builds_a_missing_index_before_the_first_request(app, client, tmp_path):
    shutil.rmtree(tmp_path / "index", ignore_errors=True)  # a fresh install: no index yet
    startup.prepare(app)
    with app.app_context():
        assert get_engine().backend.health()["documents"] > 0
    page = client.get("/search?q=环评").get_data(as_text=True)
    assert "建设项目环境影响报告书/报告表编制" in page
