"""The Whoosh index's schema: the jieba and bigram tokenizers (a pickled index names them by
module, so whoosh_backend re-exports them), the fields and how a search document fills them."""

from __future__ import annotations

from whoosh import analysis as wa
from whoosh import fields

from registry.search import analysis
from registry.search.documents import Document


class JiebaTokenizer(wa.Tokenizer):
    """Whoosh tokenizer over the shared segmenter: word positions (not character offsets)."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self).__name__)

    def _tokens(self, value: str) -> list[analysis.Token]:
        return analysis.SEGMENTER.tokens(value, search=True)

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = wa.Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for item in self._tokens(value):
            token.text = item.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = item.text
            if positions:
                token.pos = start_pos + item.position
            if chars:
                token.startchar = start_char + item.start
                token.endchar = start_char + item.end
            yield token


class BigramTokenizer(JiebaTokenizer):
    """CJK bigrams, for exact substrings of names whatever jieba makes of them."""

    def _tokens(self, value: str) -> list[analysis.Token]:
        return analysis.bigrams(value)


def schema() -> fields.Schema:
    """The index layout."""
    words = JiebaTokenizer()
    return fields.Schema(
        doc_id=fields.ID(stored=True, unique=True),
        kind=fields.ID(stored=True),
        title=fields.TEXT(analyzer=words, stored=True, phrase=True),
        title_exact=fields.ID(),
        title_ngram=fields.TEXT(analyzer=BigramTokenizer(), phrase=True),
        keywords=fields.TEXT(analyzer=words, stored=True),
        keyword_exact=fields.KEYWORD(commas=True),
        pinyin=fields.KEYWORD(lowercase=True, scorable=True),
        initials=fields.KEYWORD(lowercase=True, scorable=True),
        body=fields.TEXT(analyzer=words, stored=True, phrase=True),
        url=fields.STORED(),
        stage=fields.KEYWORD(commas=True),
        department=fields.KEYWORD(commas=True),
        fee_regime=fields.KEYWORD(commas=True),
        hash=fields.STORED(),
    )


FACET_FIELDS = {
    "type": "kind",
    "stage": "stage",
    "department": "department",
    "fee_regime": "fee_regime",
}


# A document's rank (a provider's credit grade) is indexed as one term of keyword_exact, so the
# schema (and every existing index) stays as it is. The ":" can never come out of normalise(),
# so no user query can match it; an index built before ranks existed simply ranks all at 0.
RANK_PREFIX = "rank:"


def rank_term(rank: float) -> str | None:
    return f"{RANK_PREFIX}{rank:g}" if rank else None


def fields_of(document: Document) -> dict:
    title_words = analysis.SEGMENTER.words(document.title)
    full, initials = analysis.pinyin_terms([*title_words, *document.keywords])
    named_full, named_initials = analysis.name_pinyin_terms(document.own_names)
    full, initials = full + named_full, initials + named_initials
    facets = document.facets
    exact = [analysis.normalise(k) for k in document.keywords]
    # Hidden names (documents.Document.hidden) only here, each as one whole-name term.
    exact += [t for t in map(analysis.hidden_term, document.hidden) if t]
    rank_key = rank_term(document.rank)
    if rank_key:
        exact.append(rank_key)
    return {
        "doc_id": document.doc_id,
        "kind": document.kind,
        "title": document.title,
        "title_exact": analysis.normalise(document.title),
        "title_ngram": " ".join([document.title, *document.keywords]),
        "keywords": " ".join(document.keywords),
        "keyword_exact": ",".join(exact),
        "pinyin": " ".join(full),
        "initials": " ".join(initials),
        "body": document.body,
        "url": document.url,
        "stage": ",".join(facets.get("stage", [])),
        "department": ",".join(facets.get("department", [])),
        "fee_regime": ",".join(facets.get("fee_regime", [])),
        "hash": document.content_hash(),
    }
