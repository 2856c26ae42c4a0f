"""``qa eval``: dataset -> ingest -> run -> metrics -> results.json + report.html -> gate."""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from eval.compare import compare
from eval.dataset import Dataset
from eval.gate import GateFailure, check_gate, load_gate
from eval.loading import load_dataset
from eval.metrics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    confidence_intervals,
    per_question_values,
    retrieval_scores,
    summarize,
)
from eval.pipelines import Pipeline, SharedParts, build_pipeline
from eval.recheck import CheckParts, ablate
from eval.report import render_report
from eval.run import run_questions
from eval.score import score_question
from ingest.pipeline import Progress
from qa_service.answering.service import AnswerService
from qa_service.core.files import write_atomically


class Stages(Protocol):
    """Progress for each long step (ingesting, asking), shown by the caller."""

    def stage(self, description: str) -> Progress: ...


@dataclass(frozen=True)
class EvalOptions:
    dataset: Path
    out: Path
    configs: Sequence[str] = ("default",)
    retrieval_only: bool = False
    sample: int | None = None
    limit: int | None = None
    baseline: Path | None = None
    gate: Path | None = None
    # Re-check the first configuration's drafts with each citation rule off in turn.
    ablation: bool = False
    # Ask as a caller who may read these groups' documents (and those without groups).
    groups: tuple[str, ...] | None = None


@dataclass
class EvalOutcome:
    results: dict[str, Any]
    results_path: Path
    report_path: Path
    gate_failures: list[GateFailure] | None = field(default=None)


def evaluate(options: EvalOptions, base: SharedParts, stages: Stages | None = None) -> EvalOutcome:
    """Run the dataset through each configuration; the first one is the run's headline (and
    what the gate checks), the others sit beside it under ``configs``."""
    # Bad gate or baseline files fail before any work is done.
    thresholds = load_gate(options.gate) if options.gate else None
    baseline = _read_json(options.baseline) if options.baseline else None
    dataset = load_dataset(options.dataset, options.sample, options.limit)
    retrieval_only = options.retrieval_only or not dataset.has_answers
    evaluated = [
        _evaluate_config(name, dataset, base, retrieval_only, stages, options.groups)
        for name in options.configs
    ]
    runs = [run for run, _ in evaluated]
    if options.ablation and not retrieval_only:
        runs[0]["ablation"] = _ablation(runs[0], evaluated[0][1], base)
    results: dict[str, Any] = {
        "dataset": _describe_dataset(dataset, options.dataset),
        "mode": "retrieval-only" if retrieval_only else "answers",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": _describe_settings(base),
        "groups": list(options.groups) if options.groups is not None else None,
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "level": 0.95},
        **runs[0],
        "configs": {run["config"]: run for run in runs[1:]},
    }
    comparison = compare(results, baseline) if baseline is not None else None
    report = render_report(results, comparison)
    options.out.mkdir(parents=True, exist_ok=True)
    results_path, report_path = options.out / "results.json", options.out / "report.html"
    write_atomically(results_path, json.dumps(results, ensure_ascii=False, indent=1).encode())
    write_atomically(report_path, report.encode())
    failures = check_gate(results["metrics"], thresholds) if thresholds is not None else None
    return EvalOutcome(results, results_path, report_path, failures)


def _evaluate_config(
    name: str,
    dataset: Dataset,
    base: SharedParts,
    retrieval_only: bool,
    stages: Stages | None,
    groups: tuple[str, ...] | None,
) -> tuple[dict[str, Any], Pipeline]:
    pipeline = build_pipeline(name, base, dataset.name, dataset.corpus.fingerprint, groups)
    ingested = dataset.corpus.ingest(
        pipeline.ingestor, stages.stage(f"{name}: ingesting") if stages else None
    )
    if ingested.interrupted:
        raise KeyboardInterrupt
    runs = run_questions(
        pipeline,
        dataset.questions,
        retrieval_only=retrieval_only,
        progress=stages.stage(f"{name}: asking") if stages else None,
    )
    retrieval = retrieval_scores(runs)
    records = []
    for run in runs:
        record = score_question(run, dataset.corpus.document_text)
        scores = retrieval.get(run.item.id)
        record["retrieval"] = {k: round(v, 4) for k, v in scores.items()} if scores else None
        records.append(record)
    return {
        "config": name,
        "description": pipeline.description,
        "collection": pipeline.collection,
        "ingest": {
            "added": len(ingested.added),
            "updated": len(ingested.updated),
            "skipped": len(ingested.skipped),
            "failed": ingested.failed,
            "chunks_written": ingested.chunks_written,
            "seconds": round(ingested.seconds, 1),
        },
        "metrics": summarize(records, retrieval),
        "confidence_intervals": confidence_intervals(per_question_values(records, retrieval)),
        "per_question": records,
    }, pipeline


def _ablation(run: dict[str, Any], pipeline: Pipeline, base: SharedParts) -> list[dict[str, Any]]:
    """Each rule's effect on this run: its drafts re-checked with the rule off
    (``eval.recheck.ablate``), as rows of the same measures the run reports."""
    answerer = pipeline.answerer
    if not isinstance(answerer, AnswerService):
        raise ValueError(
            f"the {pipeline.name} configuration checks no citations: nothing to ablate"
        )
    checker = answerer.draft_check.checker
    parts = CheckParts(
        pipeline.retriever.inner,
        base.embedder,
        answerer.top_k,
        document_text=checker.document_text,
        fallback=answerer.fallback,
        prompts=answerer.prompts,
    )
    return [
        asdict(outcome)
        for outcome in ablate(run, parts, checker.min_support, off=checker.rules.off)
    ]


def _describe_dataset(dataset: Dataset, folder: Path) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "path": str(folder),
        "questions": len(dataset.questions),
        "answerable": dataset.answerable,
        "unanswerable": len(dataset.questions) - dataset.answerable,
        **dataset.notes,
    }


def _describe_settings(base: SharedParts) -> dict[str, Any]:
    settings = base.settings
    return {
        "llm": settings.llm,
        "llm_model": settings.llm_model,
        "embedder": base.embedder.name,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "top_k": settings.top_k,
        "min_retrieval_score": settings.min_retrieval_score,
        "min_support": settings.min_support,
        "quote_fallback": settings.quote_fallback and settings.llm != "extractive",
        "quote_min_score": settings.quote_min_score,
        "check_rules_off": sorted(settings.check_rules_off),
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error.msg})") from error
    if not isinstance(loaded, dict) or "metrics" not in loaded:
        raise ValueError(f"{path}: not a results.json of qa eval")
    return loaded
