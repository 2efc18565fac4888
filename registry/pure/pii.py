"""Personal information kept to the minimum (个人信息保护法): masking a name or a number for
display, and reducing a national ID number to a keyed digest plus its last four characters, the
only parts of it the registry stores."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_SPACE_OR_HYPHEN = re.compile(r"[\s\-‐‑‒–—―－]+")
TAIL_LENGTH = 4


def mask_name(name: str | None) -> str:
    """A name with its middle hidden: '张三明' → '张*明', '欧阳小明' → '欧**明', two characters
    '张三' → '张*', one character unchanged."""
    text = (name or "").strip()
    if len(text) <= 1:
        return text
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_number(number: str | None) -> str:
    """A certificate or ID number with all but its first two and last two characters hidden:
    'A1234567890' → 'A1*******90'; four characters or fewer are hidden entirely."""
    text = (number or "").strip()
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def number_key(number: str | None) -> str:
    """The comparable form of a certificate or ID number: NFKC (full-width to half-width),
    upper case, spaces and hyphens removed. '粤 a-123 ４' → '粤A1234'."""
    value = unicodedata.normalize("NFKC", number or "").upper()
    return _SPACE_OR_HYPHEN.sub("", value)


def id_tail(id_number: str) -> str:
    """The last four characters of a national ID number (normalised), the part pages may show."""
    return number_key(id_number)[-TAIL_LENGTH:]


def id_digest(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised ID number: the same person gives the same digest under
    the same key, and the number cannot be read back or guessed without the key."""
    return hmac.new(key, number_key(id_number).encode(), hashlib.sha256).hexdigest()


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


def valid_id_number(id_number: str | None) -> bool:
    """Whether a resident identity card number (GB 11643-1999, 18 characters) is well formed
    and its check character right, after number_key (a lower-case x is accepted)."""
    value = number_key(id_number)
    if not _ID_SHAPE.fullmatch(value):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11] == value[-1]
