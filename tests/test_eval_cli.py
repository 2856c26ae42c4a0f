"""``qa eval`` end to end: real processes, a real store and model, extractive answers."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval.harness import EvalOptions, evaluate
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS, environment_without_settings

QA = str(Path(sys.executable).parent / "qa")
QUESTIONS = [
    {"id": "a1", "question": "Who chaired the Moroccan delegation in Lyon?",
     "answers": ["Abdellatif Hammouchi"], "sources": ["000_bacf7507a92bc4d7.txt"],
     "answerable": True},
    {"id": "a2", "question": "On which dates did Abdellatif Hammouchi attend the MENA police "
     "chiefs meeting in Lyon?", "answers": ["September 3-4"],
     "sources": ["000_bacf7507a92bc4d7.txt"], "answerable": True},
    {"id": "u1", "question": "Who won the 2018 FIFA World Cup?", "answers": [], "sources": [],
     "answerable": False},
]  # fmt: skip


def qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = environment_without_settings()
    return {**environment, "QA_DATA_DIR": str(tmp_path / "data"), "QA_LLM": "extractive"}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "corpus").symlink_to(INTERPOL_NEWS, target_is_directory=True)
    lines = "".join(json.dumps(question) + "\n" for question in QUESTIONS)
    (folder / "qa.jsonl").write_text(lines, encoding="utf-8")
    return folder


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_qa_eval_writes_results_and_report_and_gates(
    dataset: Path, env: dict[str, str], tmp_path: Path
) -> None:
    passing, failing = tmp_path / "pass.yaml", tmp_path / "fail.yaml"
    passing.write_text("retrieval.recall@10: {min: 0.5}\nrefusal.false_refusal_rate: {max: 1}\n")
    failing.write_text("answer.answer_contains: {min: 1.01}\nlatency_ms.p95: {max: 0.001}\n")
    first_out, second_out = tmp_path / "first", tmp_path / "second"

    first = qa("eval", str(dataset), "--out", str(first_out), "--config", "default,naive",
               "--gate", str(passing), env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "gate passed" in first.stdout and "answer.answer_contains" in first.stdout
    results = read_json(first_out / "results.json")
    metrics = results["metrics"]
    # The contract's shape; every group present, each metric a number here.
    assert set(metrics["retrieval"]) >= {"recall@5", "recall@10", "mrr@10", "ndcg@10"}
    assert set(metrics["answer"]) == {"answer_f1", "answer_contains"}
    assert set(metrics["citations"]) >= {"precision", "recall"}
    assert set(metrics["refusal"]) == {
        "refusal_accuracy", "false_refusal_rate", "unanswerable_refusal_rate"
    }  # fmt: skip
    assert set(metrics["latency_ms"]) == {"p50", "p95"}
    assert metrics["retrieval"]["recall@10"] == 1.0
    assert metrics["citations"]["quote_exact"] == 1.0
    assert [record["id"] for record in results["per_question"]] == ["a1", "a2", "u1"]
    assert results["config"] == "default" and list(results["configs"]) == ["naive"]
    assert results["ingest"]["chunks_written"] > 0
    assert results["configs"]["naive"]["ingest"]["chunks_written"] > 0
    assert results["collection"] != results["configs"]["naive"]["collection"]
    report = (first_out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in report and "Who chaired the Moroccan delegation" in report
    assert "answer.answer_f1" in report and "naive" in report and "<script" not in report

    second = qa("eval", str(dataset), "--out", str(second_out), "--config", "default,naive",
                "--gate", str(failing), "--baseline", str(first_out / "results.json"), "--json",
                env=env)  # fmt: skip
    assert second.returncode == 3, second.stderr
    summary = json.loads(second.stdout)
    assert summary["gate"]["passed"] is False and len(summary["gate"]["failures"]) == 2
    failures = [line for line in second.stderr.splitlines() if line.startswith("gate failed: ")]
    assert failures[0].startswith("gate failed: answer.answer_contains = ")
    assert failures[0].endswith("< min 1.01")
    assert failures[1].startswith("gate failed: latency_ms.p95 = ")
    again = read_json(second_out / "results.json")
    # Same corpus, same chunking: nothing is embedded a second time.
    for run in (again, again["configs"]["naive"]):
        assert run["ingest"]["chunks_written"] == 0 and run["ingest"]["skipped"] == 5
    assert again["collection"] == results["collection"]
    assert "Against the baseline" in (second_out / "report.html").read_text(encoding="utf-8")


def test_qa_eval_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    missing = qa("eval", str(tmp_path / "nowhere"), env=env)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == f"error: {tmp_path / 'nowhere'}: no such dataset folder\n"
    unknown = qa("eval", str(tmp_path), "--config", "clever", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: unknown configuration clever")


def test_retrieval_only_datasets_measure_retrieval_alone(
    services: Services, tmp_path: Path
) -> None:
    folder = tmp_path / "beir"
    folder.mkdir()
    documents = [
        {"_id": "aspirin", "title": "Aspirin", "text": "Aspirin reduces the risk of heart attack."},
        {"_id": "statins", "title": "Statins", "text": "Statins lower LDL cholesterol levels."},
        {"_id": "sleep", "title": "Sleep", "text": "Adults need seven hours of sleep a night."},
    ]
    queries = [{"_id": "1", "text": "drugs that lower cholesterol"}, {"_id": "2", "text": "sleep"}]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\tstatins\t1\n2\tsleep\t1\n")

    outcome = evaluate(EvalOptions(folder, tmp_path / "out"), services)
    results = outcome.results
    assert results["mode"] == "retrieval-only" and outcome.gate_failures is None
    assert results["metrics"]["retrieval"]["mrr@10"] == 1.0
    assert results["metrics"]["retrieval"]["recall@100"] == 1.0
    for group in ("answer", "citations", "refusal", "latency_ms"):
        assert set(results["metrics"][group].values()) == {None}
    assert results["confidence_intervals"]["retrieval.ndcg@10"] == [1.0, 1.0]
    assert "answer" not in results["per_question"][0]
    assert read_json(outcome.results_path) == results
    assert "not generated" in outcome.report_path.read_text(encoding="utf-8")


def test_rules_turned_off_and_the_ablation_table(
    dataset: Path, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = qa("eval", str(dataset), "--out", str(out), "--rules", "-join_two_passages",
             "--ablation", env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = read_json(out / "results.json")
    assert results["settings"]["check_rules_off"] == ["join_two_passages"]
    # Each question records the verdict on each sentence checked.
    checks = results["per_question"][0]["checks"]
    assert checks and {"sentence", "kept", "rule", "reason", "source"} <= set(checks[0])
    assert any(check["kept"] for check in checks)
    rows = results["ablation"]
    # Every rule in force (less the one the run had off), then each other rule off in turn.
    assert rows[0]["rule"] is None and "join_two_passages" not in [r["rule"] for r in rows]
    assert {row["rule"] for row in rows[1:]} >= {"numbers_in_span", "quote_fallback"}
    # The re-check with every rule in force is the run itself.
    assert rows[0]["answerable_refused"] == results["metrics"]["refusal"]["false_refusal_rate"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Rules of the citation check" in report and "numbers_in_span" in report
    assert "checks: " in report and "kept</span>" in report

    for wrong, said in ((["--rules", "quote_fallback"], "with a minus"),
                        (["--rules", "-no_such_rule"], "unknown rule no_such_rule")):  # fmt: skip
        refused = qa("eval", str(dataset), "--out", str(out), *wrong, env=env)
        assert refused.returncode == 1 and said in refused.stderr, refused.stderr
