"""Real chunks at any size, for benchmarks: SciFact and ClapNQ cut into sentence windows.

Every SciFact abstract and ClapNQ passage is split into sentences, and each window of one to three
consecutive sentences is a chunk (all distinct: a window seen in an earlier document is left out).
Documents come in a fixed random order, so the first N chunks are a sample of both corpora at any
N; their vectors are embedded once, in that order, and kept with the pool in a cache folder.

Used as ``cache = ChunkCache(Path("bench/.cache/retrieval"), embedder, "onnx")`` and
``pool = cache.pool()``, then ``store_documents(take(pool, 10_000))`` and
``cache.vectors(pool, 10_000)``.
"""

import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.core.schema import Chunk, DocumentInfo
from qa_service.embedders.base import Embedder, Vectors
from qa_service.stores.protocol import DocumentChunks
from qa_service.text.sentences import split_sentences

DATASETS = Path(__file__).resolve().parents[2] / "shared/datasets"
SOURCES = (
    DATASETS / "scifact_beir/corpus.jsonl",
    DATASETS / "clapnq_dev/clapnq_dev_answerable.jsonl",
    DATASETS / "clapnq_dev/clapnq_dev_unanswerable.jsonl",
)
SCIFACT_QUERIES = DATASETS / "scifact_beir/queries.jsonl"
# Bump when the way chunks are cut changes: the cached pool and vectors are then made again.
RECIPE = 1
WINDOWS = (1, 2, 3)
EMBED_BATCH = 2048
SAVE_EVERY = 8
INGESTED_AT = "2025-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class PoolDocument:
    """A source document and the spans of its chunks (sentence windows), in text order."""

    doc_id: str
    title: str
    text: str
    source: str
    spans: tuple[tuple[int, int], ...]

    def chunk_texts(self) -> list[str]:
        return [self.text[start:end] for start, end in self.spans]


def read_sources() -> list[tuple[str, str, str, str]]:
    """(doc_id, title, text, source) of every SciFact abstract and distinct ClapNQ passage."""
    found: list[tuple[str, str, str, str]] = []
    with SOURCES[0].open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            found.append((f"scifact-{record['_id']}", record["title"], record["text"], "scifact"))
    passages: dict[tuple[str, str], None] = {}
    for path in SOURCES[1:]:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                for passage in json.loads(line)["passages"]:
                    passages[passage["title"], passage["text"]] = None
    for title, text in passages:
        digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
        found.append((f"clapnq-{digest}", title, text, "clapnq"))
    return found


def make_pool() -> list[PoolDocument]:
    """All documents in a fixed random order, so any prefix is a sample of both corpora."""
    sources = read_sources()
    random.Random(0).shuffle(sources)
    seen: set[str] = set()
    pool: list[PoolDocument] = []
    for doc_id, title, text, source in sources:
        sentences = split_sentences(text)
        spans: list[tuple[int, int]] = []
        for width in WINDOWS:
            for first in range(len(sentences) - width + 1):
                span = (sentences[first].start, sentences[first + width - 1].end)
                if text[span[0] : span[1]] not in seen:
                    seen.add(text[span[0] : span[1]])
                    spans.append(span)
        if spans:
            pool.append(PoolDocument(doc_id, title, text, source, tuple(sorted(spans))))
    return pool


def take(pool: Sequence[PoolDocument], count: int) -> list[PoolDocument]:
    """The first ``count`` chunks of the pool, as whole documents but perhaps the last."""
    taken: list[PoolDocument] = []
    left = count
    for document in pool:
        if left <= 0:
            break
        spans = document.spans[:left]
        taken.append(replace(document, spans=spans))
        left -= len(spans)
    if left > 0:
        raise SystemExit(f"the pool holds {count - left} chunks, fewer than {count}")
    return taken


class ChunkCache:
    """The pool and the vectors of its first chunks, kept in ``folder`` between runs.

    Vectors follow the pool's order, so a run that needs more chunks embeds only the rest.
    """

    def __init__(self, folder: Path, embedder: Embedder, runtime: str) -> None:
        self.folder = folder
        self.embedder = embedder
        self.manifest = {
            "recipe": RECIPE,
            "sources": {path.name: path.stat().st_size for path in SOURCES},
            "embedder": embedder.name,
        }
        # Which runtime made the cached vectors (torch and onnx give the same ones).
        self.made_by = runtime
        folder.mkdir(parents=True, exist_ok=True)

    def pool(self) -> list[PoolDocument]:
        pool_path, manifest_path = self.folder / "pool.jsonl", self.folder / "manifest.json"
        try:
            stored = json.loads(manifest_path.read_text(encoding="utf-8"))
            if {key: stored[key] for key in self.manifest} == self.manifest:
                self.made_by = stored["made_by"]
                with pool_path.open(encoding="utf-8") as lines:
                    return [_pool_document(json.loads(line)) for line in lines]
        except (OSError, KeyError, ValueError):
            pass
        print("cutting the pool into sentence windows (once, ~1 min)", file=sys.stderr)
        pool = make_pool()
        (self.folder / "vectors.npy").unlink(missing_ok=True)
        with pool_path.open("w", encoding="utf-8") as out:
            for document in pool:
                out.write(json.dumps(asdict(document)) + "\n")
        manifest = {**self.manifest, "made_by": self.made_by}
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return pool

    def vectors(self, pool: Sequence[PoolDocument], count: int) -> Vectors:
        path = self.folder / "vectors.npy"
        vectors: Vectors = np.zeros((0, self.embedder.dimension), dtype=np.float32)
        if path.exists():
            vectors = np.load(path).astype(np.float32)
        if len(vectors) < count:
            texts = [text for document in pool for text in document.chunk_texts()][:count]
            parts, done, started = [vectors], len(vectors), time.perf_counter()
            for begin in range(len(vectors), count, EMBED_BATCH):
                parts.append(self.embedder.embed(texts[begin : begin + EMBED_BATCH]))
                done += len(parts[-1])
                rate = (done - len(vectors)) / (time.perf_counter() - started)
                print(f"embedded {done:,}/{count:,} chunks ({rate:.0f}/s)", file=sys.stderr)
                if len(parts) % SAVE_EVERY == 0 or done == count:
                    # Saved on the way, so a stopped run keeps what it embedded.
                    parts = [np.concatenate(parts)]
                    np.save(path, parts[0])
            vectors = parts[0]
        return vectors[:count]


def _pool_document(record: dict[str, Any]) -> PoolDocument:
    spans = tuple((int(start), int(end)) for start, end in record["spans"])
    return PoolDocument(**{**record, "spans": spans})


def store_documents(pool: Sequence[PoolDocument]) -> list[DocumentChunks]:
    documents: list[DocumentChunks] = []
    for document in pool:
        digest = hashlib.sha256(document.text.encode()).hexdigest()
        chunks = [
            Chunk(document.doc_id, index, text, start, end, text)
            for index, ((start, end), text) in enumerate(
                zip(document.spans, document.chunk_texts(), strict=True)
            )
        ]
        info = DocumentInfo(
            doc_id=document.doc_id,
            title=document.title,
            content_hash=digest,
            version=digest,
            doc_type="text",
            source=document.source,
            n_chunks=len(chunks),
            chars=len(document.text),
            ingested_at=INGESTED_AT,
        )
        documents.append((info, chunks))
    return documents


def read_queries(count: int) -> list[str]:
    """SciFact claims and ClapNQ questions (answerable, then unanswerable), alternately."""
    with SCIFACT_QUERIES.open(encoding="utf-8") as lines:
        claims = [json.loads(line)["text"] for line in lines]
    questions: list[str] = []
    for path in SOURCES[1:]:
        with path.open(encoding="utf-8") as lines:
            questions.extend(json.loads(line)["input"] for line in lines)
    mixed = [query for pair in zip(claims, questions, strict=False) for query in pair]
    if count > len(mixed):
        raise SystemExit(f"only {len(mixed)} queries are available, {count} asked for")
    return mixed[:count]
