"""Personal information kept to the minimum (个人信息保护法): masking a name or a number for
display, and reducing a national ID number to a keyed digest plus its last four characters, the
only parts of it the registry stores."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

TAIL_LENGTH = 4
SHORT_NUMBER = 8  # numbers this long or shorter show at most their last two characters
MIN_NUMBER_SIGNS = 4  # letters and digits a certificate number needs at least

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NOT_KEPT = re.compile(rf"[^0-9A-Z{_CJK}]+")
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_DOT_GAP = re.compile(r"\s*·\s*")
_DOTS = str.maketrans(dict.fromkeys("・‧•∙⋅", "·"))
# Cyrillic and Greek capitals that look like Latin ones (НР-2021 typed for HP-2021).
_LOOKALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТУХΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "ABESIJKMHOPCTYXABEZHIKMNOPTYX",
)


def invisible(text: str | None) -> bool:
    """Whether text holds format or control characters (zero-width spaces, soft hyphens, BOM),
    which look like nothing on the page but make a different string."""
    return any(unicodedata.category(c) in ("Cf", "Cc") for c in text or "")


def normalise_name(name: str | None) -> str:
    """A person's name as entered once and for all: NFKC, format and control characters
    removed, no space between two Chinese characters ('李 雷' → '李雷'), and one space or one
    '·' between the parts of a Latin or minority name ('买买提 · 艾力' → '买买提·艾力')."""
    text = unicodedata.normalize("NFKC", name or "").translate(_DOTS)
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = " ".join(text.split())
    return _DOT_GAP.sub("·", _CJK_GAP.sub("", text)).strip("·")


def mask_name(name: str | None) -> str:
    """A name with its middle hidden, over its visible characters: '张三明' → '张*明',
    '欧阳小明' → '欧**明', two characters '张三' → '张*', one character unchanged."""
    text = "".join(c for c in normalise_name(name) if not c.isspace())
    if len(text) <= 1:
        return text
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_number(number: str | None) -> str:
    """A certificate or ID number with all but its first two and last two characters hidden:
    'A1234567890' → 'A1*******90'; eight characters or fewer show only their last two
    ('12345' → '***45'), four or fewer nothing."""
    text = "".join(c for c in unicodedata.normalize("NFKC", number or "") if not invisible(c))
    text = text.strip()
    if len(text) <= TAIL_LENGTH:
        return "*" * len(text)
    if len(text) <= SHORT_NUMBER:
        return "*" * (len(text) - 2) + text[-2:]
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def number_key(number: str | None) -> str:
    """The comparable form of a certificate or ID number: NFKC (full-width to half-width), upper
    case, Cyrillic and Greek lookalikes read as Latin, and only Latin letters, digits and Chinese
    characters kept (no spaces, punctuation or invisible characters). '粤 a-123 ４' → '粤A1234'."""
    value = unicodedata.normalize("NFKC", number or "").upper().translate(_LOOKALIKES)
    return _NOT_KEPT.sub("", value)


def number_signs(number: str | None) -> int:
    """How many letters and digits a number has once keyed (number_key)."""
    return len(re.sub(rf"[{_CJK}]", "", number_key(number)))


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


# Contact details and ID numbers written into free text (a rating comment): a mainland mobile,
# a landline with its area code, an 18-character ID number, an e-mail address.
# Digits as typed, full-width ones too; a mobile may carry +86 and be split by spaces or dashes.
_D = "[0-9０-９]"
_SEP = "[-－ ]?"
_MOBILE = re.compile(
    rf"(?<!{_D})((?:[+＋]?86{_SEP})?[1１][3-9３-９]{_D}){_SEP}{_D}{{4}}{_SEP}({_D}{{4}})(?!{_D})"
)
_LANDLINE = re.compile(rf"(?<!{_D})([0０]{_D}{{2,3}}){_SEP}{_D}{{3,4}}({_D}{{4}})(?!{_D})")
_ID_NUMBER = re.compile(rf"(?<!{_D}){_D}{{17}}[0-9０-９XxＸｘ](?![0-9０-９A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_personal(text: str, names: Iterable[str] = ()) -> str:
    """Free text as the public may read it: phone numbers, ID numbers and e-mail addresses
    partly hidden, and each of `names` (people the text may name: a firm's staff) masked as
    mask_name does. Longer names first, so that a name inside another is not masked twice."""
    text = _ID_NUMBER.sub(lambda m: "*" * 14 + m.group(0)[-4:], text)
    text = _MOBILE.sub(r"\1****\2", text)
    text = _LANDLINE.sub(r"\1-****\2", text)
    text = _EMAIL.sub(r"\1***\2", text)
    for name in sorted({n for n in names if len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return text
