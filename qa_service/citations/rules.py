"""The citation checker's rules: each a small named object with the reason it exists.

Three kinds, by what they judge:
- span rules: whether one passage span may back one claim (``check(asked, claim, span)``). A
  span that fails one gives the claim no lexical support, so it cannot back it;
- second chances, tried when no single span backs a claim as written (``applies(asked)``; the
  checker does the work): cut the place the question did not ask about, read two passages
  together, cite the passage that supports rather than the one the model named;
- answer rules, on what the answer cites as a whole (the documents must be about the question),
  and on the draft (the quote fallback).

``RuleSet`` is the registry with some rules turned off by name (``qa eval --rules``), so each
rule's effect can be measured on every dataset (the ablation table of the eval report).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from qa_service.citations.evidence import ANY_COUNT, Asked, ClaimFacts, SpanFacts


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""


PASS = Verdict(True)


class Rule:
    """A named rule; ``why`` says what it guards against."""

    name: ClassVar[str]
    why: ClassVar[str]

    def applies(self, asked: Asked) -> bool:
        return True


class SpanRule(Rule):
    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        raise NotImplementedError


class NumbersInSpan(SpanRule):
    name = "numbers_in_span"
    why = "an invented number (a date, a count) is the costliest error a summary can make"

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        missing = claim.numbers - span.numbers
        return Verdict(False, f"the span lacks {_listed(missing)}") if missing else PASS


class NamesInSpan(SpanRule):
    name = "names_in_span"
    why = "a name the span does not hold (a person, a place) is someone else's fact"

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        missing = claim.names - span.words - span.title_words
        return Verdict(False, f"the span lacks {_listed(missing)}") if missing else PASS


class YearForWhichYear(SpanRule):
    name = "year_for_which_year"
    why = '"which year" is answered by a year, not by a sentence about the event'

    def applies(self, asked: Asked) -> bool:
        return asked.wants_year

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        return PASS if claim.has_year else Verdict(False, "the question asks which year")


class DateForWhen(SpanRule):
    name = "date_for_when"
    why = '"It was held in Morocco" does not answer "when"'

    def applies(self, asked: Asked) -> bool:
        return asked.wants_date

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        return PASS if claim.has_date else Verdict(False, "the question asks when")


class NumberForHowMany(SpanRule):
    name = "number_for_how_many"
    why = '"how many" and "how much" are answered by a number'

    def applies(self, asked: Asked) -> bool:
        return asked.wants_amount or asked.wants_count

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        return PASS if claim.counts else Verdict(False, "the question asks how many or how much")


class PersonForWho(SpanRule):
    name = "person_for_who"
    why = '"who is" and "which president" want a name the question does not hold'

    def applies(self, asked: Asked) -> bool:
        return asked.wants_person

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        return PASS if claim.person_names else Verdict(False, "the question asks who")


class CountryForWhichCountry(SpanRule):
    name = "country_for_which_country"
    why = '"which country" wants a country the question does not name'

    def applies(self, asked: Asked) -> bool:
        return asked.wants_country

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        return PASS if claim.countries else Verdict(False, "the question asks which country")


class CountOfTheAskedThing(SpanRule):
    name = "count_of_the_asked_thing"
    why = (
        '"320 firearms" does not answer "how many arrests"; "179 countries" does not answer '
        '"how many member countries" when a passage says "196 member countries"'
    )

    def applies(self, asked: Asked) -> bool:
        return bool(asked.counted_noun) and asked.counted_noun not in ANY_COUNT

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        # One of the claim's numbers counting, in the span, the asked thing, named as fully as
        # any count in the passages is, and as the claim names it.
        needed = max(1, asked.best_count_naming)
        naming = {count.number: len(asked.counted & count.naming) for count in claim.counted_as}
        if any(
            len(asked.counted & count.naming) >= max(needed, naming.get(count.number, 0))
            for count in span.counts
            if count.number in claim.counts
        ):
            return PASS
        return Verdict(False, f"no number of the claim counts {_listed(asked.counted)} here")


class EventBesideCount(SpanRule):
    name = "event_beside_count"
    why = '"170 officials attending" is not the answer to "how many people were killed"'

    def applies(self, asked: Asked) -> bool:
        return asked.counted_noun in ANY_COUNT and bool(asked.counted_event)

    def check(self, asked: Asked, claim: ClaimFacts, span: SpanFacts) -> Verdict:
        if any(
            asked.counted_event & count.event
            for count in span.counts
            if count.number in claim.counts
        ):
            return PASS
        return Verdict(
            False, f"no number of the claim stands beside {_listed(asked.counted_event)}"
        )


class SecondChance(Rule):
    """Applies or not; the checker does the work."""


class CiteTheSupportingPassage(SecondChance):
    name = "cite_the_supporting_passage"
    why = "a small model puts the wrong citation number on a right sentence"


class CutUnaskedPlaces(SecondChance):
    name = "cut_unasked_places"
    why = 'a small model adds a wrong place to a right sentence ("held in Morocco from May 16")'

    def applies(self, asked: Asked) -> bool:
        return not asked.wants_place  # where the answer is a place, the place is not an extra


class JoinTwoPassages(SecondChance):
    name = "join_two_passages"
    why = (
        "a question asking for two things may need a sentence from two documents; elsewhere such"
        " a sentence mostly conflates them (one meeting's delegates at another's dates)"
    )

    def applies(self, asked: Asked) -> bool:
        return asked.joins_two


class CitedDocumentsAboutQuestion(Rule):
    name = "cited_documents_about_question"
    why = "an answer from the article about another meeting answers another question"

    def applies(self, asked: Asked) -> bool:
        # A question asking for two things names both documents' subjects, while the answer may
        # cite one of them.
        return not asked.joins_two and bool(asked.anchor_names or asked.anchor_numbers)

    def check(self, asked: Asked, written: frozenset[str], numbers: set[str]) -> Verdict:
        if asked.anchored_in(written, numbers):
            return PASS
        return Verdict(False, "the documents cited do not mention what the question names")


class QuoteFallback(Rule):
    name = "quote_fallback"
    why = (
        "when no sentence of a draft holds up, the passage sentences closest to the question, "
        "quoted and checked, often answer"
    )


SPAN_RULES: tuple[SpanRule, ...] = (
    NumbersInSpan(),
    NamesInSpan(),
    YearForWhichYear(),
    DateForWhen(),
    NumberForHowMany(),
    PersonForWho(),
    CountryForWhichCountry(),
    CountOfTheAskedThing(),
    EventBesideCount(),
)
CITE_THE_SUPPORTING_PASSAGE = CiteTheSupportingPassage()
CUT_UNASKED_PLACES = CutUnaskedPlaces()
JOIN_TWO_PASSAGES = JoinTwoPassages()
CITED_DOCUMENTS_ABOUT_QUESTION = CitedDocumentsAboutQuestion()
QUOTE_FALLBACK = QuoteFallback()
RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        *SPAN_RULES,
        CITE_THE_SUPPORTING_PASSAGE,
        CUT_UNASKED_PLACES,
        JOIN_TWO_PASSAGES,
        CITED_DOCUMENTS_ABOUT_QUESTION,
        QUOTE_FALLBACK,
    )
}
# The name of the base measure in a verdict trail: not a rule that can be turned off.
SUPPORT = "support"


class RuleSet:
    """The rules in force: all of them, less those turned off by name.

    >>> RuleSet(off=["quote_fallback"]).on("quote_fallback")
    False
    >>> RuleSet(off=["no_such_rule"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown rule no_such_rule: choose from numbers_in_span, names_in_span, ...
    """

    def __init__(self, off: Iterable[str] = ()) -> None:
        self.off = frozenset(off)
        unknown = sorted(self.off - RULES.keys())
        if unknown:
            raise ValueError(f"unknown rule {', '.join(unknown)}: choose from {', '.join(RULES)}")

    def on(self, name: str) -> bool:
        return name not in self.off

    def applies(self, rule: Rule, asked: Asked) -> bool:
        return self.on(rule.name) and rule.applies(asked)

    def span_rules(self, asked: Asked) -> tuple[SpanRule, ...]:
        return tuple(rule for rule in SPAN_RULES if self.applies(rule, asked))


def _listed(items: Iterable[str]) -> str:
    return ", ".join(f'"{item}"' for item in sorted(items))
