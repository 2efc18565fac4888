"""How a typed qualification or certificate type becomes comparable: the one normalisation of
qualification types used by the service layer, the directory, selection matching and the
migration that merged free-text variants, and the plainer one of certificate types."""

from __future__ import annotations

import re
import unicodedata

# A bracketed remark, in ASCII or full-width brackets (after NFKC full-width ( ) become ( )).
_REMARK = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕")
_SPACE = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """The comparable form of a qualification type: NFKC (full-width letters, digits and
    brackets to half-width), bracketed remarks removed, all whitespace removed.
    '环境影响评价单位(环评信用平台登记)' and ' 环境影响评价单位 ' both give '环境影响评价单位'."""
    value = unicodedata.normalize("NFKC", text or "")
    previous = None
    while previous != value:  # nested remarks: remove innermost first
        previous, value = value, _REMARK.sub("", value)
    return _SPACE.sub("", value)


def spelling_key(text: str | None) -> str:
    """The comparable form of a certificate type: NFKC, all whitespace removed (its brackets are
    part of the name: 注册土木工程师(岩土) is not 注册土木工程师)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or ""))
