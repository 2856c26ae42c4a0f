"""The check of a draft that every answerer and ``qa calibrate`` share (``DraftCheck``): the
draft's own check, the quote fallback when nothing of it holds up, and refusals left alone."""

from collections.abc import Iterator, Sequence

import pytest

from qa_service.answering.checking import DraftCheck
from qa_service.answering.timing import Stopwatch
from qa_service.citations.checker import CitationChecker
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.generation.prompts import Prompts

TEXT = (
    "Police chiefs from 12 countries met at INTERPOL headquarters in Lyon in May. "
    "Abdellatif Hammouchi chaired the Moroccan delegation."
)
PASSAGES = [Passage("a#v#0", "a", "Police chiefs meet in Lyon", TEXT, 0, len(TEXT), 1.0)]
QUESTION = "Who chaired the Moroccan delegation?"
PROMPTS = Prompts()


class Quote:
    """A fallback composer that writes ``text``, and counts how often it was asked."""

    name = "quote"

    def __init__(self, text: str) -> None:
        self.text = text
        self.asked = 0

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        self.asked += 1
        yield self.text

    def warm_up(self) -> None:
        pass


@pytest.fixture(scope="module")
def checker(embedder: Embedder) -> CitationChecker:
    return CitationChecker(embedder)


def test_a_supported_draft_is_kept_and_the_fallback_not_asked(checker: CitationChecker) -> None:
    fallback = Quote("Abdellatif Hammouchi chaired the Moroccan delegation [1].")
    settled = DraftCheck(checker, PROMPTS, fallback).run(
        "Abdellatif Hammouchi chaired it [1].", PASSAGES, QUESTION
    )
    assert settled.kept is settled.checked and settled.refusal_reason is None
    assert fallback.asked == 0 and settled.quoted is None


def test_an_unsupported_draft_is_replaced_by_a_checked_quote(checker: CitationChecker) -> None:
    fallback = Quote("Abdellatif Hammouchi chaired the Moroccan delegation [1].")
    clock = Stopwatch()
    settled = DraftCheck(checker, PROMPTS, fallback).run(
        "The Moroccan delegation was chaired [1].", PASSAGES, QUESTION, stopwatch=clock
    )
    assert not settled.checked.supported
    assert settled.kept is settled.quoted and settled.kept is not None
    assert (
        settled.kept.citations[0].quote == "Abdellatif Hammouchi chaired the Moroccan delegation."
    )
    # The draft's own verdict stays on record: what was removed and why the quote was used.
    assert settled.checked.unsupported == ["The Moroccan delegation was chaired."]
    assert list(clock.timings) == ["generate", "check", "fallback"]


def test_a_draft_that_says_the_documents_do_not_say_is_not_overruled(
    checker: CitationChecker,
) -> None:
    fallback = Quote("Abdellatif Hammouchi chaired the Moroccan delegation [1].")
    settled = DraftCheck(checker, PROMPTS, fallback).run(PROMPTS.refusal("en"), PASSAGES, QUESTION)
    assert settled.kept is None and settled.refusal_reason == "composer"
    assert fallback.asked == 0


def test_a_fallback_that_itself_refuses_is_not_checked(checker: CitationChecker) -> None:
    fallback = Quote(PROMPTS.refusal("en"))
    settled = DraftCheck(checker, PROMPTS, fallback).run(
        "The Moroccan delegation was chaired [1].", PASSAGES, QUESTION
    )
    assert fallback.asked == 1 and settled.quoted is None
    assert settled.kept is None and settled.refusal_reason == "unsupported"


def test_without_a_fallback_an_unsupported_draft_is_a_refusal(checker: CitationChecker) -> None:
    settled = DraftCheck(checker, PROMPTS).run(
        "The Moroccan delegation was chaired [1].", PASSAGES, QUESTION
    )
    assert settled.kept is None and settled.refusal_reason == "unsupported"
