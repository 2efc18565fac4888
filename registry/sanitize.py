"""The ONLY module that imports the HTML sanitiser (nh3, the Ammonia binding; bleach is end-of-life)."""

from __future__ import annotations

import re

import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": {"colspan"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sanitize_html(text: str | None) -> str:
    """Clean user-supplied rich text down to a safe subset of HTML."""
    if not text:
        return ""
    return nh3.clean(
        _CONTROL.sub("", text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def safe_html(text: str | None) -> Markup:
    """Sanitise and mark as safe for templates (the one road from stored rich text to |safe)."""
    return Markup(sanitize_html(text))  # noqa: S704 - the text has just been sanitised


def plain_text(text: str | None) -> str:
    """Strip control characters from a single-line or plain text field."""
    return _CONTROL.sub("", text or "").strip()
