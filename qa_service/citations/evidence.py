"""What the rules compare: the question (what it asks and already says), a claim of the answer
(what it adds beyond the question), and a candidate span of a passage, each read once.

Names, dates, places, people and what a number counts come from spaCy's parse
(``text.analysis``); the kind of answer a question wants, from its wording ("which year",
"who is").
"""

import copy
import itertools
import re
from collections.abc import Sequence

from qa_service.text.analysis import PLACES, Analysis, Count, analyse, how_many
from qa_service.text.language import detect_language
from qa_service.text.places import countries
from qa_service.text.question_forms import question_forms
from qa_service.text.sentences import content_terms, mentions, numbers, split_sentences, words

# What "how many people" may be answered by: a count of anyone ("800 delegates").
ANY_COUNT = frozenset({"people", "person", "individual", "time"})
YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")


def _word_set(text: str) -> frozenset[str]:
    """Every word of ``text``, lowercased, and the parts of those joined by underscores: the
    parser splits "QA_" into "QA" and "_"."""
    return words(text) | frozenset(re.findall(r"[^\W_]+", text.lower()))


class Title:
    def __init__(self, title: str) -> None:
        self.words = _word_set(title)
        self.terms = content_terms(title)


class SpanFacts:
    """A candidate quote (one passage sentence, or two adjacent ones), with the word sets every
    claim is compared against. ``analysis`` is the span's part of its passage's analysis
    (parsed whole, so each sentence is read in its context); by default the span's own."""

    def __init__(
        self,
        passage: int,
        start: int,
        end: int,
        text: str,
        title: Title,
        analysis: Analysis | None = None,
    ) -> None:
        self.passage, self.start, self.end, self.text = passage, start, end, text
        self.terms = content_terms(text)
        self.numbers = numbers(text)
        self.words = _word_set(text)
        self.counts = (analysis or analyse(text)).counts
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
        self.terms = content_terms(question)
        # What the asker wrote is said too when a translation lost it ("Dialogue de Tunis" for
        # "the Tunisian dialogue"): an answer naming it adds no name or number to check.
        self.numbers = numbers(question) | (numbers(original) if original else set())
        self.words = words(question) | (words(original) if original else frozenset())
        # What kind of answer is wanted, from the question as it was asked: a translation may
        # lose "which year" ("When ...") or add an "and" ("Middle East and North Africa").
        forms = (
            question_forms(question)
            if original is None
            else question_forms(original, detect_language(original))
        )
        counted = how_many(question) if "count" in forms else None
        # "how many core cybersecurity principles": the words naming what is counted, and the
        # event it takes part in ("how many people were killed in the attacks": kill).
        self.counted = counted.naming if counted else frozenset()
        self.counted_noun = counted.noun if counted else ""
        self.counted_event = frozenset({counted.verb}) if counted and counted.verb else frozenset()
        self.wants_count = "count" in forms
        self.wants_year = "year" in forms
        self.wants_date = "date" in forms
        self.wants_amount = "amount" in forms
        self.wants_person = "person" in forms
        self.wants_country = "country" in forms
        # Where the answer is a place, a place phrase is not an extra to cut.
        self.wants_place = "place" in forms
        # How many of the counted words ("member countries") the passages' best-named count
        # has: "179 countries" does not answer "how many member countries" when a passage
        # says "196 member countries".
        self.best_count_naming = max(
            (len(self.counted & count.naming) for span in spans for count in span.counts),
            default=0,
        )
        # A question that asks for two things ("... and ...") may be answered from two passages.
        self.joins_two = "two" in forms
        # The names and numbers the question is about ("Tunis", "2016"). A translation may spell
        # a name its own way ("Hamouche"): only those the original question writes alike count,
        # or that the passages write so (the translation found the documents' spelling: "Lyon"
        # for "ليون").
        self.anchor_names = analyse(question).name_words
        self.anchor_numbers = numbers(question)
        if original is not None:
            written = words(original) | {word for span in spans for word in span.words}
            self.anchor_names &= written
            self.anchor_numbers &= numbers(original)

    def anchored_in(self, written: frozenset[str], passage_numbers: set[str]) -> bool:
        return self.anchor_numbers <= passage_numbers and all(
            mentions(written, name) for name in self.anchor_names
        )

    def names(self, words_of: str) -> bool:
        """Whether the question already names every word of ``words_of``."""
        return all(word in self.words for word in words(words_of))


class ClaimFacts:
    """What a sentence of the answer claims beyond the question: its new content words (stemmed),
    numbers and names, and the shape of its answer."""

    def __init__(self, text: str, asked: Asked) -> None:
        found = analyse(text)
        self.terms = content_terms(text) - asked.terms
        self.numbers = numbers(text) - asked.numbers
        self.names = found.name_words - asked.words
        dates = found.labelled(["DATE", "TIME"])
        self.has_date = bool(dates)
        self.has_year = any(YEAR.search(date.text) for date in dates)
        self.counted_as: tuple[Count, ...] = found.counts
        self.counts = {count.number for count in found.counts}
        # Countries from the ISO list rather than spaCy's places: its small model reads "North
        # Africa" as a country-like place and "Morocco" opening a sentence as an organisation.
        # "Austria" is named by a question about "the Austrian police": inflections count.
        self.countries = {
            country
            for country in countries(text)
            if not all(mentions(asked.words, word) for word in words(country))
        }
        # Someone's name: the small model often reads a person's name after a verb as an
        # organisation's ("The fugitive was Marko Horvat"), never as a country or an acronym.
        self.person_names = {
            entity.text
            for entity in found.labelled(["PERSON", "ORG"])
            if (entity.label == "PERSON" or not entity.text.isupper())
            and not countries(entity.text)
            and not asked.names(entity.text)
        }


def candidate_spans(text: str) -> list[tuple[int, int]]:
    """Each sentence of a passage, and each pair of adjacent sentences."""
    sentences = split_sentences(text)
    singles = [(s.start, s.end) for s in sentences]
    pairs = [(a.start, b.end) for a, b in itertools.pairwise(sentences)]
    return singles + pairs


def without_places(text: str, asked: Asked) -> str | None:
    """``text`` less its place phrases ("in Morocco", "at the INTERPOL headquarters") that name
    what the question does not, if it has any."""
    found = analyse(text)
    cuts: list[tuple[int, int]] = []
    for place in found.labelled([*PLACES, "ORG"]):
        if asked.names(place.text):
            continue
        phrase = _place_phrase(text, place.start, place.end)
        if phrase is not None:
            cuts.append(phrase)
    if not cuts:
        return None
    kept = text
    for start, end in sorted(set(cuts), reverse=True):
        kept = kept[:start] + kept[end:]
    kept = re.sub(r"\s+([,.;:!?])", r"\1", kept).strip()
    return kept if kept != text and re.search(r"\w", kept) else None


def _place_phrase(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The phrase "in/at/from/near [the] PLACE" around a place named at ``[start, end)``, with the
    comma or space before it."""
    before = re.search(r",?\s+(?:in|at|from|near)\s+(?:the\s+)?$", text[:start])
    if before is None:
        return None
    # The rest of a name that runs on past the entity ("the INTERPOL Global Complex").
    rest = re.match(r"(?:\s+(?:of\s+)?[A-Z][\w'\u2019-]*)*", text[end:])
    return before.start(), end + (rest.end() if rest else 0)
