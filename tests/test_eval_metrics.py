"""Every evaluation metric against values worked out by hand on tiny inputs."""

import math
from typing import Any

import pytest

from eval.dataset import QAItem
from eval.metrics import confidence_intervals, retrieval_scores, summarize
from eval.run import QuestionRun, RankedDocument
from eval.score import (
    ANSWERED_UNANSWERABLE,
    CITED_NO_SOURCE,
    CITED_OUTSIDE,
    LACKS_GOLD,
    NOT_RETRIEVED,
    QUOTE_MISMATCH,
    REFUSED_ANSWERABLE,
    citation_precision,
    citation_recall,
    contains_gold,
    normalize_answer,
    score_question,
    token_f1,
)
from qa_service.answering.answer import Answer
from qa_service.citations.citation import Citation


def item(id: str, sources: tuple[str, ...] = (), answers: tuple[str, ...] = ()) -> QAItem:
    return QAItem(id, f"question {id}?", answers, dict.fromkeys(sources, 1), bool(sources))


def ranked(*doc_ids: str) -> list[RankedDocument]:
    return [RankedDocument(doc_id, 1.0 - rank / 10) for rank, doc_id in enumerate(doc_ids)]


# --- answers -------------------------------------------------------------------------------


def test_normalisation_is_squads_and_drops_citation_markers() -> None:
    assert normalize_answer("The  Lyon, France [1][2]!") == "lyon france"
    assert normalize_answer("An «Interpol» meeting") == "interpol meeting"


@pytest.mark.parametrize(
    ("prediction", "gold", "f1"),
    [
        ("the cat sat", "a cat sat down", 0.8),  # P = 2/2, R = 2/3
        ("cat cat dog", "cat", 0.5),  # P = 1/3, R = 1/1
        ("Lyon", "Paris", 0.0),
        ("", "Paris", 0.0),
        ("In Lyon [1].", "lyon", 2 / 3),  # "in lyon" vs "lyon": P = 1/2, R = 1
    ],
)
def test_token_f1(prediction: str, gold: str, f1: float) -> None:
    assert token_f1(prediction, gold) == pytest.approx(f1)


def test_contains_needs_a_whole_normalised_gold_answer() -> None:
    assert contains_gold("It met in Lyon, France [1].", ["Paris", "lyon"])
    assert contains_gold("On September 3-4 [1].", ["September 3-4"])
    assert not contains_gold("It met in Lyonnais country.", ["Lyon"])
    assert not contains_gold("anything", [""])


def test_citation_precision_and_recall() -> None:
    assert citation_precision({"a", "b", "c", "d"}, {"a", "x"}) == 0.25
    assert citation_recall({"a", "b", "c", "d"}, {"a", "x"}) == 0.5
    assert citation_precision(set(), {"a"}) is None
    assert citation_recall({"a"}, set()) is None


# --- retrieval -----------------------------------------------------------------------------


def test_retrieval_measures_at_document_level() -> None:
    runs = [
        QuestionRun(item("q1", ("d1", "d3")), "q", ranked("d2", "d1", "d3"), None),
        QuestionRun(item("q2", ("d9",)), "q", ranked("d1", "d2"), None),
        QuestionRun(item("q3", ("d1",)), "q", [], None),  # nothing retrieved: absent from trec_eval
        QuestionRun(item("q4"), "q", ranked("d1"), None),  # no gold documents: not judged
    ]
    scores = retrieval_scores(runs)
    assert set(scores) == {"q1", "q2", "q3"}
    ideal = 1 + 1 / math.log2(3)
    assert scores["q1"] == pytest.approx(
        {
            "recall@5": 1.0,
            "recall@10": 1.0,
            "mrr@10": 0.5,
            "ndcg@10": (1 / math.log2(3) + 1 / math.log2(4)) / ideal,
            "recall@100": 1.0,
        }
    )
    assert scores["q2"] == dict.fromkeys(scores["q2"], 0.0)
    assert scores["q3"] == dict.fromkeys(scores["q3"], 0.0)


def test_rank_decides_order_even_when_best_chunk_scores_tie() -> None:
    tied = [RankedDocument("b", 0.5), RankedDocument("a", 0.5)]
    scores = retrieval_scores([QuestionRun(item("q", ("a",)), "q", tied, None)])
    assert scores["q"]["mrr@10"] == 0.5


def test_recall_at_5_counts_only_the_first_five() -> None:
    run = QuestionRun(item("q", ("d1", "d7")), "q", ranked(*[f"d{n}" for n in range(1, 12)]), None)
    assert retrieval_scores([run])["q"]["recall@5"] == 0.5


# --- one question --------------------------------------------------------------------------

DOCUMENTS = {"a.txt": "Alpha text. The meeting was in Lyon.", "b.txt": "Beta text."}


def citation(doc_id: str, start: int, end: int, quote: str | None = None) -> Citation:
    text = DOCUMENTS[doc_id]
    return Citation(1, doc_id, None, f"{doc_id}#0", quote or text[start:end], start, end, 0.9)


def answer(text: str, refused: bool = False, citations: list[Citation] | None = None) -> Answer:
    return Answer(
        answer=text,
        refused=refused,
        citations=citations or [],
        passages=[],
        standalone_question="q",
        language="en",
        timings_ms={"total": 120.0, "first_token": 40.0, "first_sentence": 90.0},
    )


def scored(run: QuestionRun) -> dict[str, Any]:
    return score_question(run, DOCUMENTS.get)


def test_a_good_answer_has_no_failures() -> None:
    good = answer("It was in Lyon [1].", citations=[citation("a.txt", 12, 36)])
    record = scored(QuestionRun(item("q", ("a.txt",), ("Lyon",)), "q", ranked("a.txt"), good))
    assert record["failures"] == []
    assert record["answer_contains"] is True and record["answer_f1"] == 0.4  # P = 1/4, R = 1
    assert record["citation_precision"] == 1.0 and record["citation_recall"] == 1.0
    assert record["citations"][0]["quote_exact"] is True
    assert record["latency_ms"] == 120.0 and record["first_token_ms"] == 40.0
    assert record["first_sentence_ms"] == 90.0


def test_each_failure_reason() -> None:
    wrong = answer(
        "It was in Paris [1][2].",
        citations=[citation("b.txt", 0, 10), citation("a.txt", 0, 5, quote="Gamma")],
    )
    record = scored(QuestionRun(item("q", ("a.txt",), ("Lyon",)), "q", ranked("b.txt"), wrong))
    assert record["failures"] == [NOT_RETRIEVED, LACKS_GOLD, CITED_OUTSIDE, QUOTE_MISMATCH]
    assert record["citation_precision"] == 0.5 and record["answer_contains"] is False

    elsewhere = answer("Beta [1].", citations=[citation("b.txt", 0, 10)])
    record = scored(QuestionRun(item("q", ("a.txt",), ("Beta",)), "q", ranked("a.txt"), elsewhere))
    assert record["failures"] == [CITED_OUTSIDE, CITED_NO_SOURCE]

    refusal = answer("The documents don't say.", refused=True)
    refusal.refusal_reason = "unsupported"
    refusal.unsupported = ["The meeting was in Paris [1]."]
    refused = scored(QuestionRun(item("q", ("a.txt",), ("Lyon",)), "q", ranked("a.txt"), refusal))
    assert refused["failures"] == [REFUSED_ANSWERABLE]
    assert refused["refusal_reason"] == "unsupported"
    assert refused["unsupported"] == ["The meeting was in Paris [1]."]
    assert refused["answer_f1"] == 0.0 and refused["answer_contains"] is False
    assert refused["citation_precision"] is None

    answered = scored(QuestionRun(item("q"), "q", ranked("a.txt"), answer("Lyon.")))
    assert answered["failures"] == [ANSWERED_UNANSWERABLE]
    assert answered["answer_f1"] is None and answered["citation_recall"] is None


def test_retrieval_only_records_have_no_answer_fields() -> None:
    record = scored(QuestionRun(item("q", ("a.txt",)), "q", ranked("a.txt"), None))
    assert "answer" not in record and "refused" not in record and record["failures"] == []


# --- the dataset -----------------------------------------------------------------------------


def record(
    answerable: bool,
    refused: bool,
    *,
    f1: float | None = None,
    contains: bool | None = None,
    precision: float | None = None,
    recall: float | None = None,
    quotes: tuple[bool, ...] = (),
    latency: float = 0.0,
    first_token: float | None = None,
) -> dict[str, Any]:
    return {
        "answerable": answerable,
        "refused": refused,
        "answer_f1": f1,
        "answer_contains": contains,
        "citation_precision": precision,
        "citation_recall": recall,
        "citations": [{"quote_exact": exact} for exact in quotes],
        "latency_ms": latency,
        "first_token_ms": first_token,
    }


def test_summary_by_hand() -> None:
    records = [
        record(True, False, f1=1.0, contains=True, precision=1.0, recall=0.5, quotes=(True,),
               latency=100, first_token=50),
        record(True, True, f1=0.0, contains=False, latency=10),
        record(False, True, latency=20),
        record(False, False, quotes=(False,), latency=30, first_token=10),
    ]  # fmt: skip
    metrics = summarize(records, {"q1": {"recall@5": 1.0, "recall@10": 1.0, "mrr@10": 0.5,
                                         "ndcg@10": 0.6, "recall@100": 1.0},
                                  "q2": {"recall@5": 0.0, "recall@10": 1.0, "mrr@10": 0.1,
                                         "ndcg@10": 0.2, "recall@100": 1.0}})  # fmt: skip
    assert metrics["retrieval"] == pytest.approx(
        {"recall@5": 0.5, "recall@10": 1.0, "mrr@10": 0.3, "ndcg@10": 0.4, "recall@100": 1.0}
    )
    assert metrics["answer"] == {"answer_f1": 0.5, "answer_contains": 0.5}
    assert metrics["citations"] == {"precision": 1.0, "recall": 0.5, "quote_exact": 0.5}
    assert metrics["refusal"] == {
        "refusal_accuracy": 0.5,  # right on questions 1 and 3
        "false_refusal_rate": 0.5,  # question 2 of the two answerable
        "unanswerable_refusal_rate": 0.5,  # question 3 of the two unanswerable
    }
    # numpy's linear interpolation: sorted 10, 20, 30, 100 -> p50 = 25, p95 = 30 + 0.85 * 70
    assert metrics["latency_ms"] == {"p50": 25.0, "p95": 89.5}
    assert metrics["first_token_ms"] == {"p50": 30.0, "p95": 48.0}
    assert metrics["first_sentence_ms"] == {"p50": None, "p95": None}, "none was recorded"


def test_metrics_that_do_not_apply_are_null() -> None:
    retrieval_only = [{"answerable": True, "citations": []}]
    metrics = summarize(retrieval_only, {})
    assert metrics["retrieval"]["ndcg@10"] is None
    assert set(metrics["answer"].values()) == {None}
    assert set(metrics["citations"].values()) == {None}
    assert set(metrics["refusal"].values()) == {None}
    assert metrics["latency_ms"] == {"p50": None, "p95": None}


# --- confidence intervals ----------------------------------------------------------------------


def test_bootstrap_intervals_are_deterministic() -> None:
    values = {"a": [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0], "b": [0.3] * 5, "c": []}
    first, second = confidence_intervals(values), confidence_intervals(values)
    assert first == second
    assert first["b"] == [0.3, 0.3] and first["c"] is None
    low, high = first["a"] or [0.0, 0.0]
    assert 0.0 <= low < 5 / 8 < high <= 1.0
    # An interval depends on its own values only, not on which other metrics were computed.
    assert confidence_intervals({"a": values["a"]})["a"] == first["a"]
    assert confidence_intervals(values, seed=8)["a"] != first["a"]


def test_bootstrap_interval_narrows_with_more_questions() -> None:
    few = confidence_intervals({"x": [0.0, 1.0] * 5})["x"] or [0.0, 1.0]
    many = confidence_intervals({"x": [0.0, 1.0] * 200})["x"] or [0.0, 1.0]
    assert many[1] - many[0] < few[1] - few[0]
    assert many[0] < 0.5 < many[1]
