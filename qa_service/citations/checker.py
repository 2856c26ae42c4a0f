"""Citation checking: every sentence of an answer must be backed by a quoted passage span.

For each sentence the checker scores every candidate span of every passage (one sentence, or
two adjacent ones) by explainable measures, and keeps the best:
- ``answer``: the share of what the sentence adds to the question (its content words, stemmed,
  that the question does not hold) found in the span. A sentence that only restates the
  question adds nothing and scores 0. A number or a name (a capitalised word) the sentence
  adds that neither the span nor the passage's title holds makes the span unusable, since an
  invented date or person is the costliest error a summary can make;
- ``topic``: the share of the question's content words in the span or the passage's title, so
  that a right-looking word in a sentence about something else ("2018", from an unrelated
  date) is not taken for the answer;
- checks of the answer's type, where the question shows it: "how many X" needs a number the
  span gives as a count of X ("320 firearms" does not answer "how many arrests"), and "how
  many people were killed" a count with the question's own words beside it ("170 officials
  attending" is not a death toll); "which year" needs a year, "when" a date ("It was held in
  Morocco" does not answer "when"), "how much" an amount, and "who is" or "which president" a
  name the question does not hold (a month is not a person);
- ``semantic``: cosine similarity of the MiniLM embeddings of "question + sentence" and span.
``lexical = answer * (1 + topic) / 2`` and
``support = lexical_weight * lexical + (1 - lexical_weight) * semantic``. A citation stays
only if its passage supports the sentence; a wrong number is moved to the passage that does;
when the question asks for two things ("... and ..."), a sentence that joins facts from two
passages may be supported by a span of each read together, if each gives words the other lacks
(both are cited); a sentence nothing supports is dropped and listed in ``unsupported``.
Last, the documents the answer cites must mention every name and number of the question
somewhere in their text (the whole document, when ``document_text`` is given): an answer from
the article about another meeting answers another question, and none of it is kept.
"""

import copy
import difflib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from qa_service.citations.citation import CheckedAnswer, CheckedSentence, Citation
from qa_service.citations.claims import Claim, parse_claims, with_markers
from qa_service.citations.scoring import share_found, support_score
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.text.places import countries, is_place, unasked
from qa_service.text.sentences import (
    MONTH,
    content_terms,
    mentions,
    names,
    numbers,
    split_sentences,
    stem,
    words,
)


@dataclass(frozen=True)
class Support:
    passage: int
    start: int  # within the passage text
    end: int
    answer: float
    topic: float
    semantic: float
    score: float


class CitationChecker:
    """Checks and repairs the citations of an answer against the passages it was written from.

    >>> from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder
    >>> text = "Police chiefs from 12 countries met at INTERPOL headquarters in Lyon in May."
    >>> passage = Passage("a#v#0", "a", None, text, 0, len(text), 1.0)
    >>> checker = CitationChecker(SentenceTransformerEmbedder())
    >>> question = "Where did the police chiefs meet?"
    >>> checked = checker.run("They met in Lyon [1].", [passage], question)
    >>> checked.answer, checked.citations[0].quote == text
    ('They met in Lyon [1].', True)
    """

    def __init__(
        self,
        embedder: Embedder,
        min_support: float = 0.5,
        lexical_weight: float = 0.5,
        document_text: Callable[[Passage], str] | None = None,
    ) -> None:
        """``document_text`` gives the whole document a passage comes from (the store's); without
        it, what a cited document mentions is read from its retrieved passages only."""
        self.embedder = embedder
        self.min_support = min_support
        self.lexical_weight = lexical_weight
        self.document_text = document_text

    def run(
        self,
        answer: str,
        passages: Sequence[Passage],
        question: str = "",
        original_question: str | None = None,
    ) -> CheckedAnswer:
        """``question`` is what the passages were retrieved for; ``original_question``, when it
        was translated into it, what was asked (only names written alike in both are trusted)."""
        check = self.start(passages, question, original_question)
        check.add_text(answer)
        return check.result()

    def start(
        self, passages: Sequence[Passage], question: str = "", original_question: str | None = None
    ) -> "AnswerCheck":
        """The check of an answer still being written: its claims are added as they come."""
        return AnswerCheck(self, passages, question, original_question)

    def _supported(
        self, claim: Claim, asked: "_Asked", spans: list["_Span"], similarity: np.ndarray
    ) -> tuple[list[int], dict[int, Support]] | None:
        """The passages (1-based) that back the claim, and the best span of each, or None."""
        sentence = _Sentence(claim.text, asked)
        best = self._best_per_passage(sentence, asked, spans, similarity)
        kept = [n for n in claim.cited if self._supports(best.get(n - 1))]
        if kept:
            return kept, best
        strongest = max(best.values(), key=lambda support: support.score)
        if strongest.score >= self.min_support:
            return [strongest.passage + 1], best
        if asked.joins_two and (pair := self._best_pair(sentence, asked, spans, similarity)):
            return [support.passage + 1 for support in pair], {s.passage: s for s in pair}
        return None

    def _supports(self, support: Support | None) -> bool:
        return support is not None and support.score >= self.min_support

    def _best_per_passage(
        self, sentence: "_Sentence", asked: "_Asked", spans: list["_Span"], similarity: np.ndarray
    ) -> dict[int, Support]:
        best: dict[int, Support] = {}
        for column, span in enumerate(spans):
            support = self._support(sentence, asked, span, float(similarity[column]))
            if span.passage not in best or support.score > best[span.passage].score:
                best[span.passage] = support
        return best

    def _best_pair(
        self, sentence: "_Sentence", asked: "_Asked", spans: list["_Span"], similarity: np.ndarray
    ) -> tuple[Support, Support] | None:
        """Two spans of two passages that support the sentence together and neither alone: a
        sentence joining facts from two documents ("Operation Neptune II and Operation Trigger
        II"). Each span must give some of the sentence's words that the other lacks."""
        candidates: dict[int, list[int]] = {}
        for column, span in enumerate(spans):
            candidates.setdefault(span.passage, []).append(column)
        for passage, columns in candidates.items():
            # The few spans of each passage that give most of the sentence's words.
            columns.sort(key=lambda c: (-len(sentence.terms & spans[c].terms), -similarity[c]))
            candidates[passage] = columns[:_PAIR_CANDIDATES]
        found: tuple[Support, Support] | None = None
        passages = sorted(candidates)
        for index, first in enumerate(passages):
            for second in passages[index + 1 :]:
                for a, b in itertools.product(candidates[first], candidates[second]):
                    one, other = spans[a], spans[b]
                    if not (sentence.terms & one.terms) - other.terms:
                        continue
                    if not (sentence.terms & other.terms) - one.terms:
                        continue
                    semantic = max(float(similarity[a]), float(similarity[b]))
                    joint = self._support(sentence, asked, one.joined(other), semantic)
                    if joint.score >= self.min_support and (
                        found is None or joint.score > found[0].score
                    ):
                        found = (
                            replace(joint, passage=one.passage, start=one.start, end=one.end),
                            replace(joint, passage=other.passage, start=other.start, end=other.end),
                        )
        return found

    def _support(
        self, sentence: "_Sentence", asked: "_Asked", span: "_Span", semantic: float
    ) -> Support:
        if (
            not sentence.numbers <= span.numbers
            or not sentence.names <= span.words | span.title_words
            or not asked.type_matches(sentence, span)
        ):
            answer = 0.0
        else:
            answer = share_found(sentence.terms, span.terms)
        topic = share_found(asked.terms, span.terms | span.title_terms, if_nothing_wanted=1.0)
        lexical = answer * (1 + topic) / 2
        score = support_score(lexical, semantic, self.lexical_weight)
        return Support(span.passage, span.start, span.end, answer, topic, semantic, score)

    @staticmethod
    def _citation(passage: Passage, support: Support, n: int) -> Citation:
        return Citation(
            n=n,
            doc_id=passage.doc_id,
            title=passage.title,
            chunk_id=passage.chunk_id,
            quote=passage.text[support.start : support.end],
            start=passage.start + support.start,
            end=passage.start + support.end,
            score=round(support.score, 4),
        )


class AnswerCheck:
    """One answer's check, claim by claim in the order they are written: what
    ``CitationChecker.run`` does to a whole answer, so that a stream can show each sentence as
    soon as it holds up. A sentence kept now stays kept and keeps its citation numbers: each
    claim is judged on its own, numbers are given in order, and the documents cited only grow
    (so once they mention what the question is about, they still do)."""

    def __init__(
        self,
        checker: CitationChecker,
        passages: Sequence[Passage],
        question: str,
        original_question: str | None,
    ) -> None:
        self.checker = checker
        self.passages = passages
        self.question = question
        self.original_question = original_question
        self._claims: list[Claim] = []
        self._kept: list[CheckedSentence] = []
        self._shown = 0
        self._numbered: dict[tuple[str, int, int], Citation] = {}
        self._unsupported: list[str] = []
        self._corrected = 0
        self._anchored = False
        # What the cited documents say, each passage (or whole document) read once.
        self._read: dict[str, str] = {}
        self._passages_read: set[int] = set()

    @cached_property
    def _evidence(self) -> tuple[list["_Span"], np.ndarray, "_Asked"] | None:
        """Every candidate span, embedded, and what the question asks: made on the first claim,
        so a draft that says the documents don't say costs nothing here."""
        titles = [_Title(passage.title or "") for passage in self.passages]
        spans = [
            _Span(index, start, end, passage.text[start:end], titles[index])
            for index, passage in enumerate(self.passages)
            for start, end in _candidate_spans(passage.text)
        ]
        if not spans:
            return None
        vectors = self.checker.embedder.embed([span.text for span in spans])
        return spans, vectors, _Asked(self.question, spans, self.original_question)

    def add(self, claim: Claim) -> None:
        self._claims.append(claim)
        if self._evidence is None:
            return
        spans, span_vectors, asked = self._evidence
        found = self._supported(claim, asked, spans, span_vectors)
        # A small model adds a wrong place to a right sentence ("held in Morocco from May 16
        # to 18"): the sentence without it is tried, and the place listed as unsupported.
        shorter = None if found is not None else _without_places(claim, asked)
        if shorter is not None:
            found = self._supported(shorter, asked, spans, span_vectors)
            if found is not None:
                self._unsupported.append(_cut(claim.text, shorter.text))
                claim = shorter
        if found is None:
            self._unsupported.append(claim.text)
            return
        kept, best = found
        self._corrected += bool(claim.cited) and not set(kept) <= set(claim.cited)
        cited: dict[int, Citation] = {}
        for n in kept:
            citation = CitationChecker._citation(
                self.passages[n - 1], best[n - 1], len(self._numbered) + 1
            )
            citation = self._numbered.setdefault(
                (citation.chunk_id, citation.start, citation.end), citation
            )
            cited[citation.n] = citation
        markers = sorted(cited)
        self._kept.append(
            CheckedSentence(with_markers(claim.text, markers), tuple(cited[n] for n in markers))
        )
        self._anchored = self._anchored or self._about_the_question(asked)

    def add_text(self, text: str) -> None:
        """Every claim of ``text``, in order."""
        for claim in parse_claims(text):
            self.add(claim)

    def release(self) -> list[CheckedSentence]:
        """The sentences kept since the last call, once the documents they cite are about the
        question; until then none (and, if they never are, none at all)."""
        if not self._anchored:
            return []
        new = self._kept[self._shown :]
        self._shown = len(self._kept)
        return new

    def result(self) -> CheckedAnswer:
        everything = [claim.text for claim in self._claims]
        if self._evidence is None or (self._kept and not self._anchored):
            return CheckedAnswer("", [], everything)
        return CheckedAnswer(
            " ".join(sentence.text for sentence in self._kept),
            sorted(self._numbered.values(), key=lambda citation: citation.n),
            self._unsupported,
            self._corrected,
        )

    def _supported(
        self, claim: Claim, asked: "_Asked", spans: list["_Span"], span_vectors: np.ndarray
    ) -> tuple[list[int], dict[int, Support]] | None:
        # The sentence is read as the answer to the question: "2018." alone means nothing.
        vector = self.checker.embedder.embed([f"{self.question} {claim.text}".strip()])[0]
        return self.checker._supported(claim, asked, spans, span_vectors @ vector)

    def _about_the_question(self, asked: "_Asked") -> bool:
        """Whether the documents the answer cites mention what the question is about: every
        name and number of the question. An answer from another meeting's article ("Tunis"
        asked, the Lyon article cited) answers another question. A question that asks for two
        things names both documents' subjects, while the answer may cite one of them: not held
        to it."""
        if asked.joins_two or not (asked.anchor_names or asked.anchor_numbers):
            return True
        cited = {citation.doc_id for citation in self._numbered.values()}
        read = self.checker.document_text
        for index, passage in enumerate(self.passages):
            if passage.doc_id not in cited or index in self._passages_read:
                continue
            self._passages_read.add(index)
            if read and passage.doc_id in self._read:
                continue  # the whole document is read already
            text = read(passage) if read else passage.text
            earlier = self._read.get(passage.doc_id, passage.title or "")
            self._read[passage.doc_id] = f"{earlier}\n{text}"
        everything = "\n".join(self._read.values())
        return asked.anchored_in(words(everything), numbers(everything))


class _Sentence:
    """What a sentence of the answer claims beyond the question: its new content words (stemmed),
    numbers and names, and the shape of its answer."""

    def __init__(self, text: str, asked: "_Asked") -> None:
        self.terms = content_terms(text) - asked.terms
        self.numbers = numbers(text) - asked.numbers
        self.names = names(text) - asked.words
        self.has_year = bool(_YEAR.search(text))
        self.has_date = bool(_DATE.search(text))
        self.counts = _counts(text)
        self.counted_as = _count_list(text)
        named_countries = countries(text)
        # The countries it names that the question does not.
        self.countries = unasked(named_countries, asked.words)
        # Names that could be someone's: "November", "Croatia", "Moroccan" and "INTERPOL" (an
        # acronym) name no one.
        places = {word for country in named_countries for word in country.split()}
        acronyms = {word.lower() for word in _ACRONYM.findall(text)}
        self.person_names = {
            name
            for name in self.names - places - acronyms
            if not _DATE.fullmatch(name) and not is_place(name)
        }


class _Span:
    """A candidate quote, with the word sets every sentence is compared against, made once."""

    def __init__(self, passage: int, start: int, end: int, text: str, title: "_Title") -> None:
        self.passage, self.start, self.end, self.text = passage, start, end, text
        self.terms = content_terms(text)
        self.numbers = numbers(text)
        self.words = words(text)
        self.counts = _count_list(text)
        self.title_words = title.words
        self.title_terms = title.terms

    def joined(self, other: "_Span") -> "_Span":
        """The two spans read together (the offsets stay this one's)."""
        both = copy.copy(self)
        both.terms = self.terms | other.terms
        both.numbers = self.numbers | other.numbers
        both.words = self.words | other.words
        both.counts = self.counts + other.counts
        both.title_words = self.title_words | other.title_words
        both.title_terms = self.title_terms | other.title_terms
        return both


@dataclass(frozen=True)
class _Count:
    number: str
    after: set[str]
    around: set[str]


class _Title:
    def __init__(self, title: str) -> None:
        self.words = words(title)
        self.terms = content_terms(title)


class _Asked:
    """What the question already says (echoing it in the answer is context, not a claim), and
    the kind of answer it wants where its wording shows it."""

    def __init__(
        self, question: str, spans: Sequence["_Span"], original: str | None = None
    ) -> None:
        self.terms = content_terms(question)
        self.numbers = numbers(question)
        self.words = words(question)
        # "how many core cybersecurity principles": any of the words that name what is counted.
        self.counted = _noun_phrase(_HOW_MANY.search(question))
        self.wants_year = bool(_WHICH_YEAR.search(question))
        self.wants_date = self.wants_year or bool(_WHEN.search(question))
        self.wants_amount = bool(_HOW_MUCH.search(question))
        self.wants_person = bool(_WHO_IS.search(question) or _WHICH_PERSON.search(question))
        self.wants_country = bool(_WHICH_COUNTRY.search(question))
        # Where the answer is a place, a place phrase is not an extra to cut.
        self.wants_place = self.wants_country or bool(_WHERE.search(question))
        # "how many people were killed in the attacks": the question's words after what it
        # counts, of which a count of anyone must have some beside it.
        self.counted_event = _counted_event(_HOW_MANY.search(question))
        # How many of the counted words ("member countries") the passages' best-named count is
        # followed by: "179 countries" does not answer "how many member countries" when a
        # passage says "196 member countries".
        self.best_count_naming = max(
            (len(self.counted & count.after) for span in spans for count in span.counts),
            default=0,
        )
        # Only a question that asks for two things may be answered from two passages at once:
        # elsewhere, a sentence needing two documents mostly conflates them ("800 delegates" of
        # one meeting at the dates of another).
        self.joins_two = bool(_JOINS_TWO.search(question))
        # The names and numbers the question is about ("Tunis", "2016"). A translation may spell
        # a name its own way ("Hamouche"): only those the original question writes alike count.
        self.anchor_names = names(question)
        self.anchor_numbers = numbers(question)
        if original is not None:
            self.anchor_names &= words(original)
            self.anchor_numbers &= numbers(original)

    def anchored_in(self, written: frozenset[str], passage_numbers: set[str]) -> bool:
        return self.anchor_numbers <= passage_numbers and all(
            mentions(written, name) for name in self.anchor_names
        )

    def type_matches(self, sentence: "_Sentence", span: "_Span") -> bool:
        if self.wants_year and not sentence.has_year:
            return False
        if self.wants_date and not sentence.has_date:
            return False
        if (self.wants_amount or self.counted) and not sentence.counts:
            return False
        if self.wants_person and not sentence.person_names:
            return False
        if self.wants_country and not sentence.countries:
            return False
        if not self.counted:
            return True
        claimed = [count for count in span.counts if count.number in sentence.counts]
        if self.counted & _ANY_COUNT:
            # "How many people were killed": any noun may follow the count, but the event must
            # stand beside it.
            return not self.counted_event or any(
                self.counted_event & count.around for count in claimed
            )
        # A count of the asked thing: one of the claim's numbers, followed closely by its noun,
        # named as fully as any count in the passages is, and as the claim names it ("179
        # countries" does not back "179 member countries").
        needed = max(1, self.best_count_naming)
        naming = {count.number: len(self.counted & count.after) for count in sentence.counted_as}
        return any(
            len(self.counted & count.after) >= max(needed, naming.get(count.number, 0))
            for count in claimed
        )


def _noun_phrase(match: re.Match[str] | None) -> set[str]:
    """The stems of the words after "how many", up to the verb or preposition that ends the
    noun phrase."""
    stems: set[str] = set()
    for word in _WORD_OR_NUMBER.findall(match.group(1)) if match else []:
        if word.lower() in _ENDS_NOUN_PHRASE:
            break
        stems.add(stem(word))
    return stems


def _counted_event(match: re.Match[str] | None) -> set[str]:
    """The first two content words after "how many" other than "people" (or "times"), usually
    its verb ("people were killed in the London attacks" -> kill, london)."""
    if not match:
        return set()
    after = [
        term
        for word in match.string[match.start(1) :].split()
        for term in content_terms(word)
        if term not in _ANY_COUNT
    ]
    return set(after[:2])


def _count_list(text: str) -> list[_Count]:
    """Each number (digits or words) of ``text`` that counts something, with the stems of the
    four words after it (what it counts) and of the four on either side (what it is of)."""
    tokens = _WORD_OR_NUMBER.findall(text)
    stems = [stem(token) for token in tokens]
    return [
        _Count(
            _count(token),
            set(stems[index + 1 : index + 5]),
            set(stems[max(0, index - 4) : index] + stems[index + 1 : index + 5]),
        )
        for index, token in enumerate(tokens)
        if _is_number(token) and not _in_date(tokens, index)
    ]


def _in_date(tokens: list[str], index: int) -> bool:
    """Whether the number at ``index`` is a year or a day beside a month ("16 May", "May 16")."""
    if _YEAR.fullmatch(tokens[index]):
        return True
    beside = tokens[max(0, index - 1) : index] + tokens[index + 1 : index + 3]
    return any(MONTH.fullmatch(token) for token in beside)


def _count(word: str) -> str:
    return word.lower().replace(",", "")


def _counts(text: str) -> set[str]:
    """The numbers of ``text``, in digits or in words ("nine")."""
    return {_count(word) for word in _WORD_OR_NUMBER.findall(text) if _is_number(word)}


def _is_number(word: str) -> bool:
    return word[0].isdigit() or word.lower() in _NUMBER_WORDS


_JOINS_TWO = re.compile(r"\b(?:and|both|respectively|each)\b", re.IGNORECASE)
# Spans of each passage tried in pairs with another passage's.
_PAIR_CANDIDATES = 3
_HOW_MUCH = re.compile(r"\bhow much\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow many ((?:[\w-]+ ){0,2}[\w-]+)", re.IGNORECASE)
_WHICH_YEAR = re.compile(r"\b(?:what|which) year\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_WHO_IS = re.compile(
    r"^\W*who (?:is|was|are|were|will be|has been|heads|headed|leads|led|chairs|chaired)\b",
    re.IGNORECASE,
)
# "which French president", "the name of the fugitive".
_WHICH_PERSON = re.compile(
    r"\b(?:which|what|name of(?: the| a| an)?) (?:[\w-]+ )?(?:president|secretary|director|"
    r"minister|chief|head|commissioner|officer|leader|spokesperson|spokesman|spokeswoman|"
    r"chairman|chairwoman|person|man|woman|fugitive|suspect|victim)\b",
    re.IGNORECASE,
)
# "which country", "which six countries", "what nation".
_WHICH_COUNTRY = re.compile(
    r"\b(?:which|what) (?:[\w-]+ ){0,2}?(?:country|countries|nation|nations)\b", re.IGNORECASE
)
_WHEN = re.compile(r"^\W*when\b|\b(?:what|which) (?:date|day|month)\b", re.IGNORECASE)
_DATE = re.compile(
    _YEAR.pattern + r"|\b\d{1,2}(?:st|nd|rd|th)\b|" + MONTH.pattern + r"|\b(?:mon|tues|wednes|"
    r"thurs|fri|satur|sun)day\b|\b(?:today|yesterday|tomorrow|week|month|year|decade|century)s?\b",
    re.IGNORECASE,
)
_WHERE = re.compile(
    r"\bwhere\b|\b(?:which|what) (?:[\w-]+ )?(?:city|town|country|place|venue|region|location|"
    r"state|province|continent|headquarters|capital|port)\b",
    re.IGNORECASE,
)
# "in Morocco", "at the INTERPOL Global Complex", "from Lyon": a preposition and a capitalised
# name (one or more words), with the comma before it.
_PLACE_PHRASE = re.compile(
    r",?\s+\b(?:in|at|from|near)\s+(?:the\s+)?"
    r"[A-Z][\w'\u2019-]*(?:\s+(?:of\s+)?[A-Z][\w'\u2019-]*)*"
)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b")
_WORD_OR_NUMBER = re.compile(r"\d+(?:[.,]\d+)*|\w+")
# Nouns that any count may answer ("how many people" - "800 delegates").
_ANY_COUNT = {stem(word) for word in ("people", "persons", "times", "individuals")}
_ENDS_NOUN_PHRASE = {
    "were", "was", "are", "is", "did", "do", "does", "have", "has", "had", "will", "would", "can",
    "could", "in", "at", "on", "of", "for", "from", "by", "with", "to", "the", "that", "which",
    "who",
}  # fmt: skip
_NUMBER_WORDS = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
    "thousand", "million", "billion", "dozen", "dozens", "hundreds", "thousands", "millions",
}  # fmt: skip


def _candidate_spans(text: str) -> list[tuple[int, int]]:
    """Each sentence of a passage, and each pair of adjacent sentences."""
    sentences = split_sentences(text)
    singles = [(s.start, s.end) for s in sentences]
    pairs = [(a.start, b.end) for a, b in itertools.pairwise(sentences)]
    return singles + pairs


def _without_places(claim: Claim, asked: "_Asked") -> Claim | None:
    """The claim less its place phrases ("in Morocco", "at the INTERPOL headquarters") that name
    what the question does not, if it has any; never where the answer is a place."""
    if asked.wants_place:
        return None
    kept = _PLACE_PHRASE.sub(
        lambda m: "" if names(m.group()) - asked.words else m.group(), claim.text
    )
    kept = re.sub(r"\s+([,.;:!?])", r"\1", kept).strip()
    return Claim(kept, claim.cited) if kept != claim.text and re.search(r"\w", kept) else None


def _cut(text: str, kept: str) -> str:
    """What ``kept`` leaves out of ``text``, for the record of what was unsupported."""
    matcher = difflib.SequenceMatcher(a=text, b=kept, autojunk=False)
    removed = [text[i1:i2] for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]
    return " … ".join(part.strip(" ,") for part in removed if part.strip(" ,"))
