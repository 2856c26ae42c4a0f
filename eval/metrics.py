"""Dataset-level metrics from the per-question records, with bootstrap confidence intervals.

Retrieval measures come from ir-measures (trec_eval underneath) on document rankings; the
answer, citation and refusal metrics are means of the per-question scores of ``eval.score``.
A metric that does not apply to the run (no gold answers, retrieval only) is ``None``.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import ir_measures
import numpy as np
from ir_measures import RR, R, nDCG

from eval.run import QuestionRun

RETRIEVAL_MEASURES = {
    "recall@5": R @ 5,
    "recall@10": R @ 10,
    "mrr@10": RR @ 10,
    "ndcg@10": nDCG @ 10,
    "recall@100": R @ 100,
}
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 7

# One line each, shown in the report beside the numbers.
DEFINITIONS = {
    "retrieval.recall@5": "share of a question's gold documents among the top 5 retrieved",
    "retrieval.recall@10": "share of a question's gold documents among the top 10 retrieved",
    "retrieval.mrr@10": "1 / rank of the first gold document in the top 10 (0 if none)",
    "retrieval.ndcg@10": "rank-discounted gain of the gold documents in the top 10, 1 = ideal",
    "retrieval.recall@100": "share of a question's gold documents among the top 100 retrieved",
    "answer.answer_f1": "SQuAD token F1 against the closest gold answer (a refusal scores 0)",
    "answer.answer_contains": "a normalised gold answer appears in the answer (refusal: no)",
    "citations.precision": "share of cited documents that are gold sources (answered questions)",
    "citations.recall": "share of gold sources that are cited (answered questions)",
    "citations.quote_exact": "share of quotes equal to the document text at their offsets",
    "refusal.refusal_accuracy": "refused exactly the unanswerable questions",
    "refusal.false_refusal_rate": "share of answerable questions refused",
    "refusal.unanswerable_refusal_rate": "share of unanswerable questions refused",
    "latency_ms.p50": "median time to the whole answer, ms",
    "latency_ms.p95": "95th percentile time to the whole answer, ms",
    "first_token_ms.p50": "median time to the first token of the answer, ms",
    "first_token_ms.p95": "95th percentile time to the first token of the answer, ms",
    "first_sentence_ms.p50": "median time to the first checked text given out, ms",
    "first_sentence_ms.p95": "95th percentile time to the first checked text given out, ms",
    "passage_tokens.p50": "median passage text in the model's prompt, tiktoken tokens",
    "passage_tokens.p95": "95th percentile passage text in the model's prompt, tiktoken tokens",
}
LOWER_IS_BETTER = {
    "refusal.false_refusal_rate",
    "latency_ms.p50",
    "latency_ms.p95",
    "first_token_ms.p50",
    "first_token_ms.p95",
    "first_sentence_ms.p50",
    "first_sentence_ms.p95",
    "passage_tokens.p50",
    "passage_tokens.p95",
}


def retrieval_scores(runs: Sequence[QuestionRun]) -> dict[str, dict[str, float]]:
    """``question id -> measure -> value`` for every question that has gold documents."""
    judged = [run for run in runs if run.item.sources]
    qrels = [
        ir_measures.Qrel(run.item.id, doc_id, grade)
        for run in judged
        for doc_id, grade in run.item.relevance.items()
    ]
    # The rank, not the cosine score, orders the run: trec_eval breaks score ties by doc id,
    # which would reorder documents whose best chunks tie.
    ranked = [
        ir_measures.ScoredDoc(run.item.id, document.doc_id, float(len(run.ranking) - rank))
        for run in judged
        for rank, document in enumerate(run.ranking)
    ]
    names = {measure: name for name, measure in RETRIEVAL_MEASURES.items()}
    # A question with nothing retrieved is absent from trec_eval's output: it scores 0.
    scores = {run.item.id: dict.fromkeys(RETRIEVAL_MEASURES, 0.0) for run in judged}
    if ranked:
        for metric in ir_measures.iter_calc(list(RETRIEVAL_MEASURES.values()), qrels, ranked):
            scores[metric.query_id][names[metric.measure]] = float(metric.value)
    return scores


def per_question_values(
    records: Sequence[Mapping[str, Any]], retrieval: Mapping[str, Mapping[str, float]]
) -> dict[str, list[float]]:
    """For each mean-type metric, its value on every question it applies to."""
    values: dict[str, list[float]] = {
        f"retrieval.{name}": [scores[name] for scores in retrieval.values()]
        for name in RETRIEVAL_MEASURES
    }
    answered = [record for record in records if record.get("refused") is not None]
    values["answer.answer_f1"] = _present(answered, "answer_f1")
    values["answer.answer_contains"] = _present(answered, "answer_contains")
    values["citations.precision"] = _present(answered, "citation_precision")
    values["citations.recall"] = _present(answered, "citation_recall")
    values["refusal.refusal_accuracy"] = [
        float(record["refused"] != record["answerable"]) for record in answered
    ]
    values["refusal.false_refusal_rate"] = [
        float(record["refused"]) for record in answered if record["answerable"]
    ]
    values["refusal.unanswerable_refusal_rate"] = [
        float(record["refused"]) for record in answered if not record["answerable"]
    ]
    return values


def summarize(
    records: Sequence[Mapping[str, Any]], retrieval: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float | None]]:
    """The ``metrics`` object of ``results.json``."""
    values = per_question_values(records, retrieval)
    metrics: dict[str, dict[str, float | None]] = {}
    for key, found in values.items():
        group, name = key.split(".", 1)
        metrics.setdefault(group, {})[name] = _mean(found)
    quotes = [c["quote_exact"] for record in records for c in record.get("citations", [])]
    metrics["citations"]["quote_exact"] = _mean([float(exact) for exact in quotes])
    for timing in ("latency_ms", "first_token_ms", "first_sentence_ms", "passage_tokens"):
        found = [r[timing] for r in records if r.get(timing) is not None]
        metrics[timing] = {"p50": _percentile(found, 50), "p95": _percentile(found, 95)}
    return metrics


def confidence_intervals(
    values: Mapping[str, Sequence[float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> dict[str, list[float] | None]:
    """Percentile bootstrap interval of each metric's mean, resampling questions.

    Each metric draws from its own generator seeded with ``seed``, so an interval depends
    only on that metric's values: the same run gives the same intervals.
    """
    tail = (1 - level) / 2 * 100
    intervals: dict[str, list[float] | None] = {}
    for key, found in values.items():
        if not found:
            intervals[key] = None
            continue
        sample = np.asarray(found, dtype=np.float64)
        picks = np.random.default_rng(seed).integers(0, len(sample), (resamples, len(sample)))
        means = sample[picks].mean(axis=1)
        low, high = np.percentile(means, [tail, 100 - tail])
        intervals[key] = [round(float(low), 4), round(float(high), 4)]
    return intervals


def metric_value(metrics: Mapping[str, Any], key: str) -> float | None:
    """``metric_value(metrics, "answer.answer_f1")``; ``KeyError`` for an unknown name."""
    group, name = key.split(".", 1)
    value = metrics[group][name]
    return None if value is None else float(value)


def find_metric(metrics: Mapping[str, Any], key: str) -> float | None:
    """Like ``metric_value``, but ``None`` for a metric the results do not have (an older or
    hand-written ``results.json`` holds at least the contract's metrics, maybe not all)."""
    try:
        return metric_value(metrics, key)
    except KeyError:
        return None


def _present(records: Sequence[Mapping[str, Any]], field: str) -> list[float]:
    return [float(record[field]) for record in records if record.get(field) is not None]


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _percentile(values: Sequence[float], percent: float) -> float | None:
    return round(float(np.percentile(values, percent)), 1) if values else None
