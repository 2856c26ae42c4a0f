"""The answer pipeline end to end in extractive mode: real store, model, checker, prompts."""

import re

import pytest

from qa_service.answer import Question, QuestionError, Turn
from qa_service.core.config import Settings
from qa_service.core.schema import Filters
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS


@pytest.fixture
def answering(services: Services) -> Services:
    services.settings = services.settings.model_copy(update={"llm": "extractive"})
    services.ingestor.run([INTERPOL_NEWS])
    return services


def document_text(doc_id: str) -> str:
    return (INTERPOL_NEWS / doc_id).read_text(encoding="utf-8")


def test_an_answer_cites_exact_quotes(answering: Services) -> None:
    answer = answering.answerer.run(Question("Who chaired the Moroccan delegation in Lyon?"))
    assert not answer.refused and "Hammouchi" in answer.answer
    assert answer.citations and "[1]" in answer.answer
    for citation in answer.citations:
        assert document_text(citation.doc_id)[citation.start : citation.end] == citation.quote
        assert f"[{citation.n}]" in answer.answer
    assert answer.passages and answer.timings_ms["total"] > 0
    # The draft is kept beside the checked answer; every checked sentence comes from it.
    assert "Hammouchi" in answer.draft


def test_off_topic_questions_are_refused(answering: Services) -> None:
    answer = answering.answerer.run(Question("What is the boiling point of water on Mars?"))
    assert answer.refused and answer.citations == []
    assert answer.answer == "The documents don't say."
    assert answer.refusal_reason == "retrieval" and answer.draft == ""


def test_refusal_in_the_question_language(answering: Services) -> None:
    answer = answering.answerer.run(Question("ما هي عاصمة البيرو؟"))
    assert answer.refused and answer.language == "ar" and answer.answer == "الوثائق لا تذكر ذلك."


def test_filters_restrict_what_can_be_cited(answering: Services) -> None:
    only = Filters(doc_ids=("004_310e22f54dfcc9c5.txt",))
    answer = answering.answerer.run(Question("Who chaired the Moroccan delegation?", filters=only))
    assert all(c.doc_id == "004_310e22f54dfcc9c5.txt" for c in answer.citations)
    assert all(p.doc_id == "004_310e22f54dfcc9c5.txt" for p in answer.passages)


def test_history_carries_context_into_retrieval_without_a_model(answering: Services) -> None:
    history = (
        Turn("user", "Who chaired the Moroccan delegation at the Lyon meeting?"),
        Turn("assistant", "Abdellatif Hammouchi [1]."),
    )
    answer = answering.answerer.run(Question("What did he visit there?", history=history))
    assert "Moroccan delegation" in answer.standalone_question
    assert "Command and Coordination Centre" in answer.answer


@pytest.mark.parametrize(
    ("text", "message"), [("   ", "empty"), ("x" * 2001, "too long (2001 characters")]
)
def test_bad_questions_are_rejected_clearly(answering: Services, text: str, message: str) -> None:
    with pytest.raises(QuestionError, match=re.escape(message)):
        answering.answerer.run(Question(text))


def test_stream_yields_tokens_then_the_answer(answering: Services) -> None:
    events = list(answering.answerer.stream(Question("Where is INTERPOL's headquarters?")))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and "token" in kinds
    assert kinds.index("done") > max(i for i, kind in enumerate(kinds) if kind == "token")


def test_settings_choose_extractive_without_loading_a_language_model(settings: Settings) -> None:
    services = Services(settings.model_copy(update={"llm": "extractive"}))
    assert services.generator is None
