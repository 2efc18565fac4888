"""The ONLY module that imports the HTML sanitiser (nh3, the Ammonia binding; bleach is end-of-life)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import nh3
from markupsafe import Markup

from registry.pure.pii import mask_personal

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

# Control characters (tab and line breaks kept) and the bidirectional embedding, override and
# isolate marks, which reverse the text after them wherever it is shown (a name "\u202e…" read
# backwards in every list).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

# The simple formatting a plain textarea offers (the hint under 服务承诺 and 评价意见 documents it):
# a blank line starts a new paragraph, a line break stays a line break, lines beginning with
# "- ", "* " or "· " make a list, lines beginning with "1. " / "1、" a numbered list, and
# **text** is bold. Text that already holds block HTML (admin-edited notes) is left as it is.
_BLOCK_HTML = re.compile(r"<(p|ul|ol|li|br|h3|h4|blockquote|table)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*·•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.、)]\s*(.*)$")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


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


# What the form hint under a simply formatted field says (the same words wherever it is offered).
FORMAT_HINT = (
    "可使用简单格式:空一行另起一段;以“- ”开头的行显示为列表,以“1. ”开头的行显示为编号列表;"
    "**文字** 显示为加粗。其他格式和 HTML 标签不会显示。"
)


def format_simple(text: str | None) -> str:
    """Turn the documented plain-text formatting (paragraphs, line breaks, - and 1. lists,
    **bold**) into HTML and sanitise the result; text already in block HTML is only sanitised."""
    if not text:
        return ""
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    if _BLOCK_HTML.search(text):
        return sanitize_html(text)
    blocks: list[str] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        blocks.extend(_blocks(chunk.split("\n")))
    return sanitize_html("".join(blocks))


def _blocks(lines: list[str]) -> list[str]:
    """One paragraph's lines as <p> runs and <ul>/<ol> lists, in their order."""
    out: list[str] = []
    run: list[str] = []
    kind: str | None = None  # "p", "ul" or "ol"
    for line in lines:
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        this = "ul" if bullet else "ol" if numbered else "p"
        if this != kind and run:
            out.append(_close(kind, run))
            run = []
        kind = this
        body = (bullet or numbered).group(1) if this != "p" else line.strip()
        run.append(_BOLD.sub(r"<strong>\1</strong>", body))
    if run:
        out.append(_close(kind, run))
    return out


def _close(kind: str | None, run: list[str]) -> str:
    if kind == "p":
        return "<p>" + "<br>".join(run) + "</p>"
    return f"<{kind}>" + "".join(f"<li>{item}</li>" for item in run) + f"</{kind}>"


def safe_html(text: str | None) -> Markup:
    """Format and sanitise for templates (the one road from stored rich text to |safe): the
    simple formatting of format_simple, then the sanitiser's whitelist."""
    return Markup(format_simple(text))  # noqa: S704 - the text has just been sanitised


def public_html(text: str | None, names: Iterable[str] = ()) -> Markup:
    """safe_html for the public: phone and ID numbers and e-mail addresses partly hidden and
    `names` masked (pii.mask_personal), after the formatting, so that the masks' asterisks are
    never read as its bold (a reviewer, stop 31)."""
    return Markup(mask_personal(format_simple(text), names))  # noqa: S704 - sanitised, then masked


def without_controls(text: str | None) -> str | None:
    """Typed text without control and bidi-override characters, otherwise as typed (every form's
    text fields pass through it: web/forms.py, Form.Meta.bind_field)."""
    return _CONTROL.sub("", text) if isinstance(text, str) else text


def plain_text(text: str | None) -> str:
    """Strip control characters from a single-line or plain text field."""
    return _CONTROL.sub("", text or "").strip()


_CLOSING = "。.!！?？;；,，、:： "


def as_clause(text: str | None) -> str:
    """User text set into a sentence of ours before our own full stop: without the closing
    punctuation the user may have typed (a reason ending in 。 would otherwise read "。。")."""
    return plain_text(text).rstrip(_CLOSING)
