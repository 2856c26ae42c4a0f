"""Re-checking a run's drafts at other thresholds, on the interpol-news corpus."""

from typing import Any

import pytest

from eval.calibrate import calibrate
from qa_service.answering.compose import ExtractiveComposer
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS

LYON = "000_bacf7507a92bc4d7.txt"


@pytest.fixture
def indexed(extractive: Services) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    return extractive


def record(question: str, draft: str, answerable: bool, **fields: Any) -> dict[str, Any]:
    return {
        "question": question,
        "query": question,
        "answerable": answerable,
        "sources": [LYON] if answerable else [],
        "answer": draft,
        "draft": draft,
        "refused": False,
        "refusal_reason": None,
        **fields,
    }


RUN = {
    "per_question": [
        record(
            "Who led the Moroccan delegation at the MENA police chiefs meeting in Lyon?",
            "Abdellatif Hammouchi led the Moroccan delegation [1].",
            answerable=True,
        ),
        # An unanswerable question answered with a loosely related sentence.
        record(
            "How many arrests followed the MENA police chiefs meeting in Lyon?",
            "The meeting was held in Lyon [1].",
            answerable=False,
        ),
        # Refused by retrieval: refused at every threshold.
        record(
            "What is the boiling point of water on Mars?",
            "",
            answerable=False,
            refused=True,
            refusal_reason="retrieval",
        ),
    ]
}


def test_thresholds_trade_answered_against_refused(indexed: Services) -> None:
    low, high = calibrate(RUN, indexed.retriever, indexed.embedder, 5, [0.0, 0.99])
    assert (low.min_support, high.min_support) == (0.0, 0.99)
    assert low.answerable_refused == 0.0 and low.citation_precision == 1.0
    assert low.unanswerable_refused == 0.5 and low.answered == 2
    assert high.answerable_refused == 1.0 and high.unanswerable_refused == 1.0
    assert high.citation_precision is None and high.answered == 0


def test_results_without_drafts_are_refused_clearly(indexed: Services) -> None:
    old = {
        "per_question": [{k: v for k, v in r.items() if k != "draft"} for r in RUN["per_question"]]
    }
    with pytest.raises(ValueError, match="no drafts"):
        calibrate(old, indexed.retriever, indexed.embedder, 5)
    retrieval_only = {"per_question": [{"question": "q", "answerable": True}]}
    with pytest.raises(ValueError, match="retrieval-only"):
        calibrate(retrieval_only, indexed.retriever, indexed.embedder, 5)


def test_the_quote_fallback_is_replayed_as_the_service_does_it(indexed: Services) -> None:
    question = "Who led the Moroccan delegation at the MENA police chiefs meeting in Lyon?"
    draft = "The delegation was led [1]."
    restated = {"per_question": [record(question, draft, True, gold_answers=["Hammouchi"])]}
    fallback = ExtractiveComposer(indexed.embedder, indexed.prompts)
    (without,) = calibrate(restated, indexed.retriever, indexed.embedder, 5, [0.5])
    (quoting,) = calibrate(
        restated, indexed.retriever, indexed.embedder, 5, [0.5], fallback=fallback
    )
    assert without.answerable_refused == 1.0 and without.answered == 0
    assert without.answer_contains == 0.0 and without.answer_f1 == 0.0
    assert quoting.answerable_refused == 0.0 and quoting.citation_precision == 1.0
    # The quote names the man who led the delegation.
    assert quoting.answer_contains == 1.0 and quoting.answer_f1 is not None
