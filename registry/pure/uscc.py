"""Unified social credit codes (统一社会信用代码, GB 32100-2015): validation and check digits."""

from __future__ import annotations

import string
import unicodedata

# GB 32100-2015 table: digits and capitals without I, O, Z, S, V (easily misread).
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714 organisation code (positions 9–17): its own alphabet and mod-11 check.
ORG_CHARSET = string.digits + string.ascii_uppercase
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

PREFIX = "统一社会信用代码"


def _check_char(body17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(CHARSET.index(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def _org_check_char(body8: str) -> str:
    """The GB 11714 check character for the 8-character organisation code body."""
    total = sum(ORG_CHARSET.index(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _check_shape(code: str, length: int) -> None:
    """Raise ValueError unless code has the given length, legal characters and a numeric region."""
    if len(code) != length:
        raise ValueError(f"{PREFIX}应为 {length} 位,当前为 {len(code)} 位")
    for position, char in enumerate(code, start=1):
        if char not in CHARSET:
            raise ValueError(
                f"{PREFIX}第 {position} 位“{char}”不是合法字符(只用数字和大写字母,不含 I、O、Z、S、V)"
            )
    if not code[2:8].isdigit():
        raise ValueError(f"{PREFIX}第 3–8 位应为 6 位数字的行政区划码")


def validate_uscc(code: str) -> str:
    """Return the code stripped and upper-cased, or raise ValueError saying what is wrong."""
    # NFKC first: a Chinese input method types full-width digits and letters (９１… → 91…).
    code = unicodedata.normalize("NFKC", code or "").strip().upper()
    _check_shape(code, 18)
    if code[16] != _org_check_char(code[8:16]):
        raise ValueError(f"{PREFIX}第 9–17 位(组织机构代码)校验不通过,请核对")
    if code[17] != _check_char(code[:17]):
        raise ValueError(f"{PREFIX}校验码(第 18 位)不正确,请核对")
    return code


def is_valid_uscc(code: str) -> bool:
    """True when validate_uscc accepts the code."""
    try:
        validate_uscc(code)
    except ValueError:
        return False
    return True


def make_uscc(body16: str) -> str:
    """Complete the first 16 characters with both check digits (positions 17 and 18); for demo data."""
    body16 = body16.strip().upper()
    _check_shape(body16, 16)
    body17 = body16 + _org_check_char(body16[8:])
    return body17 + _check_char(body17)
