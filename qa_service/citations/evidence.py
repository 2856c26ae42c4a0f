"""What the rules compare: the question (what it asks and already says), a claim of the answer
(what it adds beyond the question), and a candidate span of a passage, each read once."""

import copy
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

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
class Count:
    """A number that counts something, with the stems of the four words after it (what it
    counts) and of the four on either side (what it is of)."""

    number: str
    after: frozenset[str]
    around: frozenset[str]


class Title:
    def __init__(self, title: str) -> None:
        self.words = words(title)
        self.terms = content_terms(title)


class SpanFacts:
    """A candidate quote (one passage sentence, or two adjacent ones), with the word sets every
    claim is compared against."""

    def __init__(self, passage: int, start: int, end: int, text: str, title: Title) -> None:
        self.passage, self.start, self.end, self.text = passage, start, end, text
        self.terms = content_terms(text)
        self.numbers = numbers(text)
        self.words = words(text)
        self.counts = count_list(text)
        self.title_words = title.words
        self.title_terms = title.terms

    def joined(self, other: "SpanFacts") -> "SpanFacts":
        """The two spans read together (the offsets stay this one's)."""
        both = copy.copy(self)
        both.terms = self.terms | other.terms
        both.numbers = self.numbers | other.numbers
        both.words = self.words | other.words
        both.counts = self.counts + other.counts
        both.title_words = self.title_words | other.title_words
        both.title_terms = self.title_terms | other.title_terms
        return both


class Asked:
    """What the question already says (echoing it in the answer is context, not a claim), and
    the kind of answer it wants where its wording shows it."""

    def __init__(
        self, question: str, spans: Sequence[SpanFacts], original: str | None = None
    ) -> None:
        self.text = question
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
        # A question that asks for two things ("... and ...") may be answered from two passages.
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


class ClaimFacts:
    """What a sentence of the answer claims beyond the question: its new content words (stemmed),
    numbers and names, and the shape of its answer."""

    def __init__(self, text: str, asked: Asked) -> None:
        self.text = text
        self.terms = content_terms(text) - asked.terms
        self.numbers = numbers(text) - asked.numbers
        self.names = names(text) - asked.words
        self.has_year = bool(YEAR.search(text))
        self.has_date = bool(DATE.search(text))
        self.counts = _counts(text)
        self.counted_as = count_list(text)
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
            if not DATE.fullmatch(name) and not is_place(name)
        }


def candidate_spans(text: str) -> list[tuple[int, int]]:
    """Each sentence of a passage, and each pair of adjacent sentences."""
    sentences = split_sentences(text)
    singles = [(s.start, s.end) for s in sentences]
    pairs = [(a.start, b.end) for a, b in itertools.pairwise(sentences)]
    return singles + pairs


def count_list(text: str) -> list[Count]:
    """Each number (digits or words) of ``text`` that counts something (not a year, not a day
    beside a month)."""
    tokens = _WORD_OR_NUMBER.findall(text)
    stems = [stem(token) for token in tokens]
    return [
        Count(
            _count(token),
            frozenset(stems[index + 1 : index + 5]),
            frozenset(stems[max(0, index - 4) : index] + stems[index + 1 : index + 5]),
        )
        for index, token in enumerate(tokens)
        if _is_number(token) and not _in_date(tokens, index)
    ]


def without_places(text: str, asked: Asked) -> str | None:
    """``text`` less its place phrases ("in Morocco", "at the INTERPOL headquarters") that name
    what the question does not, if it has any."""
    kept = _PLACE_PHRASE.sub(lambda m: "" if names(m.group()) - asked.words else m.group(), text)
    kept = re.sub(r"\s+([,.;:!?])", r"\1", kept).strip()
    return kept if kept != text and re.search(r"\w", kept) else None


# Nouns that any count may answer ("how many people" - "800 delegates").
ANY_COUNT = frozenset(stem(word) for word in ("people", "persons", "times", "individuals"))
YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
DATE = re.compile(
    YEAR.pattern + r"|\b\d{1,2}(?:st|nd|rd|th)\b|" + MONTH.pattern + r"|\b(?:mon|tues|wednes|"
    r"thurs|fri|satur|sun)day\b|\b(?:today|yesterday|tomorrow|week|month|year|decade|century)s?\b",
    re.IGNORECASE,
)


def _noun_phrase(match: re.Match[str] | None) -> frozenset[str]:
    """The stems of the words after "how many", up to the verb or preposition that ends the
    noun phrase."""
    stems: set[str] = set()
    for word in _WORD_OR_NUMBER.findall(match.group(1)) if match else []:
        if word.lower() in _ENDS_NOUN_PHRASE:
            break
        stems.add(stem(word))
    return frozenset(stems)


def _counted_event(match: re.Match[str] | None) -> frozenset[str]:
    """The first two content words after "how many" other than "people" (or "times"), usually
    its verb ("people were killed in the London attacks" -> kill, london)."""
    if not match:
        return frozenset()
    after = [
        term
        for word in match.string[match.start(1) :].split()
        for term in content_terms(word)
        if term not in ANY_COUNT
    ]
    return frozenset(after[:2])


def _in_date(tokens: list[str], index: int) -> bool:
    """Whether the number at ``index`` is a year or a day beside a month ("16 May", "May 16")."""
    if YEAR.fullmatch(tokens[index]):
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
_HOW_MUCH = re.compile(r"\bhow much\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow many ((?:[\w-]+ ){0,2}[\w-]+)", re.IGNORECASE)
_WHICH_YEAR = re.compile(r"\b(?:what|which) year\b", re.IGNORECASE)
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
