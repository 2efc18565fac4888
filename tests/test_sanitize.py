"""The one sanitiser keeps harmless formatting and removes everything executable."""

from __future__ import annotations

import pytest

from registry.sanitize import as_clause, plain_text, sanitize_html, without_controls


@pytest.mark.parametrize(
    "dirty",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "<svg><script>alert(1)</script></svg>",
        '<iframe src="//evil"></iframe>',
        '<p style="background:url(javascript:alert(1))">x</p>',
    ],
)
def test_sanitize_removes_active_content(dirty):
    clean = sanitize_html(dirty)
    for bad in ("<script", "onerror", "javascript:", "<iframe", "style=", "<svg"):
        assert bad not in clean


def test_sanitize_keeps_formatting_and_chinese():
    clean = sanitize_html(
        '<p>须<strong>提前</strong>申请<a href="https://example.gov.cn">办事指南</a></p>'
    )
    assert "<strong>提前</strong>" in clean
    assert 'href="https://example.gov.cn"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean


def test_plain_text_strips_control_characters():
    assert plain_text("环评\x00\x07报告\x1b ") == "环评报告"
    assert plain_text("\u202e厂房\u2066一期\u2069") == "厂房一期"


def test_without_controls_keeps_line_breaks_and_tabs():
    assert without_controls("第一行\r\n\t第二行\x00\u202e") == "第一行\r\n\t第二行"
    assert without_controls(None) is None


@pytest.mark.parametrize(
    ("typed", "clause"),
    [
        ("资料不全。", "资料不全"),
        ("资料不全!!", "资料不全"),
        ("资料不全;", "资料不全"),
        ("  Missing files.  ", "Missing files"),
        ("资料不全", "资料不全"),
        ("", ""),
        (None, ""),
    ],
)
def test_as_clause_drops_the_users_closing_punctuation(typed, clause):
    assert as_clause(typed) == clause
