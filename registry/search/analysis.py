"""Chinese text analysis shared by both search backends: jieba segmentation (rjieba) with word
positions, CJK bigrams for exact substrings, pinyin and initials, and query-time synonyms."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import rjieba
from pypinyin import Style, lazy_pinyin

from registry import yamlfile

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD_RE = re.compile(rf"[A-Za-z0-9]+|[{CJK}]+")
CJK_RE = re.compile(rf"[{CJK}]")
ASCII_WORD_RE = re.compile(r"^[a-z0-9]+$")

# Tokens so common in names that they must never decide a match on their own.
STOP_TOKENS = frozenset(
    {
        "天津",
        "天津市",
        "有限公司",
        "有限",
        "公司",
        "科技",
        "有限责任",
        "责任",
        "股份",
        "集团",
        "市",
        "区",
        "的",
        "和",
        "与",
        "及",
    }
)


@dataclass(frozen=True)
class Token:
    """One analysed token: text, word position, character offsets."""

    text: str
    position: int
    start: int
    end: int


# Splits one CJK run (text, offset in the text, first position) into tokens and the next position.
CjkSplitter = Callable[[str, int, int], tuple[list[Token], int]]


class Segmenter:
    """jieba (rjieba) with a domain dictionary. Positions count precise-mode words, so that the
    extra sub-words of search mode share their word's position and phrase queries still match."""

    def __init__(self) -> None:
        self._jieba = rjieba.Jieba()
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def add_words(self, words: Iterable[str]) -> None:
        """Teach the segmenter domain words (abbreviations, synonyms, catalogue terms)."""
        with self._lock:
            for word in words:
                word = (word or "").strip()
                if len(word) >= 2 and CJK_RE.search(word) and word not in self._known:
                    self._jieba.add_word(word, None, None)
                    self._known.add(word)

    def tokens(self, text: str, *, search: bool = True) -> list[Token]:
        """Tokens of text; search=True adds jieba's sub-words (index side), False is precise."""
        return _walk(text, lambda run, offset, position: self._split(run, offset, position, search))

    def _split(self, run: str, offset: int, position: int, search: bool) -> tuple[list[Token], int]:
        """The words of one CJK run (and, for search, the sub-words inside them)."""
        result: list[Token] = []
        starts = {}
        for word, start, end in self._jieba.tokenize(run, "default", True):
            starts[(start, end)] = position
            result.append(Token(word, position, offset + start, offset + end))
            position += 1
        if search:
            for word, start, end in self._jieba.tokenize(run, "search", True):
                if (start, end) in starts:
                    continue
                owner = next((p for (s, e), p in starts.items() if s <= start and end <= e), None)
                if owner is not None:
                    result.append(Token(word, owner, offset + start, offset + end))
        return result, position

    def words(self, text: str) -> list[str]:
        """Precise-mode words of text (query side)."""
        return [t.text for t in self.tokens(text, search=False)]


def _walk(text: str, split_cjk: CjkSplitter, *, gap: int = 0) -> list[Token]:
    """Tokens of text: each ASCII word lowercased, each CJK run through split_cjk; `gap` positions
    are left between runs."""
    result: list[Token] = []
    position = 0
    for match in WORD_RE.finditer(text or ""):
        run, offset = match.group(), match.start()
        if CJK_RE.match(run):
            tokens, position = split_cjk(run, offset, position)
            result.extend(tokens)
        else:
            result.append(Token(run.lower(), position, offset, match.end()))
            position += 1
        position += gap
    return result


def _bigram_split(run: str, offset: int, position: int) -> tuple[list[Token], int]:
    """Overlapping bigrams of one CJK run (a lone character stays itself)."""
    if len(run) == 1:
        return [Token(run, position, offset, offset + 1)], position + 1
    tokens = [
        Token(run[i : i + 2], position + i, offset + i, offset + i + 2) for i in range(len(run) - 1)
    ]
    return tokens, position + len(tokens)


def bigrams(text: str) -> list[Token]:
    """Overlapping CJK bigrams (a lone character stays itself) plus lowercase ASCII words."""
    # A gap between runs, so a phrase never spans two separate words.
    return _walk(text, _bigram_split, gap=1)


@lru_cache(maxsize=65536)
def pinyin_of(word: str) -> tuple[str, str]:
    """Full pinyin (no tones, joined) and initials of a CJK word: 环评 → ('huanping', 'hp')."""
    full = lazy_pinyin(word, errors="ignore")
    initials = lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(full).lower(), "".join(initials).lower()


def pinyin_terms(words: Iterable[str]) -> tuple[list[str], list[str]]:
    """Pinyin and initials terms for CJK words (each word, and the words joined)."""
    full, initials = [], []
    for word in words:
        if not CJK_RE.search(word or ""):
            continue
        f, i = pinyin_of(word)
        if f:
            full.append(f)
            initials.append(i)
    return full, initials


# Marks the pinyin (and initials) of a document's WHOLE own name in the pinyin fields: a query
# that is exactly the pinyin of a name (huanping: 环评) then outranks one that is the pinyin of
# a word inside a longer name (环评审批). "=" never survives query parsing, so only this can
# produce such a term, and no pinyin prefix or spelling suggestion starts with it.
NAME_MARK = "="


def name_pinyin_terms(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Marked pinyin and initials terms of whole names (a title, a catalogue alias)."""
    full, initials = pinyin_terms(normalise(name) for name in names)
    return [NAME_MARK + f for f in full], [NAME_MARK + i for i in initials]


class Synonyms:
    """Query-time expansions: 环评 → 环境影响评价 … (from seeds/search/synonyms.yaml)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = {k: list(v) for k, v in table.items()}

    @classmethod
    def load(cls, path: Path) -> Synonyms:
        """Read the table; a missing file means no synonyms."""
        if not path.exists():
            return cls({})
        data = yamlfile.read(path) or {}
        return cls({str(k): [str(x) for x in v or []] for k, v in data.items()})

    def expand(self, text: str) -> list[str]:
        """Expansions of a whole query word (empty when it is not in the table)."""
        return self.table.get(text, [])

    def words(self) -> Iterator[str]:
        """Every word in the table (to teach the segmenter)."""
        for key, values in self.table.items():
            yield key
            yield from values


def best_homophone(typed: str, candidates: Iterable[str], target: str) -> str | None:
    """Among candidate words whose pinyin is target, the one sharing most characters with typed
    (检侧 → 检测 rather than 监测, both jiance)."""
    matches = [
        w for w in dict.fromkeys(candidates) if w not in STOP_TOKENS and pinyin_of(w)[0] == target
    ]
    if not matches:
        return None
    return max(matches, key=lambda w: (len(set(w) & set(typed)), -matches.index(w)))


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours is one edit), or limit + 1 when it
    is more than limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            value = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current.append(value)
        before, row = row, current
    return min(row[-1], limit + 1)


_NORMAL_RE = re.compile(rf"[^A-Za-z0-9{CJK}]+")


def normalise(text: str) -> str:
    """Lowercase, without spaces or punctuation: the form used for exact-name matching."""
    return _NORMAL_RE.sub("", text or "").lower()


# A hidden name (documents.Document.hidden) is indexed as ONE term: the whole name normalised,
# behind a mark normalise() never yields. Never bigrams, pinyin or suggestions, so a piece of
# the name (龚向 of 龚向明) finds nothing and the masked middle cannot be probed for.
HIDDEN_MARK = "name:"


def hidden_term(text: str) -> str:
    """The term of a whole hidden name, or of a whole query ("" when shorter than two)."""
    normal = normalise(text)
    return HIDDEN_MARK + normal if len(normal) >= 2 else ""


# The process-wide segmenter. Whoosh pickles analyzers into its index, so tokenizers reach the
# segmenter through this module rather than holding it.
SEGMENTER = Segmenter()
