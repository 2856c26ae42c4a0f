"""The report's charts, drawn with matplotlib into SVG text that the HTML page holds inline."""

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from eval.metrics import find_metric

_COLOURS = ["#3366aa", "#dd8833", "#449944", "#aa4466"]


def metric_bars(runs: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str | None:
    """Horizontal bars of the 0-1 metrics, one colour per configuration, with 95% intervals."""
    shown = [key for key in keys if any(_value(run, key) is not None for run in runs)]
    if not shown:
        return None
    figure = Figure(figsize=(8, 0.22 * len(shown) * len(runs) + 1.0))
    axes = figure.subplots()
    height = 0.8 / len(runs)
    for index, run in enumerate(runs):
        positions = [row + index * height for row in range(len(shown))]
        values = [_value(run, key) or 0.0 for key in shown]
        errors = _error_bars(run, shown, values)
        axes.barh(
            positions,
            values,
            height=height,
            xerr=errors,
            color=_COLOURS[index % len(_COLOURS)],
            label=run["config"],
            error_kw={"ecolor": "#333333", "capsize": 2, "linewidth": 0.8},
        )
    axes.set_yticks([row + 0.4 - height / 2 for row in range(len(shown))], shown)
    axes.set_xlim(0, 1)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(runs), frameon=False)
    axes.invert_yaxis()
    return _svg(figure)


def latency_histogram(runs: Sequence[Mapping[str, Any]]) -> str | None:
    """Time to the whole answer, per configuration."""
    series = [
        (run["config"], [r["latency_ms"] for r in run["per_question"] if r.get("latency_ms")])
        for run in runs
    ]
    series = [(name, values) for name, values in series if values]
    if not series:
        return None
    figure = Figure(figsize=(8, 3.2))
    axes = figure.subplots()
    for index, (name, values) in enumerate(series):
        axes.hist(values, bins=30, alpha=0.6, label=name, color=_COLOURS[index % len(_COLOURS)])
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("questions")
    axes.legend()
    return _svg(figure)


def _value(run: Mapping[str, Any], key: str) -> float | None:
    return find_metric(run["metrics"], key)


def _error_bars(
    run: Mapping[str, Any], keys: Sequence[str], values: Sequence[float]
) -> list[list[float]]:
    intervals = run.get("confidence_intervals", {})
    low, high = [], []
    for key, value in zip(keys, values, strict=True):
        interval = intervals.get(key)
        low.append(max(value - interval[0], 0.0) if interval else 0.0)
        high.append(max(interval[1] - value, 0.0) if interval else 0.0)
    return [low, high]


def _svg(figure: Figure) -> str:
    figure.tight_layout()
    buffer = io.StringIO()
    # A bare Figure (no pyplot): nothing global to close, no GUI backend involved.
    # The same SVG for the same numbers (fixed ids, no date); text stays text, not glyph paths.
    with matplotlib.rc_context({"svg.hashsalt": "qa-eval", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the page holds it inline: no XML prologue
