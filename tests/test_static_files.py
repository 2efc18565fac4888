"""Static files: versioned URLs cached for a year, gzipped (registry/web/static_files.py)."""

from __future__ import annotations

import gzip
import re

from registry.config import PROJECT_ROOT


class Reading:
    """A client whose responses are read whole (so a file answer is closed at once)."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        response.get_data()
        response.close()
        return response


def test_static_files_are_versioned_cached_a_year_and_gzipped(reader):
    client = Reading(reader)
    page = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', page).group(1)
    fresh = client.get(url)
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == (PROJECT_ROOT / "static/css/site.css").read_bytes()
    unversioned = client.get("/static/css/site.css")
    assert unversioned.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/css/site.css?v=0123456789ab").headers["Cache-Control"] == "no-cache"
    etag = unversioned.headers["ETag"]
    assert client.get("/static/css/site.css", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/static/css/missing.css").status_code == 404
