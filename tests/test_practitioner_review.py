"""Review of the practitioner code (issue 17): a masked name cannot be probed for through
search, certificate numbers compare by their letters and digits, public pages turn when staff
change, names are normalised before they are masked, a racing 挂证 is still recorded, and the
register form is no oracle for ID/name pairs."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.test_practitioner_pages import PEOPLE, staffed  # noqa: F401 (the fixture)


@pytest.fixture
def people(request) -> dict:
    """The two firms and PEOPLE of test_practitioner_pages (its `staffed` fixture)."""
    return request.getfixturevalue("staffed")


def _found(client, query: str) -> list[str]:
    answer = client.get(f"/api/v1/search?q={quote(query)}&type=practitioner").get_json()
    return [item["url"] for item in answer["items"]]


def test_practitioner_review_search_finds_only_the_whole_name(app, client, people):
    """The full name finds the person; no two-character piece of it (nor a near name) does."""
    for name, *_ in PEOPLE:
        url = f"/practitioners/{people['ids'][name]}"
        assert _found(client, name) == [url], name
        if len(name) < 3:
            continue
        for start in range(len(name) - 1):
            piece = name[start : start + 2]
            assert url not in _found(client, piece), f"{piece} of {name}"
        assert url not in _found(client, name[:-1] + "一"), name
    grouped = client.get("/api/v1/search?q=" + quote("向明") + "&grouped=1").get_json()
    assert "practitioner" not in [g["key"] for g in grouped.get("groups", [])]


@pytest.mark.parametrize("probe", ["龚向", "向明", "龚大", "gongxiangming", "gxm"])
def test_practitioner_review_search_probes_find_nothing(app, client, people, probe):
    """Pieces, pinyin and initials of a hidden name find no person and suggest nothing."""
    answer = client.get(f"/api/v1/search?q={quote(probe)}&type=practitioner").get_json()
    assert answer["items"] == []
    assert "龚向明" not in str(answer)
