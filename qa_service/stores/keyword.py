"""The keyword index: BM25 (Snowball stemming) over the same chunks as the Chroma store.

It is a derived index, never the source of truth. Each chunk's stemmed terms and the fields
filters read are kept in a SQLite file beside the store (crash-safe, incremental: a write or a
delete touches only its documents). BM25's statistics span the collection (the part of it a
caller may read), so the in-memory postings are rebuilt from the stored terms, lazily, whenever
the file's generation counter says another write happened (in this process or another, such
as ``qa ingest`` while the API runs). ``ChromaChunkStore`` writes to both and reconciles them
by chunk id (see ``ChromaChunkStore.sync_keyword_index``).
"""

import json
import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from numpy.typing import NDArray

from qa_service.core.schema import Filters, date_number

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(STOPWORDS_EN)
# Anserini's defaults for BM25 on BEIR (and bm25s's reference run on SciFact).
K1, B = 0.9, 0.4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    version TEXT NOT NULL,
    terms TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    date INTEGER NOT NULL,
    groups TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class KeywordTokenizer:
    """Lowercased words, English stopwords out, Snowball-stemmed; numbers are kept."""

    def __init__(self, language: str = "english") -> None:
        self._stemmer = Stemmer.Stemmer(language)

    def run(self, text: str) -> list[str]:
        words = [word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS]
        return list(self._stemmer.stemWords(words))


@dataclass(frozen=True)
class KeywordEntry:
    """One chunk as the keyword index holds it: what it says and what filters read."""

    chunk_id: str
    doc_id: str
    version: str
    text: str
    doc_type: str
    # yyyymmdd as an integer, 0 when the document has no date (like Chroma's "date" field).
    date: int = 0
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float


class _Snapshot:
    """The terms of one generation's chunks as postings, with the filter fields as arrays
    aligned to them."""

    # One row per chunk: chunk_id, doc_id, terms, doc_type, date, groups (JSON list).
    COLUMNS = "chunk_id, doc_id, terms, doc_type, date, groups"

    def __init__(self, generation: int, rows: list[tuple[str, str, str, str, int, str]]) -> None:
        self.generation = generation
        self.chunk_ids = [row[0] for row in rows]
        self.position = {chunk_id: index for index, chunk_id in enumerate(self.chunk_ids)}
        self.doc_ids = np.array([row[1] for row in rows], dtype=object)
        self.doc_types = np.array([row[3] for row in rows], dtype=object)
        self.dates = np.array([row[4] for row in rows], dtype=np.int64)
        groups = [tuple(json.loads(row[5])) for row in rows]
        self.public = np.array([not found for found in groups], dtype=bool)
        self.members: dict[str, NDArray[np.bool_]] = {}
        for index, found in enumerate(groups):
            for group in found:
                self.members.setdefault(group, np.zeros(len(rows), dtype=bool))[index] = True
        # An empty chunk still counts, one word long (as in bm25s); "" never matches a query.
        self.postings = Postings([row[2].split() or [""] for row in rows])

    def readable(self, filters: Filters | None) -> NDArray[np.bool_] | None:
        """The chunks the caller may read (``filters.groups``); None: all."""
        if filters is None or filters.groups is None:
            return None
        readable = self.public.copy()
        for group in filters.groups:
            if group in self.members:
                readable |= self.members[group]
        return readable

    def mask(self, filters: Filters | None) -> NDArray[np.bool_] | None:
        """Which chunks ``filters`` allow, the same rules as ``chroma_where``; None: all."""
        if filters is None:
            return None
        allowed = np.ones(len(self.chunk_ids), dtype=bool)
        if filters.doc_ids is not None:
            allowed &= np.isin(self.doc_ids, list(filters.doc_ids))
        if filters.doc_types is not None:
            allowed &= np.isin(self.doc_types, list(filters.doc_types))
        readable = self.readable(filters)
        if readable is not None:
            allowed &= readable
        if filters.date_from is not None:
            allowed &= (self.dates != 0) & (self.dates >= date_number(filters.date_from))
        if filters.date_to is not None:
            allowed &= (self.dates != 0) & (self.dates <= date_number(filters.date_to))
        return allowed


class Postings:
    """BM25 (Lucene's variant, as bm25s computes it) over chunks' terms, with the collection's
    statistics (how many chunks hold a term, their mean length) taken over the chunks a caller
    may read: a chunk's score is the same whether or not the store also holds documents the
    caller may not read, so no score tells that they exist.

    >>> postings = Postings([["lyon", "headquart"], ["lyon"], ["tokyo"]])
    >>> [round(float(s), 3) for s in postings.scores(["lyon"])]
    [0.226, 0.26, 0.0]
    >>> readable = np.array([True, False, True])
    >>> [round(float(s), 3) for s in postings.scores(["lyon"], readable)]
    [0.343, 0.0, 0.0]
    """

    def __init__(self, chunks: Sequence[Sequence[str]]) -> None:
        self.vocabulary: dict[str, int] = {}
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        for row, terms in enumerate(chunks):
            for term, count in Counter(terms).items():
                rows.append(row)
                columns.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                counts.append(count)
        # Each term's chunks side by side (compressed sparse columns).
        order = np.argsort(np.asarray(columns, dtype=np.int64), kind="stable")
        self.rows = np.asarray(rows, dtype=np.int64)[order]
        self.counts = np.asarray(counts, dtype=np.float32)[order]
        per_term = np.bincount(np.asarray(columns, dtype=np.int64), minlength=len(self.vocabulary))
        self.starts = np.concatenate(([0], np.cumsum(per_term))).astype(np.int64)
        self.lengths = np.array([len(terms) for terms in chunks], dtype=np.float64)

    def scores(
        self, terms: Sequence[str], readable: NDArray[np.bool_] | None = None
    ) -> NDArray[np.float32]:
        """Each chunk's score for ``terms`` (a repeated term counts again), the statistics
        taken over the ``readable`` chunks only (None: all); the others score 0."""
        scores = np.zeros(len(self.lengths), dtype=np.float32)
        lengths = self.lengths if readable is None else self.lengths[readable]
        if not len(lengths):
            return scores
        chunks, mean_length = len(lengths), float(lengths.mean())
        for term in terms:
            column = self.vocabulary.get(term)
            if column is None:
                continue
            span = slice(self.starts[column], self.starts[column + 1])
            rows, counts = self.rows[span], self.counts[span]
            if readable is not None:
                kept = readable[rows]
                rows, counts = rows[kept], counts[kept]
            if not len(rows):
                continue
            found = len(rows)
            idf = np.float32(math.log(1 + (chunks - found + 0.5) / (found + 0.5)))
            saturation = counts / (
                K1 * ((1 - B) + B * self.lengths[rows] / np.float64(mean_length)) + counts
            )
            scores[rows] += (idf * saturation).astype(np.float32)
        return scores


class KeywordIndex:
    """BM25 over chunks, persisted in one SQLite file.

    >>> import tempfile
    >>> index = KeywordIndex(Path(tempfile.mkdtemp()) / "documents.sqlite3")
    >>> index.add([KeywordEntry("a#v#0", "a", "v", "INTERPOL's headquarters are in Lyon", "text")])
    >>> index.search("Where is the headquarters?", top_k=1)
    [KeywordHit(chunk_id='a#v#0', score=...)]
    """

    def __init__(self, path: Path, tokenizer: KeywordTokenizer | None = None) -> None:
        self.path = path
        self.tokenizer = tokenizer or KeywordTokenizer()
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection, connection:
            connection.executescript(_SCHEMA)
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        # A writer in another process (qa ingest) may hold the lock for one document's batch.
        return sqlite3.connect(self.path, timeout=60)

    def count(self) -> int:
        with closing(self._connect()) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunk_ids(self) -> set[str]:
        with closing(self._connect()) as connection:
            return {row[0] for row in connection.execute("SELECT chunk_id FROM chunks")}

    def generation(self) -> int:
        with closing(self._connect()) as connection:
            return int(
                connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
            )

    def mark(self) -> str:
        """The store's change mark this index was last brought in step with ("" if never)."""
        with closing(self._connect()) as connection:
            row = connection.execute("SELECT value FROM marks WHERE key = 'store'").fetchone()
            return str(row[0]) if row else ""

    def set_mark(self, mark: str) -> None:
        with closing(self._connect()) as connection, connection:
            connection.execute("INSERT OR REPLACE INTO marks VALUES ('store', ?)", (mark,))

    def add(self, entries: Sequence[KeywordEntry]) -> None:
        """Add or replace chunks (other versions of their documents stay: see keep_versions)."""
        if not entries:
            return
        rows = [
            (
                entry.chunk_id,
                entry.doc_id,
                entry.version,
                " ".join(self.tokenizer.run(entry.text)),
                entry.doc_type,
                entry.date,
                json.dumps(list(entry.groups)),
            )
            for entry in entries
        ]
        with closing(self._connect()) as connection, connection:
            connection.executemany(
                "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
            _bump(connection)

    def keep_versions(self, versions: Mapping[str, str]) -> None:
        """Drop every chunk of these documents (``doc_id`` -> version) of another version."""
        with closing(self._connect()) as connection, connection:
            connection.executemany(
                "DELETE FROM chunks WHERE doc_id = ? AND version != ?", list(versions.items())
            )
            _bump(connection)

    def delete_documents(self, doc_ids: Iterable[str]) -> None:
        with closing(self._connect()) as connection, connection:
            connection.executemany("DELETE FROM chunks WHERE doc_id = ?", [(d,) for d in doc_ids])
            _bump(connection)

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        with closing(self._connect()) as connection, connection:
            connection.executemany(
                "DELETE FROM chunks WHERE chunk_id = ?", [(c,) for c in chunk_ids]
            )
            _bump(connection)

    def search(
        self,
        query: str,
        top_k: int,
        filters: Filters | None = None,
        candidates: Sequence[str] = (),
    ) -> list[KeywordHit]:
        """The ``top_k`` best-scoring chunks that ``filters`` allow, best first, then the scores
        of any ``candidates`` (chunk ids found by another search) not among them."""
        snapshot = self._current()
        scores = snapshot.postings.scores(self.tokenizer.run(query), snapshot.readable(filters))
        if not len(scores):
            return []
        allowed = snapshot.mask(filters)
        if allowed is not None:
            scores = np.where(allowed, scores, -1.0).astype(np.float32)
        count = min(top_k, len(scores))
        best = np.argpartition(-scores, count - 1)[:count] if count else np.array([], int)
        best = best[np.argsort(-scores[best], kind="stable")]
        hits = [KeywordHit(snapshot.chunk_ids[i], float(scores[i])) for i in best if scores[i] > 0]
        seen = {hit.chunk_id for hit in hits}
        for chunk_id in candidates:
            index = snapshot.position.get(chunk_id)
            if chunk_id not in seen and index is not None and scores[index] >= 0:
                hits.append(KeywordHit(chunk_id, float(scores[index])))
                seen.add(chunk_id)
        return hits

    def _current(self) -> _Snapshot:
        """The model for the stored generation, rebuilt if anything was written since."""
        generation = self.generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                with closing(self._connect()) as connection:
                    # Read under one transaction so rows and generation agree.
                    connection.execute("BEGIN")
                    generation = int(
                        connection.execute(
                            "SELECT value FROM meta WHERE key = 'generation'"
                        ).fetchone()[0]
                    )
                    rows = connection.execute(
                        f"SELECT {_Snapshot.COLUMNS} FROM chunks ORDER BY chunk_id"
                    ).fetchall()
                self._snapshot = _Snapshot(generation, rows)
            return self._snapshot


def _bump(connection: sqlite3.Connection) -> None:
    connection.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
