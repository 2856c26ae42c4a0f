"""Ingest throughput: end-to-end ``Ingestor.run`` against raw embedding of the same chunks.

    .venv/bin/python bench/ingest.py [--docs 500] [--rounds 3] [--json]

Both sides use one model in one process; raw embedding replays the exact ``embed`` calls the
pipeline made (same texts, same grouping), so the ratio is the pipeline's own overhead.
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and "ingest" would import this file.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from ingest.pipeline import Ingestor
from ingest.split import TokenSplitter
from qa_service.core.config import Settings
from qa_service.core.offline import enforce_offline
from qa_service.core.schema import Chunk, DocumentInfo
from qa_service.embedders.base import Embedder, Vectors
from qa_service.embedders.factory import build_embedder
from qa_service.stores.chroma import ChromaChunkStore, chroma_client, open_chunk_store
from qa_service.stores.protocol import DocumentChunks

CORPUS = Path(__file__).resolve().parents[2] / "shared/datasets/scifact_beir/corpus.jsonl"
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"


class Recorder(Embedder):
    """Keeps the pipeline's embed calls, so the raw side replays exactly the same batches."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.batches: list[list[str]] = []
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.batches.append(list(texts))
        started = time.perf_counter()
        vectors = self.inner.embed(texts)
        self.seconds += time.perf_counter() - started
        return vectors


class TimedSplitter(TokenSplitter):
    seconds = 0.0

    def run(self, doc_id: str, text: str, page_starts: tuple[int, ...] = ()) -> list[Chunk]:
        started = time.perf_counter()
        chunks = super().run(doc_id, text, page_starts)
        self.seconds += time.perf_counter() - started
        return chunks


class TimedStore(ChromaChunkStore):
    seconds = 0.0

    def write_chunks(self, documents: Sequence[DocumentChunks], vectors: Vectors) -> None:
        started = time.perf_counter()
        super().write_chunks(documents, vectors)
        self.seconds += time.perf_counter() - started

    def commit(self, documents: Sequence[DocumentInfo]) -> None:
        started = time.perf_counter()
        super().commit(documents)
        self.seconds += time.perf_counter() - started


def write_corpus(folder: Path, count: int) -> int:
    chars = 0
    with CORPUS.open(encoding="utf-8") as lines:
        for _, line in zip(range(count), lines, strict=False):
            record = json.loads(line)
            text = f"{record['title']}\n\n{record['text']}"
            (folder / f"{record['_id']}.txt").write_text(text, encoding="utf-8")
            chars += len(text)
    return chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500, help="documents to ingest")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each side (>= 2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    rounds = max(args.rounds, 2)
    raw: list[float] = []
    pipeline: list[float] = []
    split = dict.fromkeys(("embed", "split", "write", "other"), 0.0)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as temp:
        root = Path(temp)
        settings = Settings(data_dir=root / "data")
        enforce_offline(settings.cache_dir)
        corpus = root / "corpus"
        corpus.mkdir()
        chars = write_corpus(corpus, args.docs)
        embedder = build_embedder(settings)  # QA_EMBEDDER, as the service would
        splitter = TokenSplitter(settings.chunk_size, settings.chunk_overlap)
        # Untimed: loads the model, lets torch settle on real sequence lengths and starts Chroma.
        warm = settings.model_copy(update={"data_dir": root / "warm"})
        Ingestor(open_chunk_store(warm, embedder), embedder, splitter).run(
            sorted(corpus.iterdir())[:16]
        )

        batches: list[list[str]] = []

        def ingest(index: int) -> None:
            # Thin timing subclasses (a clock read per call) give the split of the timed run itself.
            fresh = settings.model_copy(update={"data_dir": root / f"store-{index}"})
            recorder = Recorder(embedder)
            timed_split = TimedSplitter(settings.chunk_size, settings.chunk_overlap)
            store = TimedStore(chroma_client(fresh), fresh.collection, recorder)
            started = time.perf_counter()
            report = Ingestor(store, recorder, timed_split).run([corpus])
            pipeline.append(time.perf_counter() - started)
            if not report.ok or (batches and recorder.batches != batches):
                raise SystemExit(f"ingest round {index} failed or made different embed calls")
            batches[:] = recorder.batches
            parts = (recorder.seconds, timed_split.seconds, store.seconds)
            for key, seconds in zip(split, (*parts, pipeline[-1] - sum(parts)), strict=True):
                split[key] += seconds / rounds

        def embed_raw() -> None:
            started = time.perf_counter()
            for batch in batches:
                embedder.embed(batch)
            raw.append(time.perf_counter() - started)

        # Alternate which side goes first (I R R I ...), so order and drift hit both alike;
        # ingest goes first once because raw replays the embed calls it records.
        for index in range(rounds):
            if index % 2 == 0:
                ingest(index)
                embed_raw()
            else:
                embed_raw()
                ingest(index)

    chunks = sum(len(batch) for batch in batches)
    raw_rate = chunks / statistics.median(raw)
    e2e_rate = chunks / statistics.median(pipeline)
    results: dict[str, Any] = {
        "documents": args.docs,
        "chunks": chunks,
        "chars": chars,
        "embed_calls": len(batches),
        "raw_chunks_per_s": round(raw_rate, 1),
        "end_to_end_chunks_per_s": round(e2e_rate, 1),
        "ratio": round(e2e_rate / raw_rate, 3),
        "raw_seconds": [round(s, 3) for s in raw],
        "end_to_end_seconds": [round(s, 3) for s in pipeline],
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ingest_split_seconds": {key: round(value, 3) for key, value in split.items()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:<24} {value}")
        print(f"{'goal':<24} ratio >= 0.90\n{'written to':<24} {RESULTS}")


if __name__ == "__main__":
    main()
