"""Retrieval at 10k and 100k chunks: the hybrid retriever against dense-only search.

    .venv/bin/python bench/retrieval.py [--sizes 10000,100000] [--queries 400] [--hnsw ...] [--json]

Chunks are real text: SciFact abstracts and ClapNQ passages cut into windows of one to three
sentences (bench/chunk_pool.py). Their vectors are made once by the service's embedder
(``QA_EMBEDDER``) and kept in ``--cache``; a run builds fresh stores from them. Queries are
SciFact claims and ClapNQ questions, alternately. At each size, in one process:

- write: chunks/s through ``ChromaChunkStore.write_documents`` (precomputed vectors, the ingest
  pipeline's batches) with the keyword index against Chroma alone, the first keyword search after
  the writes (the lazy BM25 build), ``sync_keyword_index`` into an empty index and one in step;
- latency: ``HybridRetriever.run(query, top_k=5)`` against ``DenseRetriever.run`` on the same
  store, both embedding the query, alternating which goes first; the hybrid's time by part;
- recall: Chroma's HNSW top 10 and top 50 against exact search (numpy over every stored vector);
  ``--hnsw ef_search=256,max_neighbors=48`` (repeatable) also measures other graph settings;
- memory: the peak RSS of a fresh process that opens the store and answers queries, per retriever.

Ratios are hybrid/dense (latency, memory) and with/without the keyword index (writes).
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where "ingest" is bench/ingest.py;
# the repository's root instead also makes "bench.chunk_pool" importable.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import hashlib
import json
import os
import subprocess
import tempfile
import time
from argparse import SUPPRESS
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.chunk_pool import (
    WINDOWS,
    ChunkCache,
    PoolDocument,
    read_queries,
    store_documents,
    take,
)
from qa_service.core.config import Settings
from qa_service.core.offline import enforce_offline
from qa_service.core.schema import Filters, Passage
from qa_service.embedders.base import Embedder, Vectors
from qa_service.embedders.factory import build_embedder
from qa_service.retrieval.base import Retriever
from qa_service.retrieval.dense import DenseRetriever
from qa_service.retrieval.factory import build_retriever
from qa_service.stores.chroma import (
    HNSW_CONFIGURATION,
    ChromaChunkStore,
    ChromaEmbeddingFunction,
    chroma_client,
    open_chunk_store,
)
from qa_service.stores.keyword import KeywordHit, KeywordIndex
from qa_service.stores.protocol import DocumentChunks
from qa_service.stores.records import chunk_id

RESULTS = Path(__file__).resolve().parent / "results" / "retrieval.json"
CACHE = Path(__file__).resolve().parent / ".cache" / "retrieval"
# Chroma refuses more than ~5,000 records a call.
ADD_BATCH = 4096
TOP_K = 5
RECALL_DEPTHS = (10, 50)
# Queries the memory processes answer: enough to build every structure a query touches.
MEMORY_QUERIES = 50
MEMORY_KINDS = ("embedder_only", "dense", "hybrid")
# What a hybrid query spends its time on; fuse_select is the rest (fusion, merging, capping).
PARTS = ("embed", "dense_search", "bm25", "keyword_count", "chroma_count", "fetch", "fuse_select")
GOALS = {"hybrid_p50_ms_at_100k": 30.0, "hnsw_recall_at_10": 0.98}

Timings = dict[str, float]


# -- Timed parts of a query --------------------------------------------------------------------


class Clock:
    """Seconds spent per part since the last ``take``."""

    def __init__(self) -> None:
        self.parts: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.parts[name] += time.perf_counter() - started

    def take(self) -> Timings:
        parts, self.parts = dict(self.parts), defaultdict(float)
        return parts


class TimedEmbedder(Embedder):
    def __init__(self, inner: Embedder, clock: Clock) -> None:
        self.inner, self.clock = inner, clock
        self.name, self.dimension = inner.name, inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self.clock.part("embed"):
            return self.inner.embed(texts)


class TimedKeywordIndex(KeywordIndex):
    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path)
        self.clock = clock

    def search(
        self,
        query: str,
        top_k: int,
        filters: Filters | None = None,
        candidates: Sequence[str] = (),
    ) -> list[KeywordHit]:
        with self.clock.part("bm25"):
            return super().search(query, top_k, filters, candidates)

    def count(self) -> int:
        with self.clock.part("keyword_count"):
            return super().count()


class TimedStore(ChromaChunkStore):
    """The store with a clock read around each search; a few microseconds a query."""

    def __init__(
        self,
        client: Any,
        collection: str,
        embedder: Embedder,
        keyword: KeywordIndex | None,
        clock: Clock,
    ) -> None:
        super().__init__(client, collection, embedder, keyword)
        self.clock = clock

    def search(self, vector: Vectors, top_k: int, filters: Filters | None = None) -> list[Passage]:
        with self.clock.part("dense_search"):
            return super().search(vector, top_k, filters)

    def keyword_search(
        self, query: str, top_k: int, filters: Filters | None = None, candidates: Sequence[str] = ()
    ) -> list[KeywordHit]:
        with self.clock.part("keyword_search"):
            return super().keyword_search(query, top_k, filters, candidates)

    def fetch(self, chunk_ids: Sequence[str], vector: Vectors | None = None) -> list[Passage]:
        with self.clock.part("fetch"):
            return super().fetch(chunk_ids, vector)


# -- Measurements ------------------------------------------------------------------------------


def write_batches(
    documents: Sequence[DocumentChunks], vectors: Vectors, batch: int
) -> Iterator[tuple[list[DocumentChunks], Vectors]]:
    """The ``write_documents`` calls of the ingest pipeline: whole documents, once about
    ``batch`` chunks are embedded."""
    row = 0
    group: list[DocumentChunks] = []
    for index, document in enumerate(documents):
        group.append(document)
        size = sum(len(chunks) for _, chunks in group)
        if size >= batch or index == len(documents) - 1:
            yield group, vectors[row : row + size]
            row, group = row + size, []


def time_queries(
    retrievers: dict[str, Retriever], queries: Sequence[str], clock: Clock
) -> tuple[dict[str, list[float]], list[Timings]]:
    """Milliseconds per query for each retriever (which goes first alternates), and the hybrid's
    parts per query."""
    times: dict[str, list[float]] = {name: [] for name in retrievers}
    parts: list[Timings] = []
    names = list(retrievers)
    for index, query in enumerate(queries):
        for name in names if index % 2 == 0 else names[::-1]:
            clock.take()
            started = time.perf_counter()
            retrievers[name].run(query, top_k=TOP_K)
            elapsed = time.perf_counter() - started
            times[name].append(1000 * elapsed)
            if name == "hybrid":
                parts.append({**clock.take(), "total": elapsed})
    return times, parts


def hybrid_parts(parts: Sequence[Timings]) -> dict[str, dict[str, float]]:
    """Mean and median milliseconds of each part of the hybrid's queries."""
    split: dict[str, list[float]] = defaultdict(list)
    for timing in parts:
        named = {name: timing.get(name, 0.0) for name in PARTS[:-1]}
        # keyword_search checks that the index is in step with Chroma on every query: it counts
        # the index's rows (SQLite, timed) and Chroma's records (the rest of it but BM25).
        named["chroma_count"] = timing.get("keyword_search", 0.0) - named["bm25"]
        named["chroma_count"] -= named["keyword_count"]
        named["fuse_select"] = timing["total"] - sum(named.values())
        for name, seconds in named.items():
            split[name].append(1000 * seconds)
    return {
        name: {"mean": round(float(np.mean(ms)), 2), "p50": round(float(np.median(ms)), 2)}
        for name, ms in split.items()
    }


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    p50, p95 = np.percentile(ms, [50, 95])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2)}


def exact_top(queries: Vectors, vectors: Vectors, depth: int) -> NDArray[np.int64]:
    """Row indices of the ``depth`` highest dot products per query (brute force)."""
    scores = queries @ vectors.T
    top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    return np.asarray(top, dtype=np.int64)


def recall(found: Sequence[Sequence[str]], exact: NDArray[np.int64], ids: Sequence[str]) -> float:
    depth = exact.shape[1]
    hits = [
        len(set(got) & {ids[row] for row in want}) / depth
        for got, want in zip(found, exact, strict=True)
    ]
    return round(float(np.mean(hits)), 4)


def hnsw_search(
    collection: Any, query_vectors: Vectors, depth: int
) -> tuple[list[list[str]], list[float]]:
    """Chroma's HNSW top ``depth`` per query (ids only, nothing else read), and ms per query."""
    found, ms = [], []
    for query in query_vectors:
        started = time.perf_counter()
        got = collection.query(query_embeddings=query[None, :], n_results=depth, include=[])
        ms.append(1000 * (time.perf_counter() - started))
        found.append(got["ids"][0])
    return found, ms


def hnsw_quality(
    collection: Any, query_vectors: Vectors, vectors: Vectors, ids: Sequence[str]
) -> dict[str, float]:
    """Recall against exact search and the median query time, at each depth."""
    results: dict[str, float] = {}
    for depth in RECALL_DEPTHS:
        found, ms = hnsw_search(collection, query_vectors, depth)
        exact = exact_top(query_vectors, vectors, depth)
        results[f"recall_at_{depth}"] = recall(found, exact, ids)
        results[f"query_ms_p50_at_{depth}"] = round(float(np.median(ms)), 2)
    return results


def store_hnsw(
    store: ChromaChunkStore,
    collection: Any,
    query_vectors: Vectors,
    vectors: Vectors,
    ids: Sequence[str],
) -> dict[str, float]:
    """The store's HNSW against exact search; what its search costs on top; exact search's time."""
    results = hnsw_quality(collection, query_vectors, vectors, ids)
    depth = max(RECALL_DEPTHS)
    search_ms, exact_ms = [], []
    for query in query_vectors[:100]:
        started = time.perf_counter()
        store.search(query, depth)
        search_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        exact_top(query[None, :], vectors, depth)
        exact_ms.append(1000 * (time.perf_counter() - started))
    # store.search also reads each hit's text and metadata: the hybrid's dense search does that.
    results[f"store_search_ms_p50_at_{depth}"] = round(float(np.median(search_ms)), 2)
    results[f"exact_search_ms_p50_at_{depth}"] = round(float(np.median(exact_ms)), 2)
    return results


def hnsw_variant(
    client: Any,
    embedder: Embedder,
    config: dict[str, Any],
    vectors: Vectors,
    ids: Sequence[str],
    query_vectors: Vectors,
) -> dict[str, Any]:
    """Build time, recall and query time of a bare collection with the HNSW settings ``config``."""
    name = "hnsw-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    collection = client.create_collection(
        name,
        embedding_function=ChromaEmbeddingFunction(embedder),
        configuration={"hnsw": config},
    )
    started = time.perf_counter()
    for begin in range(0, len(ids), ADD_BATCH):
        end = begin + ADD_BATCH
        collection.add(ids=list(ids[begin:end]), embeddings=vectors[begin:end])
    build_s = round(time.perf_counter() - started, 1)
    result = {**config, "build_s": build_s, **hnsw_quality(collection, query_vectors, vectors, ids)}
    client.delete_collection(name)
    return result


def parse_hnsw(text: str) -> dict[str, Any]:
    """``"ef_search=256,max_neighbors=48"`` -> HNSW_CONFIGURATION with those values."""
    config = dict(HNSW_CONFIGURATION)
    for pair in text.split(","):
        key, _, value = pair.partition("=")
        if key.strip() not in config or key.strip() == "space":
            raise argparse.ArgumentTypeError(
                f"{key!r}: choose ef_search, ef_construction or max_neighbors"
            )
        config[key.strip()] = int(value)
    return config


def rss(kind: str, data_dir: Path, cache: Path, queries: int) -> dict[str, float]:
    """Peak and final RSS (MiB) of a fresh process that opens the store at ``data_dir`` and runs
    queries through the retriever ``kind``; ``embedder_only`` embeds them and opens no store."""
    command = [sys.executable, __file__, "--memory-child", kind, "--store", str(data_dir)]
    command += ["--cache", str(cache), "--queries", str(queries)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    measured: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return measured


def memory_child(kind: str, data_dir: Path, cache: Path, queries: int) -> None:
    embedder = build_embedder(Settings(data_dir=cache))
    settings = Settings(data_dir=data_dir)
    if kind == "embedder_only":
        for query in read_queries(queries):
            embedder.embed([query])
    else:
        store = (
            open_chunk_store(settings, embedder)
            if kind == "hybrid"
            else ChromaChunkStore(chroma_client(settings), settings.collection, embedder)
        )
        retriever = build_retriever(settings, store, embedder, kind)
        for query in read_queries(queries):
            retriever.run(query, top_k=TOP_K)
    # VmHWM is this process's own peak; ru_maxrss may carry the parent's from before exec.
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    mib = {key: round(int(status[key].split()[0]) / 1024, 1) for key in ("VmHWM", "VmRSS")}
    print(json.dumps({"peak": mib["VmHWM"], "at_end": mib["VmRSS"]}))


@dataclass
class Run:
    """What every size shares: the embedder, the pool, the queries and where stores go."""

    settings: Settings
    embedder: Embedder
    cache: ChunkCache
    pool: list[PoolDocument]
    queries: list[str]
    warmup: list[str]
    root: Path
    hnsw: list[dict[str, Any]]


def measure_writes(
    run: Run, documents: Sequence[DocumentChunks], vectors: Vectors, embedder: TimedEmbedder
) -> tuple[TimedStore, dict[str, float]]:
    """Write the chunks into a store with a keyword index and into one without, call by call
    (which goes first alternates, so load on the machine hits both alike); the first store and
    the timings, with the lazy BM25 build after the writes and ``sync_keyword_index`` into an
    empty index and into an index in step."""
    size = len(vectors)
    stores: dict[str, TimedStore] = {}
    for name in ("keyword", "chroma_only"):
        settings = run.settings.model_copy(update={"data_dir": store_dir(run, size, name)})
        keyword = None
        if name == "keyword":
            path = settings.data_dir / "keyword" / f"{settings.collection}.sqlite3"
            keyword = TimedKeywordIndex(path, embedder.clock)
        client = chroma_client(settings)
        stores[name] = TimedStore(client, settings.collection, embedder, keyword, embedder.clock)
    seconds = dict.fromkeys(stores, 0.0)
    names = list(stores)
    batches = write_batches(documents, vectors, run.settings.ingest_batch)
    for index, (group, rows) in enumerate(batches):
        for name in names if index % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            stores[name].write_documents(group, rows)
            seconds[name] += time.perf_counter() - started
    for name, written in stores.items():
        if written.count() != size:
            raise SystemExit(f"the {name} store holds {written.count()} chunks, not {size}")
    store = stores["keyword"]
    depth = run.settings.retrieval_candidates
    timings = {
        "first_keyword_search_s": timed(lambda: store.keyword_search(run.warmup[0], depth)),
        "warm_keyword_search_s": timed(lambda: store.keyword_search(run.warmup[1], depth)),
    }
    empty = KeywordIndex(run.root / f"{size}-sync" / "keyword.sqlite3")
    syncing = ChromaChunkStore(store_client(run, size), store.name, embedder, empty)
    for state in ("empty", "in_step"):
        started = time.perf_counter()
        changed = syncing.sync_keyword_index()
        timings[f"sync_keyword_index_{state}_s"] = time.perf_counter() - started
        if changed != ((size, 0) if state == "empty" else (0, 0)):
            raise SystemExit(f"sync_keyword_index into an {state} index changed {changed}")
    with_keyword, chroma_only = size / seconds["keyword"], size / seconds["chroma_only"]
    return store, {
        "batch_chunks": run.settings.ingest_batch,
        "chroma_only_chunks_per_s": round(chroma_only, 1),
        "with_keyword_chunks_per_s": round(with_keyword, 1),
        "ratio": round(with_keyword / chroma_only, 3),
        **{name: round(value, 3) for name, value in timings.items()},
    }


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def store_dir(run: Run, size: int, name: str = "keyword") -> Path:
    """Where the store of ``size`` chunks with (``keyword``) or without a keyword index lives."""
    return run.root / f"{size}-{name}"


def store_client(run: Run, size: int) -> Any:
    return chroma_client(run.settings.model_copy(update={"data_dir": store_dir(run, size)}))


def measure_latency(run: Run, store: ChromaChunkStore, embedder: TimedEmbedder) -> dict[str, Any]:
    retrievers: dict[str, Retriever] = {
        "dense": DenseRetriever(store, embedder),
        "hybrid": build_retriever(run.settings, store, embedder, "hybrid"),
    }
    time_queries(retrievers, run.warmup, embedder.clock)
    times, parts = time_queries(retrievers, run.queries, embedder.clock)
    dense, hybrid = percentiles(times["dense"]), percentiles(times["hybrid"])
    return {
        "dense": dense,
        "hybrid": hybrid,
        "ratio_p50": round(hybrid["p50"] / dense["p50"], 2),
        "ratio_p95": round(hybrid["p95"] / dense["p95"], 2),
        "hybrid_parts_ms": hybrid_parts(parts),
    }


def measure_size(run: Run, size: int) -> dict[str, Any]:
    documents = store_documents(take(run.pool, size))
    vectors = run.cache.vectors(run.pool, size)
    ids = [chunk_id(info, chunk.index) for info, chunks in documents for chunk in chunks]
    embedder = TimedEmbedder(run.embedder, Clock())
    store, write = measure_writes(run, documents, vectors, embedder)
    latency = measure_latency(run, store, embedder)

    query_vectors = run.embedder.embed(run.queries)
    collection = store_client(run, size).get_collection(
        store.name, embedding_function=ChromaEmbeddingFunction(run.embedder)
    )
    hnsw: dict[str, Any] = store_hnsw(store, collection, query_vectors, vectors, ids)
    if run.hnsw:
        client = chroma_client(run.settings.model_copy(update={"data_dir": run.root / "sweep"}))
        hnsw["sweep"] = [
            hnsw_variant(client, run.embedder, config, vectors, ids, query_vectors)
            for config in [dict(HNSW_CONFIGURATION), *run.hnsw]
        ]

    folder = store_dir(run, size)
    memory = {kind: rss(kind, folder, run.cache.folder, MEMORY_QUERIES) for kind in MEMORY_KINDS}
    return {
        "chunks": size,
        "documents": len(documents),
        "latency_ms": latency,
        "hnsw": hnsw,
        "write": write,
        "rss_mib": {
            **memory,
            "peak_ratio": round(memory["hybrid"]["peak"] / memory["dense"]["peak"], 2),
        },
    }


ROWS: tuple[tuple[str, str, str], ...] = (
    # label, path into a size's results ("a.b|c.d" shows "b / d"), unit
    ("dense p50 / p95", "latency_ms.dense.p50|latency_ms.dense.p95", "ms"),
    ("hybrid p50 / p95", "latency_ms.hybrid.p50|latency_ms.hybrid.p95", "ms"),
    ("  hybrid/dense p50 / p95", "latency_ms.ratio_p50|latency_ms.ratio_p95", ""),
    *(
        (f"  hybrid: {part}, mean", f"latency_ms.hybrid_parts_ms.{part}.mean", "ms")
        for part in PARTS
    ),
    ("HNSW recall@10 / @50", "hnsw.recall_at_10|hnsw.recall_at_50", ""),
    ("HNSW ids only, top 50", "hnsw.query_ms_p50_at_50", "ms"),
    ("store.search, top 50", "hnsw.store_search_ms_p50_at_50", "ms"),
    ("exact search (numpy), top 50", "hnsw.exact_search_ms_p50_at_50", "ms"),
    ("write, Chroma only", "write.chroma_only_chunks_per_s", "chunks/s"),
    ("write, with keyword index", "write.with_keyword_chunks_per_s", "chunks/s"),
    ("  with/without", "write.ratio", ""),
    ("first keyword search (BM25 build)", "write.first_keyword_search_s", "s"),
    (
        "sync_keyword_index: empty, in step",
        "write.sync_keyword_index_empty_s|write.sync_keyword_index_in_step_s",
        "s",
    ),
    ("peak RSS embedder only", "rss_mib.embedder_only.peak", "MiB"),
    ("peak RSS dense / hybrid", "rss_mib.dense.peak|rss_mib.hybrid.peak", "MiB"),
    ("  hybrid/dense", "rss_mib.peak_ratio", ""),
    ("RSS at end dense / hybrid", "rss_mib.dense.at_end|rss_mib.hybrid.at_end", "MiB"),
)


def table(sizes: Sequence[dict[str, Any]]) -> str:
    def cell(size: dict[str, Any], paths: str) -> str:
        values = []
        for path in paths.split("|"):
            value: Any = size
            for key in path.split("."):
                value = value[key]
            values.append(str(value))
        return " / ".join(values)

    lines = [f"{'chunks':<38}" + "".join(f"{size['chunks']:>18,}" for size in sizes)]
    for label, paths, unit in ROWS:
        name = f"{label}, {unit}" if unit else label
        lines.append(f"{name:<38}" + "".join(f"{cell(size, paths):>18}" for size in sizes))
    for size in sizes:
        for variant in size["hnsw"].get("sweep", []):
            lines.append(f"HNSW at {size['chunks']:,}: {json.dumps(variant)}")
    return "\n".join(lines)


def summary(
    run: Run,
    settings: Settings,
    cache: ChunkCache,
    sizes: list[dict[str, Any]],
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    at_100k = [size["latency_ms"]["hybrid"]["p50"] for size in sizes if size["chunks"] == 100_000]
    recall_at_10 = min(size["hnsw"]["recall_at_10"] for size in sizes)
    return {
        "command": " ".join([".venv/bin/python bench/retrieval.py", *sys.argv[1:]]),
        "embedder": {
            "runtime": settings.embedder,
            "model": run.embedder.name,
            "cached_vectors_made_by": cache.made_by,
        },
        "hnsw_configuration": HNSW_CONFIGURATION,
        "hybrid": {
            "top_k": TOP_K,
            "candidates": settings.retrieval_candidates,
            "fusion": settings.fusion,
        },
        "queries": {
            "timed": len(run.queries),
            "warmup": len(run.warmup),
            "memory_process": MEMORY_QUERIES,
            "sources": "SciFact claims and ClapNQ questions, alternately",
        },
        "chunk_pool": {
            "documents": len(run.pool),
            "chunks": sum(len(document.spans) for document in run.pool),
            "windows_of_sentences": list(WINDOWS),
        },
        "cpus": len(os.sched_getaffinity(0)),
        # Other work on the machine shows here; latency figures move with it.
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "sizes": sizes,
        "goals": {
            "hybrid_p50_ms_at_100k": {
                "goal": GOALS["hybrid_p50_ms_at_100k"],
                "measured": at_100k[0] if at_100k else None,
                "met": at_100k[0] <= GOALS["hybrid_p50_ms_at_100k"] if at_100k else None,
            },
            "hnsw_recall_at_10": {
                "goal": GOALS["hnsw_recall_at_10"],
                "measured": recall_at_10,
                "met": recall_at_10 >= GOALS["hnsw_recall_at_10"],
            },
        },
    }


def size_list(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=size_list, default=[10_000, 100_000], help="chunks")
    parser.add_argument("--queries", type=int, default=400, help="timed queries per size")
    parser.add_argument("--warmup", type=int, default=20, help="untimed queries first")
    parser.add_argument(
        "--hnsw",
        type=parse_hnsw,
        action="append",
        default=[],
        metavar="KEY=N,...",
        help="also measure a bare collection with these HNSW settings (repeatable)",
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="chunk pool and vectors")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--memory-child", choices=MEMORY_KINDS, help=SUPPRESS)
    parser.add_argument("--store", type=Path, help=SUPPRESS)
    args = parser.parse_args()
    # The embedder's exported model lives in the cache too; stores go in a temporary folder.
    settings = Settings(data_dir=args.cache)
    enforce_offline(settings.cache_dir)
    if args.memory_child:
        memory_child(args.memory_child, args.store, args.cache, args.queries)
        return
    embedder = build_embedder(settings)
    cache = ChunkCache(args.cache, embedder, settings.embedder)
    pool = cache.pool()
    queries = read_queries(args.queries + args.warmup)
    load_before = os.getloadavg()
    sizes = []
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as temp:
        run = Run(
            settings=settings,
            embedder=embedder,
            cache=cache,
            pool=pool,
            queries=queries[: args.queries],
            warmup=queries[args.queries :],
            root=Path(temp),
            hnsw=args.hnsw,
        )
        for size in args.sizes:
            print(f"measuring {size:,} chunks", file=sys.stderr)
            sizes.append(measure_size(run, size))
    results = summary(run, settings, cache, sizes, load_before)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(table(sizes))
        print(f"{'goals':<38}{json.dumps(results['goals'])}\n{'written to':<38}{RESULTS}")


if __name__ == "__main__":
    main()
