"""The Whoosh query for a parsed user query, built by hand (no query parser: nothing the user
types can fail to parse): per chunk its words, synonyms, title bigrams, pinyin and the exact name;
quoted phrases positionally; excluded words removed."""

from __future__ import annotations

from bisect import bisect_left

from whoosh import query as Q
from whoosh.automata.fsa import ANY, EPSILON, NFA, find_all_matches

from registry.search import analysis
from registry.search.query import ParsedQuery


def chunk_query(chunk: str, synonyms: analysis.Synonyms, searcher):
    """The alternatives one chunk of the user's text may match (words, synonyms, bigrams in
    the title, pinyin and initials, the exact name)."""
    words = analysis.SEGMENTER.words(chunk)
    content = [w for w in words if w not in analysis.STOP_TOKENS] or words
    alternatives = []
    per_word = []
    for word in content:
        options = [
            Q.Term("title", word, boost=4.0),
            Q.Term("keywords", word, boost=4.0),
            Q.Term("body", word),
        ]
        parts = [t.text for t in analysis.SEGMENTER.tokens(word) if t.text != word]
        if len(word) >= 3 and parts and not indexed(searcher, word):
            # jieba cut the indexed text differently (the word itself is nowhere in the
            # index): accept its sub-words instead. Skipped when the word is there, since
            # sub-words are common and cost a pass over long posting lists.
            options.append(Q.And([Q.Or([Q.Term("title", p), Q.Term("body", p)]) for p in parts]))
        options += [words_query(e, boost=2.0) for e in synonyms.expand(word)]
        per_word.append(Q.Or(options))
    if per_word:
        alternatives.append(Q.And(per_word) if len(per_word) > 1 else per_word[0])
    grams = [t.text for t in analysis.bigrams(chunk)]
    if analysis.CJK_RE.search(chunk) and grams:
        # Every bigram of the chunk in the (short) title: substring recall for names without
        # a positional phrase match, which costs a position decode per candidate.
        alternatives.append(Q.And([Q.Term("title_ngram", g) for g in grams], boost=3.0))
    lowered = chunk.lower()
    if analysis.ASCII_WORD_RE.match(lowered) and lowered.isalpha():
        alternatives += [
            Q.Term("pinyin", lowered, boost=3.0),
            Q.Term("initials", lowered, boost=2.0),
            # The pinyin of a whole own name (a title or a catalogue alias): the item named.
            Q.Term("pinyin", analysis.NAME_MARK + lowered, boost=6.0),
            Q.Term("initials", analysis.NAME_MARK + lowered, boost=4.0),
        ]
        if len(lowered) >= 4:
            alternatives.append(Q.Prefix("pinyin", lowered, boost=1.0))
    normal = analysis.normalise(chunk)
    if normal:
        alternatives += [
            Q.Term("title_exact", normal, boost=12.0),
            Q.Term("keyword_exact", normal, boost=8.0),
        ]
    alternatives += [words_query(e, boost=3.0) for e in synonyms.expand(chunk)]
    return Q.Or(alternatives)


def indexed(searcher, word: str) -> bool:
    """Whether the word itself is in the index (title or body)."""
    return bool(searcher.doc_frequency("title", word) or searcher.doc_frequency("body", word))


def words_query(text: str, boost: float = 1.0):
    """All words of text (a synonym expansion) in the title, or all in the body."""
    words = analysis.SEGMENTER.words(text)
    if not words:
        return Q.NullQuery
    grams = [t.text for t in analysis.bigrams(text)]
    return Q.Or(
        [
            Q.And([Q.Term("title", w) for w in words], boost=boost),
            # An alias (住建局 → 住房城乡建设委, a department's short name) as strong as the title.
            Q.And([Q.Term("keywords", w) for w in words], boost=boost),
            # For recall where jieba cut the title differently: weighs about one title word,
            # not one per bigram (a long expansion of 环评 must not outweigh the words typed).
            Q.And([Q.Term("title_ngram", g) for g in grams], boost=boost / max(1, len(grams))),
            Q.And([Q.Term("body", w) for w in words]),
        ]
    )


def phrase_query(text: str, boost: float = 1.0):
    """A quoted phrase: positional match in title or body."""
    words = analysis.SEGMENTER.words(text)
    if not words:
        return Q.NullQuery
    if len(words) == 1:
        return Q.Or([Q.Term("title", words[0], boost=boost), Q.Term("body", words[0])])
    grams = [t.text for t in analysis.bigrams(text)]
    return Q.Or(
        [
            Q.Phrase("title", words, boost=boost),
            Q.Phrase("body", words),
            Q.Phrase("title_ngram", grams, boost=boost),
        ]
    )


def build_query(parsed: ParsedQuery, synonyms: analysis.Synonyms, searcher):
    """The Whoosh query for a parsed user query (no query parser: nothing can fail to parse).

    Chunks made only of very common words (天津, 有限公司 …) do not have to match when
    other chunks are given: they only raise the score of documents that have them.
    """
    required, optional = [], []
    for chunk in parsed.chunks:
        words = analysis.SEGMENTER.words(chunk)
        common = bool(words) and all(w in analysis.STOP_TOKENS for w in words)
        (optional if common else required).append(chunk_query(chunk, synonyms, searcher))
    required += [phrase_query(phrase, boost=4.0) for phrase in parsed.phrases]
    if not required:
        required, optional = optional, []
    main = Q.And(required) if len(required) > 1 else required[0]
    if optional:
        main = Q.AndMaybe(main, Q.Or(optional))
    hidden = analysis.hidden_term(parsed.text)
    if hidden:
        # A hidden name only when the whole query is that name (analysis.hidden_term).
        main = Q.Or([main, Q.Term("keyword_exact", hidden, boost=12.0)])
    if parsed.excluded:
        exclusions = [
            Q.Term(f, w)
            for text in parsed.excluded
            for w in analysis.SEGMENTER.words(text)
            for f in ("title", "body")
        ]
        main = Q.AndNot(main, Q.Or(exclusions))
    return main


def edit_automaton(term: str, k: int):
    """A DFA accepting the words within k edits of term, a transposition of neighbours counting
    as one edit (the distance whoosh.support.levenshtein.damerau_levenshtein computes): Whoosh's
    levenshtein_automaton plus transposition states."""
    nfa = NFA((0, 0))
    for i, char in enumerate(term):
        for e in range(k + 1):
            nfa.add_transition((i, e), char, (i + 1, e))
            if e < k:
                nfa.add_transition((i, e), ANY, (i, e + 1))
                nfa.add_transition((i, e), EPSILON, (i + 1, e + 1))
                nfa.add_transition((i, e), ANY, (i + 1, e + 1))
                if i + 1 < len(term) and term[i + 1] != char:
                    nfa.add_transition((i, e), term[i + 1], ("swap", i, e))
                    nfa.add_transition(("swap", i, e), char, (i + 2, e + 1))
    for e in range(k + 1):
        if e < k:
            nfa.add_transition((len(term), e), ANY, (len(term), e + 1))
        nfa.add_final_state((len(term), e))
    return nfa.to_dfa()


class Lexicons:
    """Per segment and field, the sorted terms (a segment never changes), for spelling
    suggestions by automaton instead of Whoosh's edit distance to every term."""

    def __init__(self) -> None:
        self._segments: dict[tuple[str, str], list[str]] = {}

    def _words(self, reader, fieldname: str) -> list[str]:
        key = (reader.segment().segment_id(), fieldname)
        if key not in self._segments:
            words = (
                t.decode("utf-8") if isinstance(t, bytes) else t for t in reader.lexicon(fieldname)
            )
            # Whole-name marks (analysis.NAME_MARK) are not words to suggest.
            self._segments[key] = [w for w in words if not w.startswith(analysis.NAME_MARK)]
        return self._segments[key]

    def suggest(self, searcher, fieldname: str, text: str, maxdist: int = 2) -> str | None:
        """The nearest terms (one edit away before two: kanca is kancha, not kantan), and of
        those the most frequent (ties: the last in sort order)."""
        for distance in range(1, maxdist + 1):
            found = self._suggest(searcher, fieldname, text, distance)
            if found is not None:
                return found
        return None

    def _suggest(self, searcher, fieldname: str, text: str, maxdist: int) -> str | None:
        """What searcher.corrector(fieldname).suggest(text, limit=1, maxdist) answers: of the
        terms within maxdist edits, the most frequent (ties: the last in sort order)."""
        dfa = edit_automaton(text, maxdist)
        found: set[str] = set()
        live = set()
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            live.add((reader.segment().segment_id(), fieldname))
            words = self._words(reader, fieldname)

            def first_from(word: str, words=words) -> str | None:
                pos = bisect_left(words, word)
                return words[pos] if pos < len(words) else None

            found.update(find_all_matches(dfa, first_from))
        for key in [k for k in self._segments if k[1] == fieldname and k not in live]:
            del self._segments[key]
        found.discard(text)
        if not found:
            return None
        return max(found, key=lambda w: (searcher.frequency(fieldname, w) or 1, w))


def correct_chunk(chunk: str, searcher, lexicons: Lexicons | None = None) -> str | None:
    """A likely intended word for a chunk that matched nothing: same pinyin (or a pinyin one or
    two letters off) as an indexed title or keyword."""
    lowered = chunk.lower()
    if analysis.CJK_RE.search(chunk):
        if len(chunk) < 2:
            return None
        target = analysis.pinyin_of(chunk)[0]
    elif lowered.isalpha() and len(lowered) >= 4:
        target = lowered
        if not searcher.doc_frequency("pinyin", target):
            found = (lexicons or Lexicons()).suggest(searcher, "pinyin", lowered, maxdist=2)
            if not found:
                return None
            target = found
    else:
        return None
    if not target or not searcher.doc_frequency("pinyin", target):
        return None
    candidates: list[str] = []
    for hit in searcher.search(Q.Term("pinyin", target), limit=10):
        stored = hit.fields()
        candidates += stored.get("keywords", "").split()
        candidates += analysis.SEGMENTER.words(stored.get("title", ""))
    return analysis.best_homophone(chunk, candidates, target)
