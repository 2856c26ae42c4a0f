"""Evidence first: what the language model is shown of the passages."""

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from langchain_core.messages import HumanMessage

from qa_service.answering.answer import Answer
from qa_service.answering.compose import GenerativeComposer
from qa_service.answering.excerpts import GAP, Excerpter, passage_sentences, rank_sentences
from qa_service.answering.question import Question
from qa_service.answering.service import AnswerService
from qa_service.citations.checker import CitationChecker
from qa_service.core.config import Settings
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.generation.prompts import Prompts
from qa_service.services import Services
from qa_service.text.tokens import count_tokens
from tests.conftest import INTERPOL_NEWS

BRIEFING = (
    "The working group met in Lyon in March. "
    "Delegates from twelve countries attended. "
    "The meeting was chaired by Inspector Maria Lopez of the Spanish National Police. "
    "She presented the new protocol on cross-border pursuits. "
    "Lunch was served in the atrium. "
    "The weather in Lyon was cold and wet. "
    "Parking at the venue was limited."
)
CANTEEN = (
    "The canteen opens at eight. Coffee is free for visitors. "
    "The menu changes every Monday. Vegetarian dishes are always offered."
)


def passage(text: str, n: int) -> Passage:
    return Passage(f"doc{n}:0", f"doc{n}.txt", f"Document {n}", text, 0, len(text), 1.0 - n / 10)


PASSAGES = [passage(BRIEFING, 1), passage(CANTEEN, 2)]
QUESTION = "Who chaired the meeting?"


def pieces(excerpt: str) -> list[str]:
    return [piece for piece in excerpt.split(GAP) if piece]


def test_the_best_sentence_is_ranked_first(embedder: Embedder) -> None:
    ranked = rank_sentences(QUESTION, passage_sentences(PASSAGES), embedder)
    assert ranked[0].sentence.text.startswith("The meeting was chaired by Inspector Maria Lopez")
    assert ranked[0].passage == 0 and ranked[0].index == 2
    assert [item.score for item in ranked] == sorted((item.score for item in ranked), reverse=True)


def test_excerpts_show_the_answer_with_its_neighbours_in_the_passage_s_words(
    embedder: Embedder,
) -> None:
    excerpts = Excerpter(embedder, budget_tokens=45).run(QUESTION, PASSAGES)
    assert len(excerpts.passages) == len(PASSAGES)
    shown = excerpts.passages[0].text
    assert "chaired by Inspector Maria Lopez" in shown
    # The sentence before and the one after, for context; the weather is left out.
    assert "Delegates from twelve countries attended." in shown
    assert "She presented the new protocol" in shown
    assert "weather" not in shown
    for excerpt, original in zip(excerpts.passages, PASSAGES, strict=True):
        assert all(piece in original.text for piece in pieces(excerpt.text))
        assert (excerpt.chunk_id, excerpt.doc_id) == (original.chunk_id, original.doc_id)


def test_the_budget_bounds_the_text_shown(embedder: Embedder) -> None:
    shown = []
    for budget in (20, 45, 80, 400):
        excerpts = Excerpter(embedder, budget_tokens=budget).run(QUESTION, PASSAGES)
        assert 0 < excerpts.tokens <= budget
        shown.append(sum(len(excerpt.text) for excerpt in excerpts.passages))
    assert shown == sorted(shown) and shown[0] < shown[-1]
    whole = sum(count_tokens(p.text) for p in PASSAGES)
    assert Excerpter(embedder, budget_tokens=10_000).run(QUESTION, PASSAGES).tokens >= whole - 5


def test_the_best_sentence_is_shown_even_over_the_budget(embedder: Embedder) -> None:
    excerpts = Excerpter(embedder, budget_tokens=1).run(QUESTION, PASSAGES)
    assert excerpts.passages[0].text.startswith("The meeting was chaired by Inspector Maria Lopez")
    assert excerpts.passages[1].text == ""


def test_an_empty_excerpt_is_left_out_of_the_prompt_and_the_numbers_kept(
    embedder: Embedder,
) -> None:
    shown = [replace(PASSAGES[0], text=""), PASSAGES[1]]
    composer = GenerativeComposer.__new__(GenerativeComposer)
    composer.prompts = Prompts()
    last = composer.messages(QUESTION, shown)[-1]
    assert isinstance(last, HumanMessage)
    assert "Passage [1]" not in last.text and "Passage [2] (Document 2)" in last.text


class RecordingComposer:
    """Writes a fixed draft and keeps the passages it was shown."""

    name = "recording"

    def __init__(self, draft: str) -> None:
        self.draft = draft
        self.shown: list[Passage] = []

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        self.shown = list(passages)
        yield self.draft

    def warm_up(self) -> None:
        pass


@pytest.fixture
def news(extractive: Services) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    return extractive


def test_the_model_reads_excerpts_and_the_answer_cites_the_whole_passage(news: Services) -> None:
    draft = "Abdellatif Hammouchi chaired the Moroccan delegation [1]."
    composer = RecordingComposer(draft)
    service = AnswerService(
        news.retriever,
        composer,
        CitationChecker(news.embedder, document_text=news.store.document_text),
        news.prompts,
        excerpter=Excerpter(news.embedder, budget_tokens=120),
    )
    answer = service.run(Question("Who chaired the Moroccan delegation at the Lyon meeting?"))
    assert isinstance(answer, Answer) and not answer.refused
    assert answer.passage_tokens is not None and 0 < answer.passage_tokens <= 120
    assert sum(count_tokens(p.text) for p in composer.shown) < sum(
        count_tokens(p.text) for p in answer.passages
    )
    assert len(composer.shown) == len(answer.passages)
    for citation in answer.citations:
        text = (INTERPOL_NEWS / citation.doc_id).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.quote


def test_the_budget_is_a_setting_and_zero_shows_whole_passages(settings: Settings) -> None:
    served = settings.model_copy(
        update={"llm": "openai", "llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "any"}
    )
    excerpter = Services(served.model_copy(update={"evidence_tokens": 250})).answerer.excerpter
    assert isinstance(excerpter, Excerpter) and excerpter.budget_tokens == 250
    assert Services(served.model_copy(update={"evidence_tokens": 0})).answerer.excerpter is None
    extractive = settings.model_copy(update={"llm": "extractive"})
    assert Services(extractive).answerer.excerpter is None


def test_the_whole_passages_configuration_turns_excerpts_off(settings: Settings) -> None:
    served = settings.model_copy(
        update={"llm": "openai", "llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "any"}
    )
    services = Services(served.model_copy(update={"evidence_tokens": 400}))
    retriever = services.retriever
    assert isinstance(services.answerer_over("other", retriever).excerpter, Excerpter)
    assert Services(served).answerer.excerpter is None  # off by default
    assert services.answerer_over("other", retriever, evidence_tokens=0).excerpter is None
