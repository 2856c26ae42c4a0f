"""The gate: thresholds from YAML, checked against a run's metrics."""

from pathlib import Path

import pytest

from eval.gate import GateError, check_gate, load_gate
from eval.metrics import DEFINITIONS
from tests.conftest import REPO

METRICS = {
    "retrieval": {"recall@10": 0.9, "ndcg@10": 0.7},
    "answer": {"answer_f1": 0.4, "answer_contains": None},
    "refusal": {"false_refusal_rate": 0.2},
}


def gate(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_gate_passes_when_every_threshold_holds(tmp_path: Path) -> None:
    thresholds = load_gate(
        gate(
            tmp_path,
            "retrieval.recall@10: {min: 0.9}\n"
            "retrieval.ndcg@10: {min: 0.5, max: 1}\n"
            "refusal.false_refusal_rate: {max: 0.25}\n",
        )
    )
    assert check_gate(METRICS, thresholds) == []


def test_the_gate_lists_every_metric_that_falls_short(tmp_path: Path) -> None:
    thresholds = load_gate(
        gate(
            tmp_path,
            "retrieval.recall@10: {min: 0.95}\n"
            "answer.answer_f1: {min: 0.3}\n"
            "answer.answer_contains: {min: 0.5}\n"
            "refusal.false_refusal_rate: {max: 0.1}\n"
            "answer.answer_fi: {min: 0.1}\n",
        )
    )
    failures = [str(failure) for failure in check_gate(METRICS, thresholds)]
    assert failures == [
        "retrieval.recall@10 = 0.9 < min 0.95",
        "answer.answer_contains = null (not measured), needs min 0.5",
        "refusal.false_refusal_rate = 0.2 > max 0.1",
        "answer.answer_fi: no such metric",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "expected 'metric: {min: x}'"),
        ("answer.answer_f1: 0.5\n", "give min and/or max"),
        ("answer.answer_f1: {at_least: 0.5}\n", "give min and/or max"),
        ("answer.answer_f1: {min: high}\n", "thresholds must be numbers"),
        ("answer.answer_f1: {min: [\n", "not YAML"),
    ],
)
def test_a_bad_gate_file_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(GateError, match=message):
        load_gate(gate(tmp_path, text))


def test_shipped_gate_files_name_real_metrics() -> None:
    files = sorted((REPO / "eval" / "gates").rglob("*.yaml"))
    assert files
    for path in files:
        for threshold in load_gate(path):
            assert threshold.metric in DEFINITIONS, f"{path}: {threshold.metric}"
