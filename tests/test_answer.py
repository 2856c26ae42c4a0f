"""The answer pipeline end to end in extractive mode: real store, model, checker, prompts."""

import re
from collections.abc import Iterator, Sequence

import pytest

from qa_service.answering.answer import Answer, AnswerText
from qa_service.answering.compose import Composer, ExtractiveComposer
from qa_service.answering.question import Question, QuestionError, Turn
from qa_service.answering.service import AnswerService
from qa_service.citations.checker import CitationChecker
from qa_service.core.config import Settings
from qa_service.core.schema import Filters, Passage
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS


@pytest.fixture
def answering(extractive: Services) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    return extractive


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


def test_stream_says_what_it_does_then_gives_checked_text_then_the_answer(
    answering: Services,
) -> None:
    events = list(answering.answerer.stream(Question("Where is INTERPOL's headquarters?")))
    kinds = [kind for kind, _ in events]
    stages = [value for kind, value in events if kind == "status"]
    assert stages == ["searching", "writing", "checking"]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and "token" in kinds
    assert kinds.index("done") > max(i for i, kind in enumerate(kinds) if kind == "token")
    answer = events[-1][1]
    assert isinstance(answer, Answer)
    pieces = [value for kind, value in events if isinstance(value, AnswerText)]
    # The tokens are the answer, its markers and citations included, nothing more.
    assert "".join(piece.text for piece in pieces) == answer.answer
    shown = {citation.n: citation for piece in pieces for citation in piece.citations}
    assert sorted(shown.values(), key=lambda citation: citation.n) == answer.citations


class Typist:
    """A composer that writes its draft a few characters at a time, as a model does, and notes
    how much it had written when each event of the answer service came out."""

    name = "typist"

    def __init__(self, draft: str) -> None:
        self.draft = draft
        self.written = 0

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        for start in range(0, len(self.draft), 3):
            self.written = start + 3
            yield self.draft[start : start + 3]

    def warm_up(self) -> None:
        pass


def test_a_sentence_that_does_not_hold_up_is_never_sent(answering: Services) -> None:
    kept = "Abdellatif Hammouchi chaired the Moroccan delegation [1]."
    invented = "He was accompanied by 45 ministers from Brazil [2]."
    typist = Typist(f"{kept} {invented} The meeting ended with a dinner.")
    service = pipeline(answering, typist, fallback=True)
    written_at_first_token = None
    events = []
    for kind, value in service.stream(DELEGATION):
        if kind == "token" and written_at_first_token is None:
            written_at_first_token = typist.written
        events.append((kind, value))
    answer = events[-1][1]
    assert isinstance(answer, Answer) and not answer.refused and not answer.quoted
    streamed = "".join(value.text for _, value in events if isinstance(value, AnswerText))
    assert streamed == answer.answer and streamed.startswith("Abdellatif Hammouchi chaired")
    assert "Brazil" not in streamed and "dinner" not in streamed
    assert answer.unsupported == [
        "He was accompanied by 45 ministers from Brazil.",
        "The meeting ended with a dinner.",
    ]
    # The verdict trail: which rule kept or dropped each sentence, and why.
    first, second, third = answer.checks
    assert (first.kept, first.rule) == (True, "support")
    assert first.reason.startswith("passage ") and " scores " in first.reason
    assert (second.kept, second.rule) == (False, "numbers_in_span")
    assert second.reason.endswith('the span lacks "45"')
    assert not third.kept and all(check.source == "draft" for check in answer.checks)
    # The kept sentence went out while the model was still writing the rest.
    assert written_at_first_token is not None and written_at_first_token < len(typist.draft)
    assert "first_sentence" in answer.timings_ms and "first_token" in answer.timings_ms


def test_a_stream_that_refuses_sends_no_text(answering: Services) -> None:
    typist = Typist("The Moroccan delegation was chaired [1]. By someone [1].")
    service = pipeline(answering, typist, fallback=False)
    events = list(service.stream(DELEGATION))
    assert [kind for kind, _ in events if kind != "status"] == ["done"]
    answer = events[-1][1]
    assert isinstance(answer, Answer) and answer.refused


def test_settings_choose_extractive_without_loading_a_language_model(settings: Settings) -> None:
    services = Services(settings.model_copy(update={"llm": "extractive"}))
    assert services.generator is None


class ScriptedComposer:
    """Writes the same draft whatever it is asked: a stand-in for a model's known failures."""

    name = "scripted"

    def __init__(self, draft: str) -> None:
        self.draft = draft

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.draft

    def warm_up(self) -> None:
        pass


def pipeline(services: Services, draft: str | Composer, fallback: bool) -> AnswerService:
    """The answer service with a composer whose draft is known (``draft`` whole, or a
    composer that writes it)."""
    extractive = ExtractiveComposer(services.embedder, services.prompts)
    return AnswerService(
        services.retriever,
        ScriptedComposer(draft) if isinstance(draft, str) else draft,
        CitationChecker(services.embedder, document_text=services.store.document_text),
        services.prompts,
        fallback=extractive if fallback else None,
    )


DELEGATION = Question("Who chaired the Moroccan delegation at the Lyon meeting?")
RESTATED = "The Moroccan delegation at the Lyon meeting was chaired [1]."


def test_a_draft_that_holds_up_nowhere_falls_back_to_a_quote(answering: Services) -> None:
    answer = pipeline(answering, RESTATED, fallback=True).run(DELEGATION)
    assert not answer.refused and answer.quoted
    assert "Hammouchi chaired the Moroccan delegation" in answer.answer
    assert answer.citations and "[1]" in answer.answer
    for citation in answer.citations:
        assert document_text(citation.doc_id)[citation.start : citation.end] == citation.quote
    # What the model wrote, and why it was not used, stay on record.
    assert answer.draft == RESTATED
    assert answer.unsupported == ["The Moroccan delegation at the Lyon meeting was chaired."]
    draft_checks = [check for check in answer.checks if check.source == "draft"]
    quote_checks = [check for check in answer.checks if check.source == "quote"]
    assert [check.kept for check in draft_checks] == [False]
    kept = [check.sentence for check in quote_checks if check.kept]
    assert any("Hammouchi chaired the Moroccan delegation" in sentence for sentence in kept)


def test_without_the_fallback_an_unsupported_draft_is_refused(answering: Services) -> None:
    answer = pipeline(answering, RESTATED, fallback=False).run(DELEGATION)
    assert answer.refused and answer.refusal_reason == "unsupported" and not answer.quoted


def test_a_model_that_finds_no_answer_is_not_overruled(answering: Services) -> None:
    answer = pipeline(answering, "The documents don't say.", fallback=True).run(DELEGATION)
    assert answer.refused and answer.refusal_reason == "composer" and not answer.citations


def test_a_supported_draft_is_not_replaced(answering: Services) -> None:
    draft = "Abdellatif Hammouchi chaired the Moroccan delegation [1]."
    answer = pipeline(answering, draft, fallback=True).run(DELEGATION)
    assert not answer.quoted and answer.answer.startswith("Abdellatif Hammouchi chaired")


def test_the_fallback_is_on_for_a_language_model_only(settings: Settings) -> None:
    extractive = Services(settings.model_copy(update={"llm": "extractive"}))
    assert extractive.answerer.fallback is None
    # Nothing listens there: building the service does not call the model.
    served = settings.model_copy(
        update={"llm": "openai", "llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "any"}
    )
    assert isinstance(Services(served).answerer.fallback, ExtractiveComposer)
    off = Services(served.model_copy(update={"quote_fallback": False}))
    assert off.answerer.fallback is None
