"""The pieces the harness adds to the pipeline: text documents, character chunks, the naive
baseline, and one collection per corpus and chunking. Real store, real model, extractive mode."""

from itertools import pairwise

import pytest

from eval.pipelines import build_pipeline, collection_name, parse_configs
from eval.run import rank_documents
from ingest.pipeline import TextDocument
from ingest.split import CharacterSplitter, TokenSplitter
from qa_service.answering.naive import NO_ANSWER, NaiveAnswerService
from qa_service.answering.question import Question
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS


def test_character_chunks_quote_the_raw_text_exactly() -> None:
    text = (INTERPOL_NEWS / "001_833621d1c7e724e7.txt").read_text(encoding="utf-8")
    chunks = CharacterSplitter(1000).run("001.txt", text)
    assert len(chunks) > 2
    assert all(text[c.start : c.end] == c.text and len(c.text) <= 1000 for c in chunks)
    # No overlap, nothing lost but the whitespace between chunks.
    assert all(a.end <= b.start for a, b in pairwise(chunks))
    assert " ".join(c.text for c in chunks).split() == text.split()
    assert CharacterSplitter(1000).fingerprint != TokenSplitter(200, 40).fingerprint


def test_text_documents_are_ingested_incrementally(services: Services) -> None:
    documents = [
        TextDocument("d1", "Aspirin\n\nAspirin thins the blood of adults."),
        TextDocument("d2", "Statins\n\nStatins lower cholesterol."),
    ]
    first = services.ingestor.run_texts(documents)
    assert sorted(first.added) == ["d1", "d2"] and first.ok
    stored = {document.doc_id: document for document in services.store.list_documents()}
    assert stored["d1"].title == "Aspirin" and stored["d1"].chars == len(documents[0].text)

    again = services.ingestor.run_texts(documents)
    assert sorted(again.skipped) == ["d1", "d2"] and again.chunks_written == 0

    changed = [documents[0], TextDocument("d2", "Statins\n\nStatins lower LDL."), documents[0]]
    third = services.ingestor.run_texts(changed)
    assert third.updated == ["d2"] and third.skipped == ["d1"]
    assert third.failed == {"d1": "doc_id 'd1' given twice"}


def test_collections_are_named_by_corpus_chunking_and_embedder() -> None:
    tokens, characters = TokenSplitter(200, 40), CharacterSplitter(1000)
    name = collection_name("Interpol News!", "abc", tokens, "all-MiniLM-L6-v2")
    assert name == collection_name("Interpol News!", "abc", tokens, "all-MiniLM-L6-v2")
    assert name.startswith("eval-Interpol-News-") and len(name) < 64
    assert name != collection_name("Interpol News!", "abd", tokens, "all-MiniLM-L6-v2")
    assert name != collection_name("Interpol News!", "abc", characters, "all-MiniLM-L6-v2")
    assert name != collection_name("Interpol News!", "abc", tokens, "other-model")


def test_configurations_are_named() -> None:
    assert parse_configs("default, naive,default") == ["default", "naive"]
    with pytest.raises(
        ValueError,
        match="unknown configuration fancy: choose from default, dense, bm25, "
        "whole-passages, evidence-first, naive",
    ):
        parse_configs("default,fancy")


def test_the_naive_baseline_quotes_its_top_passage_and_lists_every_source(
    extractive: Services,
) -> None:
    naive = build_pipeline("naive", extractive, "interpol", "fingerprint")
    default = build_pipeline("default", extractive, "interpol", "fingerprint")
    assert naive.collection != default.collection
    naive.ingestor.run([INTERPOL_NEWS])

    answer = naive.answerer.run(Question("Who chaired the Moroccan delegation in Lyon?"))
    assert not answer.refused and "Hammouchi" in answer.answer and answer.refusal_reason is None
    assert answer.answer.startswith(answer.passages[0].text[:40])
    assert len(answer.citations) == len(answer.passages) == 4
    for citation, passage in zip(answer.citations, answer.passages, strict=True):
        text = (INTERPOL_NEWS / citation.doc_id).read_text(encoding="utf-8")
        assert citation.quote == passage.text == text[citation.start : citation.end]
        assert len(citation.quote) <= 1000
    assert answer.timings_ms["total"] >= answer.timings_ms["first_token"] > 0

    # The same pipeline's deeper ranking groups chunks by document, best first.
    ranking = rank_documents(naive.retriever.inner, "Moroccan delegation in Lyon")
    assert len(ranking) == 5 and len({document.doc_id for document in ranking}) == 5
    assert [d.score for d in ranking] == sorted((d.score for d in ranking), reverse=True)


def test_the_naive_baseline_refuses_only_when_nothing_is_found(extractive: Services) -> None:
    naive = build_pipeline("naive", extractive, "empty", "fingerprint")
    answer = naive.answerer.run(Question("Who chaired the Moroccan delegation?"))
    assert answer.refused and answer.answer == NO_ANSWER and answer.citations == []
    assert answer.refusal_reason == "retrieval"


def test_the_naive_prompt_is_langchains_without_the_note(extractive: Services) -> None:
    naive = build_pipeline("naive", extractive, "interpol", "fingerprint")
    assert isinstance(naive.answerer, NaiveAnswerService)
    template = naive.answerer.prompt.template
    assert "<!--" not in template and "LangChain" not in template
    assert template.startswith("You are an assistant for question-answering tasks.")
    assert set(naive.answerer.prompt.input_variables) == {"context", "question"}
