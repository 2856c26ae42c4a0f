"""A run beside a previous one (``--baseline``): metric changes, and the questions that got worse.

A question got worse when it gained a failure reason it did not have, or when its answer F1 or
its nDCG@10 fell by ``WORSE_BY`` or more. A metric change counts as beyond noise when the
baseline's value lies outside this run's 95% bootstrap interval.
"""

from collections.abc import Mapping
from typing import Any

from eval.metrics import DEFINITIONS, find_metric

WORSE_BY = 0.1


def compare(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """Each configuration of ``current`` against the same-named one of ``baseline``."""
    compared = {}
    for name, run in _configs(current).items():
        before = _configs(baseline).get(name)
        if before is not None:
            compared[name] = {
                "metrics": metric_changes(run, before),
                "worse": worse_questions(run["per_question"], before["per_question"]),
            }
    return {"baseline_created": baseline.get("created"), "configs": compared}


def metric_changes(run: Mapping[str, Any], before: Mapping[str, Any]) -> list[dict[str, Any]]:
    changes = []
    for key in DEFINITIONS:
        now, then = find_metric(run["metrics"], key), find_metric(before["metrics"], key)
        if now is None and then is None:
            continue
        interval = run.get("confidence_intervals", {}).get(key)
        beyond_noise = (
            interval is not None and then is not None and not interval[0] <= then <= interval[1]
        )
        delta = None if now is None or then is None else round(now - then, 4)
        changes.append(
            {
                "metric": key,
                "now": now,
                "before": then,
                "delta": delta,
                "beyond_noise": beyond_noise,
            }
        )
    return changes


def worse_questions(
    records: list[Mapping[str, Any]], previous: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    earlier = {record["id"]: record for record in previous}
    worse = []
    for record in records:
        before = earlier.get(record["id"])
        if before is None:
            continue
        reasons = [f"now: {f}" for f in record["failures"] if f not in before["failures"]]
        for label, now, then in (
            ("answer F1", record.get("answer_f1"), before.get("answer_f1")),
            ("nDCG@10", _ndcg(record), _ndcg(before)),
        ):
            if now is not None and then is not None and now <= then - WORSE_BY:
                reasons.append(f"{label} {then:.2f} -> {now:.2f}")
        if reasons:
            worse.append(
                {
                    "id": record["id"],
                    "question": record["question"],
                    "changes": reasons,
                    "answer": record.get("answer"),
                    "answer_before": before.get("answer"),
                }
            )
    return worse


def _configs(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {str(results.get("config", "default")): results}
    found.update(results.get("configs", {}))
    return found


def _ndcg(record: Mapping[str, Any]) -> float | None:
    retrieval = record.get("retrieval")
    return None if not retrieval else float(retrieval["ndcg@10"])
