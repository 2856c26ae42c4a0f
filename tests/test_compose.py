"""The extractive composer (the composer without a model, and the quote fallback with one)."""

import pytest

from qa_service.cite import answer_shape_fits
from qa_service.compose import ExtractiveComposer
from qa_service.core.embedder import Embedder
from qa_service.core.schema import Passage
from qa_service.prompts import Prompts
from qa_service.sentences import split_sentences


def whole(doc_id: str, title: str, text: str) -> Passage:
    return Passage(f"{doc_id}#v#0", doc_id, title, text, 0, len(text), 0.5)


@pytest.fixture(scope="module")
def quoter(embedder: Embedder) -> ExtractiveComposer:
    return ExtractiveComposer(embedder, Prompts(), fits=answer_shape_fits)


def quote(quoter: ExtractiveComposer, question: str, passages: list[Passage]) -> str:
    return "".join(quoter.stream(question, passages))


def test_a_title_line_is_a_sentence_of_its_own() -> None:
    text = "Ex on the Beach\n\nEx on the Beach is a reality series. It is broadcast on MTV.\n"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Ex on the Beach",
        "Ex on the Beach is a reality series.",
        "It is broadcast on MTV.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_the_title_line_is_not_quoted_as_an_answer(quoter: ExtractiveComposer) -> None:
    siege = whole("siege.txt", "Siege of Petersburg", "Siege of Petersburg\n\nIt lasted 292 days.")
    answer = quote(quoter, "Where was the longest siege of the war?", [siege])
    assert "Siege of Petersburg [1]" not in answer


def test_the_title_tells_what_a_sentence_is_about(quoter: ExtractiveComposer) -> None:
    # "It" is the Silver Notice: the sentence of the document titled so is quoted, not the
    # one that repeats the question's words about something else.
    notice = whole(
        "notice.txt", "Silver Notice", "Silver Notice\n\nIt traces assets of criminals abroad."
    )
    other = whole("other.txt", "Red Notice", "Red Notice\n\nNotices are issued by police.")
    answer = quote(quoter, "What is the Silver Notice used for?", [other, notice])
    assert answer == "It traces assets of criminals abroad. [2]"


def test_only_sentences_of_the_asked_kind_are_quoted(quoter: ExtractiveComposer) -> None:
    text = (
        "The General Assembly will focus on global security challenges. "
        "The four-day conference ran from 24 to 27 November."
    )
    assembly = whole("assembly.txt", "General Assembly", text)
    answer = quote(quoter, "When did the General Assembly run?", [assembly])
    assert answer == "The four-day conference ran from 24 to 27 November. [1]"


def test_a_runner_up_from_another_document_is_left_out(quoter: ExtractiveComposer) -> None:
    lyon = whole("lyon.txt", "Lyon meeting", "The meeting in Lyon discussed drone threats.")
    tunis = whole("tunis.txt", "Tunis meeting", "The meeting in Tunis discussed drone threats too.")
    answer = quote(quoter, "Which threats did the meeting in Lyon discuss?", [lyon, tunis])
    assert answer == "The meeting in Lyon discussed drone threats. [1]"
