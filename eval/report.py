"""``report.html``: one self-contained page (charts inline) rendered from ``results.json``.

The page is a Jinja template, ``eval/templates/report.html.j2``; this module only prepares
what it shows.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from eval.charts import latency_histogram, metric_bars
from eval.metrics import DEFINITIONS, LOWER_IS_BETTER, find_metric

TEMPLATES = Path(__file__).resolve().parent / "templates"
_SHARE_METRICS = [
    key for key in DEFINITIONS if not key.startswith(("latency", "first_", "passage_tokens"))
]


def render_report(results: Mapping[str, Any], comparison: Mapping[str, Any] | None) -> str:
    runs = [results, *results["configs"].values()]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2").render(
        results=results,
        runs=runs,
        summary=summary_rows(runs),
        metrics_chart=metric_bars(runs, _SHARE_METRICS),
        latency_chart=latency_histogram(runs),
        comparison=comparison,
    )


def summary_rows(runs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric that any configuration measured: name, definition, value and interval
    for each configuration."""
    rows = []
    for key, definition in DEFINITIONS.items():
        cells = [
            {
                "value": find_metric(run["metrics"], key),
                "interval": run["confidence_intervals"].get(key),
            }
            for run in runs
        ]
        if any(cell["value"] is not None for cell in cells):
            rows.append(
                {
                    "metric": key,
                    "definition": definition,
                    "lower_is_better": key in LOWER_IS_BETTER,
                    "cells": cells,
                }
            )
    return rows
