"""Evidence-first prompts against whole passages: the local model's time to the first token, to
the whole answer, and what it answers, question by question in one process.

    .venv/bin/python bench/evidence.py [DATASET ...] [--sample 6] [--budgets 400,0] [--json]

DATASET defaults to eval/datasets/interpol-news and eval/datasets/qa-service-docs; ``--sample N``
takes N answerable and N unanswerable questions of each (the eval's fixed seed). Each question
is answered once per passage budget (``QA_EVIDENCE_TOKENS``; 0 = whole passages), the order of
the budgets alternating from one question to the next so that load on the machine falls on both
alike. The model (``QA_LLM``, default local) is loaded and its fixed prompt start cached before
the first question. Figures: medians of first token, answer and passage tokens per budget, their
ratios to the first budget's, and answer contains gold / refusals per budget.
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where "ingest" is bench/ingest.py.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import statistics
import tempfile
from collections import defaultdict
from typing import Any

from eval.loading import load_dataset
from eval.pipelines import build_pipeline
from eval.score import contains_gold
from qa_service.answering.question import Question
from qa_service.core.config import Settings
from qa_service.services import Services

DATASETS = ["eval/datasets/interpol-news", "eval/datasets/qa-service-docs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", default=DATASETS)
    parser.add_argument("--sample", type=int, default=6)
    parser.add_argument("--budgets", default="400,0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    budgets = [int(part) for part in args.budgets.split(",")]

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch))
        services = Services(settings)
        services.warm_up()
        rows: list[dict[str, Any]] = []
        for folder in args.datasets:
            dataset = load_dataset(Path(folder), sample=args.sample)
            pipeline = build_pipeline("default", services, dataset.name, dataset.corpus.fingerprint)
            dataset.corpus.ingest(pipeline.ingestor)
            answerers = {
                budget: services.answerer_over(
                    pipeline.collection, pipeline.retriever, evidence_tokens=budget
                )
                for budget in budgets
            }
            for number, item in enumerate(dataset.questions):
                order = budgets if number % 2 == 0 else budgets[::-1]
                for budget in order:
                    answer = answerers[budget].run(Question(item.question))
                    rows.append(
                        {
                            "dataset": dataset.name,
                            "id": item.id,
                            "budget": budget,
                            "answerable": item.answerable,
                            "refused": answer.refused,
                            "contains": contains_gold(answer.answer, item.answers)
                            if item.answers and not answer.refused
                            else None,
                            "first_token_ms": answer.timings_ms.get("first_token"),
                            "total_ms": answer.timings_ms.get("total"),
                            "passage_tokens": answer.passage_tokens,
                        }
                    )
                    print(json.dumps(rows[-1]), file=sys.stderr)
    summary = summarize(rows, budgets)
    if args.json:
        print(json.dumps({"summary": summary, "rows": rows}, indent=2))
    else:
        print_table(summary)


def summarize(rows: list[dict[str, Any]], budgets: list[int]) -> dict[str, dict[str, Any]]:
    by_budget: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_budget[row["budget"]].append(row)
    summary: dict[str, dict[str, Any]] = {}
    for budget in budgets:
        found = by_budget[budget]
        answerable = [r for r in found if r["answerable"]]
        unanswerable = [r for r in found if not r["answerable"]]
        summary[str(budget)] = {
            "questions": len(found),
            "first_token_ms.p50": _median(r["first_token_ms"] for r in found),
            "total_ms.p50": _median(r["total_ms"] for r in found),
            "passage_tokens.p50": _median(r["passage_tokens"] for r in found),
            "answer_contains": _share(r["contains"] for r in answerable),
            "answerable_refused": _share(r["refused"] for r in answerable),
            "unanswerable_refused": _share(r["refused"] for r in unanswerable),
        }
    base = summary[str(budgets[0])]
    for figures in summary.values():
        for key in ("first_token_ms.p50", "total_ms.p50", "passage_tokens.p50"):
            if base[key] and figures[key] is not None:
                figures[f"{key} ratio"] = round(figures[key] / base[key], 2)
    return summary


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    keys = list(next(iter(summary.values())))
    print("| budget | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for budget, figures in summary.items():
        label = "whole passages" if budget == "0" else f"{budget} tokens"
        print(f"| {label} | " + " | ".join(str(figures[key]) for key in keys) + " |")


def _median(values: Any) -> float | None:
    found = [value for value in values if value is not None]
    return round(statistics.median(found), 1) if found else None


def _share(values: Any) -> float | None:
    found = [bool(value) for value in values if value is not None]
    return round(sum(found) / len(found), 3) if found else None


if __name__ == "__main__":
    main()
