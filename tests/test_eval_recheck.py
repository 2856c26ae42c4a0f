"""Re-checking a run's drafts at other thresholds and with rules off, on interpol-news."""

from dataclasses import replace
from typing import Any

import pytest

from eval.recheck import CheckParts, _replay, ablate, calibrate
from qa_service.answering.compose import ExtractiveComposer
from qa_service.citations.rules import RULES
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS

LYON = "000_bacf7507a92bc4d7.txt"


@pytest.fixture
def indexed(extractive: Services) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    return extractive


def parts(services: Services, fallback: ExtractiveComposer | None = None) -> CheckParts:
    return CheckParts(services.retriever, services.embedder, 5, fallback=fallback)


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
    low, high = calibrate(RUN, parts(indexed), [0.0, 0.99])
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
        calibrate(old, parts(indexed))
    retrieval_only = {"per_question": [{"question": "q", "answerable": True}]}
    with pytest.raises(ValueError, match="retrieval-only"):
        calibrate(retrieval_only, parts(indexed))


def test_the_quote_fallback_is_replayed_as_the_service_does_it(indexed: Services) -> None:
    question = "Who led the Moroccan delegation at the MENA police chiefs meeting in Lyon?"
    draft = "The delegation was led [1]."
    restated = {"per_question": [record(question, draft, True, gold_answers=["Hammouchi"])]}
    fallback = ExtractiveComposer(indexed.embedder, indexed.prompts)
    (without,) = calibrate(restated, parts(indexed), [0.5])
    (quoting,) = calibrate(restated, parts(indexed, fallback), [0.5])
    assert without.answerable_refused == 1.0 and without.answered == 0
    assert without.answer_contains == 0.0 and without.answer_f1 == 0.0
    assert quoting.answerable_refused == 0.0 and quoting.citation_precision == 1.0
    # The quote names the man who led the delegation.
    assert quoting.answer_contains == 1.0 and quoting.answer_f1 is not None


def test_ablation_turns_each_rule_off_in_turn(indexed: Services) -> None:
    # The right sentence with a citation number no passage has: kept only by moving it.
    question = "Who led the Moroccan delegation at the MENA police chiefs meeting in Lyon?"
    draft = "Abdellatif Hammouchi led the Moroccan delegation [9]."
    run = {"per_question": [record(question, draft, True, gold_answers=["Hammouchi"])]}
    outcomes = ablate(run, parts(indexed), 0.5, off=["quote_fallback"])
    assert [o.rule for o in outcomes] == [None, *(r for r in RULES if r != "quote_fallback")]
    by_rule = {o.rule: o for o in outcomes}
    assert by_rule[None].answerable_refused == 0.0 and by_rule[None].answer_contains == 1.0
    assert by_rule["cite_the_supporting_passage"].answerable_refused == 1.0
    # A rule that guards against something else leaves this answer as it is.
    assert by_rule["event_beside_count"] == replace(by_rule[None], rule="event_beside_count")


def test_a_translated_question_is_rechecked_as_the_service_checked_it(indexed: Services) -> None:
    asked = "Who led the Moroccan delegation in Lyon?"
    translated = record(
        "Qui a dirigé la délégation marocaine au Dialogue de Lyon ?",
        "Abdellatif Hammouchi led the Moroccan delegation [1].",
        answerable=True,
        # The search added the name the translation lost; the draft answers the translation.
        query=f"{asked} Dialogue",
        english_question=asked,
    )
    replay = _replay(translated, indexed.retriever, 5)
    assert (replay.query, replay.original) == (asked, translated["question"])
    assert replay.passages == indexed.retriever.run(f"{asked} Dialogue", 5)
    # Results from before the English question was recorded: the query is what was checked.
    del translated["english_question"]
    assert _replay(translated, indexed.retriever, 5).query == f"{asked} Dialogue"
