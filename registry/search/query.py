"""Parsing what people type into a safe, backend-neutral query. Never raises: anything that looks
like query syntax is read as plain words, with a short notice for the user."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_LENGTH = 100
_QUOTES = {"“": '"', "”": '"', "「": '"', "」": '"', "＂": '"'}
_PHRASE_RE = re.compile(r'"([^"]*)"')
_OPERATOR_RE = re.compile(r"^(AND|OR|NOT|TO)$")
_SYNTAX_RE = re.compile(r"[+<>()\[\]{}^~*?:\\/!&|=;'`@#$%,，。、;:!?()【】《》…·]")
# Another engine's field syntax (title:环评, name:…): the field is dropped, the words kept.
_FIELD_RE = re.compile(r"^[A-Za-z_]+:(?=\S)")
# A catalogue code typed without its hyphen (zj03 for ZJ-03): its prefix and number, as "ZJ-03"
# itself is read. Only the catalogue's prefixes: PM10, CO2 or C30 are words of their own.
_CODE_RE = re.compile(r"^(zj|sp|ct|qt)([0-9]{1,3})$", re.IGNORECASE)
_CJK_CHAR_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$")


@dataclass
class ParsedQuery:
    """Plain chunks (space-separated parts), quoted phrases, excluded words, and a notice."""

    raw: str
    chunks: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing left to search for."""
        return not (self.chunks or self.phrases)

    @property
    def text(self) -> str:
        """The cleaned query as one string (for display and suggestions)."""
        return " ".join(self.chunks + self.phrases)


def parse_query(raw: str | None) -> ParsedQuery:
    """Clean and split a user's query."""
    text = unicodedata.normalize("NFKC", raw or "")
    result = ParsedQuery(raw=raw or "")
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    for fancy, plain in _QUOTES.items():
        text = text.replace(fancy, plain)
    if len(text) > MAX_LENGTH:
        text = text[:MAX_LENGTH]
        result.notices.append(f"查询内容过长,只使用了前 {MAX_LENGTH} 个字符。")
    syntax_seen = False
    for phrase in _PHRASE_RE.findall(text):
        cleaned = " ".join(_SYNTAX_RE.sub(" ", phrase).split())
        if cleaned:
            result.phrases.append(cleaned)
    text = _PHRASE_RE.sub(" ", text)
    if '"' in text:
        syntax_seen = True
        text = text.replace('"', " ")
    for word in text.split():
        if _OPERATOR_RE.match(word):
            syntax_seen = True
            continue
        if field := _FIELD_RE.match(word):
            syntax_seen = True
            word = word[field.end() :]
        if word.startswith("-") and len(word) > 1:
            cleaned = _SYNTAX_RE.sub("", word[1:]).strip("-")
            if cleaned:
                result.excluded.append(cleaned)
            continue
        cleaned = _SYNTAX_RE.sub(" ", word)
        if cleaned != word:
            syntax_seen = True
        for part in cleaned.replace("-", " ").split():
            code = _CODE_RE.match(part)
            result.chunks.extend(code.groups() if code else (part,))
    result.chunks = _join_characters(result.chunks)
    if syntax_seen:
        result.notices.append("查询中的特殊符号或运算符已按普通文字处理。")
    if result.is_empty and result.excluded:
        result.notices.append("只有排除词无法检索,请输入要查找的内容。")
    return result


def _join_characters(chunks: list[str]) -> list[str]:
    """Chinese characters typed one by one with spaces (环 评) read as the word they spell (环评):
    a run of two or more one-character chunks becomes one chunk; a lone one stays."""
    joined: list[str] = []
    run: list[str] = []
    for chunk in [*chunks, ""]:
        if _CJK_CHAR_RE.match(chunk):
            run.append(chunk)
            continue
        if run:
            joined.extend(["".join(run)] if len(run) > 1 else run)
            run = []
        if chunk:
            joined.append(chunk)
    return joined
