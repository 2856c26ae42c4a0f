"""The comparison with a baseline run, and the report rendered from results."""

from typing import Any

from eval.compare import compare
from eval.report import render_report


def question(id: str, failures: list[str], f1: float, ndcg: float) -> dict[str, Any]:
    return {
        "id": id,
        "question": f"Question {id}?",
        "answerable": True,
        "gold_answers": ["gold"],
        "sources": ["a.txt"],
        "retrieved": ["a.txt"],
        "retrieval": {"ndcg@10": ndcg},
        "failures": failures,
        "answer": f"answer to {id} <b>",
        "refused": False,
        "citations": [],
        "latency_ms": 100.0,
        "answer_f1": f1,
    }


def results(config: str, questions: list[dict[str, Any]], f1: float) -> dict[str, Any]:
    return {
        "dataset": {"name": "tiny", "path": "/tmp/tiny", "questions": len(questions),
                    "answerable": len(questions), "unanswerable": 0},
        "mode": "answers",
        "created": "2026-01-01T00:00:00+00:00",
        "settings": {"llm": "extractive", "embedder": "all-MiniLM-L6-v2", "chunk_size": 200,
                     "chunk_overlap": 40, "top_k": 5},
        "bootstrap": {"resamples": 1000, "seed": 7, "level": 0.95},
        "config": config,
        "description": "the service as configured",
        "collection": "eval-tiny-0123",
        "ingest": {"chunks_written": 0, "skipped": 1, "failed": {}},
        "metrics": {"retrieval": {"ndcg@10": 0.9}, "answer": {"answer_f1": f1},
                    "latency_ms": {"p50": 100.0, "p95": 100.0}},
        "confidence_intervals": {"answer.answer_f1": [f1 - 0.05, f1 + 0.05]},
        "per_question": questions,
        "configs": {},
    }  # fmt: skip


def test_questions_that_got_worse_are_listed() -> None:
    before = results(
        "default",
        [
            question("q1", [], 0.8, 1.0),
            question("q2", [], 0.5, 1.0),
            question("q3", ["answer lacks gold"], 0.2, 1.0),
        ],
        f1=0.5,
    )
    now = results("default", [question("q1", ["answer lacks gold"], 0.8, 1.0),
                              question("q2", [], 0.45, 0.5), question("q3", [], 0.2, 1.0),
                              question("q4", ["refused an answerable question"], 0.0, 0.0)],
                  f1=0.36)  # fmt: skip
    compared = compare(now, before)["configs"]["default"]
    worse = {item["id"]: item["changes"] for item in compared["worse"]}
    # q2's F1 fell by less than 0.1 (noise), its nDCG by 0.5; q4 is new, so not compared.
    assert worse == {"q1": ["now: answer lacks gold"], "q2": ["nDCG@10 1.00 -> 0.50"]}
    changes = {change["metric"]: change for change in compared["metrics"]}
    assert changes["answer.answer_f1"]["delta"] == -0.14
    assert changes["answer.answer_f1"]["beyond_noise"] is True  # 0.5 is outside [0.31, 0.41]
    assert changes["retrieval.ndcg@10"]["beyond_noise"] is False  # no interval: no claim


def test_the_report_shows_metrics_questions_and_the_comparison() -> None:
    before = results("default", [question("q1", [], 0.8, 1.0)], f1=0.8)
    now = results("default", [question("q1", ["answer lacks gold"], 0.2, 1.0)], f1=0.2)
    page = render_report(now, compare(now, before))
    assert page.startswith("<!doctype html>")
    assert "<code>answer.answer_f1</code>" in page and "[0.150, 0.250]" in page
    assert "Against the baseline" in page and "1 questions got worse" in page
    assert "answer F1 0.80 -&gt; 0.20" in page
    # Answers are data: escaped, never markup.
    assert "answer to q1 &lt;b&gt;" in page and "answer to q1 <b>" not in page
    assert "<svg" in page  # the metrics chart, inline
