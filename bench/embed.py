"""Embedding speed: torch (sentence-transformers) against onnxruntime, in one process.

    .venv/bin/python bench/embed.py [--passages 128] [--queries 200] [--rounds 2] [--json]

Passages are SciFact abstracts cut into 200 cl100k tokens (a full ingest chunk); queries are
SciFact's claims, one per call, as questions arrive. Both embedders take the same inputs, each
round in the other order, so drift and other load on the machine hit both alike; the ratios are
onnx/torch (above 1: onnx is faster for passages/s, below 1: it is faster for latency).
"""

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path and bench/ingest.py would shadow "ingest".
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import tiktoken
import torch

from qa_service.core.config import Settings
from qa_service.core.offline import enforce_offline
from qa_service.embedders.base import Embedder, Vectors, minilm_model_path
from qa_service.embedders.onnx import ModelFolder, OnnxEmbedder
from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder

SCIFACT = Path(__file__).resolve().parents[2] / "shared/datasets/scifact_beir"
RESULTS = Path(__file__).resolve().parent / "results" / "embed.json"
PASSAGE_TOKENS = 200
BATCH_SIZES = (8, 16, 32, 64)


def read_texts(name: str, count: int) -> list[str]:
    texts: list[str] = []
    with (SCIFACT / name).open(encoding="utf-8") as lines:
        for line in lines:
            if len(texts) == count:
                break
            texts.append(json.loads(line)["text"])
    return texts


def make_passages(count: int) -> list[str]:
    """``count`` passages of exactly 200 cl100k tokens, cut from consecutive abstracts."""
    encoding = tiktoken.get_encoding("cl100k_base")
    tokens: list[int] = []
    for text in read_texts("corpus.jsonl", count * 2):
        tokens += encoding.encode(text + "\n\n", disallowed_special=())
        if len(tokens) >= count * PASSAGE_TOKENS:
            break
    starts = range(0, count * PASSAGE_TOKENS, PASSAGE_TOKENS)
    return [encoding.decode(tokens[start : start + PASSAGE_TOKENS]) for start in starts]


def in_turn(sides: Sequence[Embedder], index: int) -> list[Embedder]:
    """Both sides, the first one going first on even rounds only."""
    return list(sides) if index % 2 == 0 else list(reversed(sides))


def timed(embedder: Embedder, batches: Sequence[list[str]]) -> float:
    started = time.perf_counter()
    for batch in batches:
        embedder.embed(batch)
    return time.perf_counter() - started


def passage_rates(
    sides: Sequence[Embedder], passages: list[str], batch_size: int, rounds: int
) -> dict[str, float]:
    batches = [
        passages[start : start + batch_size] for start in range(0, len(passages), batch_size)
    ]
    seconds: dict[str, list[float]] = {side.name: [] for side in sides}
    for index in range(rounds):
        for side in in_turn(sides, index):
            settle()
            seconds[side.name].append(timed(side, batches))
    return {name: len(passages) / statistics.median(times) for name, times in seconds.items()}


def query_latencies(
    sides: Sequence[Embedder], queries: list[str], rounds: int
) -> dict[str, list[float]]:
    milliseconds: dict[str, list[float]] = {side.name: [] for side in sides}
    for index in range(rounds):
        for side in in_turn(sides, index):
            settle()
            milliseconds[side.name] += [timed(side, [[query]]) * 1000 for query in queries]
    return milliseconds


class OtherLoad:
    """The share of the machine's CPU time that other processes took while it was open.

    Above ~0.05 the absolute figures are low; the ratios hold better, both sides sharing it.
    """

    share = 0.0

    def __enter__(self) -> "OtherLoad":
        self._start = machine_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        others, total = (end - start for end, start in zip(machine_cpu(), self._start, strict=True))
        self.share = round(max(others / total, 0.0), 3)  # ticks round: a hair below 0 is 0


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the machine spent on processes other than this one, and in all."""
    with Path("/proc/stat").open(encoding="ascii") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle and iowait
    own = os.times()
    return (sum(ticks) - idle) / tick - (own.user + own.system), sum(ticks) / tick


def settle() -> None:
    """Let the other side's idle threads stop spinning (torch's OpenMP spins for a while)."""
    time.sleep(0.5)


class Named(Embedder):
    """Another name for an embedder: both sides are called all-MiniLM-L6-v2."""

    def __init__(self, inner: Embedder, name: str) -> None:
        self.inner, self.name, self.dimension = inner, name, inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=128, help="passages per batch size")
    parser.add_argument("--queries", type=int, default=200, help="single-query calls timed")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds per batch size")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as temp:
        settings = Settings(data_dir=Path(temp) / "data")
        enforce_offline(settings.cache_dir)
        passages = make_passages(args.passages)
        queries = read_texts("queries.jsonl", args.queries)
        started = time.perf_counter()
        onnx = OnnxEmbedder(settings.cache_dir, batch_size=max(BATCH_SIZES))
        onnx.embed(["export and load"])
        export_seconds = time.perf_counter() - started
        sides = [
            Named(SentenceTransformerEmbedder(batch_size=max(BATCH_SIZES)), "torch"),
            Named(onnx, "onnx"),
        ]
        # Untimed: loads torch's model and lets both settle on real lengths.
        for side in sides:
            side.embed(passages[:8] + queries[:8])
        vectors = [side.embed(passages + queries) for side in sides]
        rates: dict[int, dict[str, float]] = {}
        loads: dict[int, OtherLoad] = {}
        for size in BATCH_SIZES:
            with OtherLoad() as loads[size]:
                rates[size] = passage_rates(sides, passages, size, args.rounds)
        with OtherLoad() as query_load:
            latencies = query_latencies(sides, queries, args.rounds)

    tokenizer = ModelFolder.read(minilm_model_path()).tokenizer()
    word_pieces = [len(encoding.ids) for encoding in tokenizer.encode_batch(passages)]
    percentiles = {
        name: {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}
        for name, ms in latencies.items()
    }
    results: dict[str, Any] = {
        "passages": len(passages),
        "passage_word_pieces_mean": round(statistics.mean(word_pieces), 1),
        "queries": len(queries),
        "rounds": args.rounds,
        "threads": {"torch": torch.get_num_threads(), "onnx": onnx.threads},
        "passages_per_s": {
            str(size): {
                "torch": round(rate["torch"], 1),
                "onnx": round(rate["onnx"], 1),
                "ratio": round(rate["onnx"] / rate["torch"], 2),
                "others_cpu_share": loads[size].share,
            }
            for size, rate in rates.items()
        },
        "query_ms": {
            **{
                key: {
                    "torch": round(percentiles["torch"][key], 2),
                    "onnx": round(percentiles["onnx"][key], 2),
                    "ratio": round(percentiles["onnx"][key] / percentiles["torch"][key], 2),
                }
                for key in ("p50", "p95")
            },
            "others_cpu_share": query_load.share,
        },
        "max_abs_difference": float(np.abs(vectors[0] - vectors[1]).max()),
        "min_cosine": float((vectors[0] * vectors[1]).sum(axis=1).min()),
        "onnx_export_and_load_seconds": round(export_seconds, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:<28} {value}")
        print(f"{'written to':<28} {RESULTS}")


if __name__ == "__main__":
    main()
