"""The CI gate: thresholds per metric in a YAML file, checked against a run's metrics.

    # eval/gates/extractive/interpol-news.yaml
    answer.answer_contains: {min: 0.5}
    refusal.false_refusal_rate: {max: 0.1}

A metric that is ``null`` in the run (not measured) fails its threshold; so does a name that
no metric has, since a typo must not pass silently.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eval.metrics import metric_value


class GateError(ValueError):
    """The gate file cannot be read or says something that is not a threshold."""


@dataclass(frozen=True)
class Threshold:
    metric: str
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class GateFailure:
    metric: str
    value: float | None
    threshold: str  # "min 0.5", "max 0.1"; empty when no metric has that name

    def __str__(self) -> str:
        if not self.threshold:
            return f"{self.metric}: no such metric"
        if self.value is None:
            return f"{self.metric} = null (not measured), needs {self.threshold}"
        bound = "<" if self.threshold.startswith("min") else ">"
        return f"{self.metric} = {self.value:.4g} {bound} {self.threshold}"


def load_gate(path: Path) -> list[Threshold]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise GateError(f"{path}: not YAML ({error})") from error
    if not isinstance(loaded, dict) or not loaded:
        raise GateError(f"{path}: expected 'metric: {{min: x}}' or '{{max: x}}' lines")
    thresholds = []
    for metric, bounds in loaded.items():
        if not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max"}:
            raise GateError(f"{path}: {metric}: give min and/or max, e.g. {{min: 0.5}}")
        if not all(isinstance(bound, int | float) for bound in bounds.values()):
            raise GateError(f"{path}: {metric}: thresholds must be numbers")
        thresholds.append(Threshold(str(metric), bounds.get("min"), bounds.get("max")))
    return thresholds


def check_gate(metrics: Mapping[str, Any], thresholds: list[Threshold]) -> list[GateFailure]:
    """Every threshold the metrics miss; an empty list means the gate passes."""
    failures = []
    for threshold in thresholds:
        try:
            value = metric_value(metrics, threshold.metric)
        except (KeyError, ValueError):
            failures.append(GateFailure(threshold.metric, None, ""))
            continue
        if threshold.minimum is not None and (value is None or value < threshold.minimum):
            failures.append(GateFailure(threshold.metric, value, f"min {threshold.minimum:g}"))
        if threshold.maximum is not None and (value is None or value > threshold.maximum):
            failures.append(GateFailure(threshold.metric, value, f"max {threshold.maximum:g}"))
    return failures
