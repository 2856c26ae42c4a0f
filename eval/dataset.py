"""Evaluation datasets: a corpus and the questions asked of it (format in ``CONTRACT.md``).

A dataset is a folder holding
- the corpus: ``corpus/`` (files ``qa ingest`` reads; ``doc_id`` = path inside ``corpus/``) or
  ``corpus.jsonl`` (BEIR: ``{"_id", "title", "text"}``; ``_id`` is the ``doc_id``; an optional
  ``"groups"`` list restricts a document to those groups, for ``qa eval --groups``);
- the questions: ``qa.jsonl`` (``{"id", "question", "answers", "sources", "answerable"}``) or,
  for retrieval-only sets, BEIR ``queries.jsonl`` + ``qrels.tsv``.
A ClapNQ release folder is adapted by ``eval.clapnq``; ``eval.loading`` tells which a folder is.
"""

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from ingest.load import LoadError, load_document
from ingest.pipeline import (
    Ingestor,
    IngestReport,
    Progress,
    SourceFile,
    TextDocument,
    discover,
)
from qa_service.core.schema import parse_groups


class DatasetError(ValueError):
    """The folder is not a dataset, or one of its files is malformed; says which and where."""


@dataclass(frozen=True)
class QAItem:
    """One question with what a right answer looks like.

    ``relevance`` grades the documents that answer it (1 = relevant; BEIR qrels may grade
    higher); ``sources`` are those with a grade above 0.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    relevance: dict[str, int]
    answerable: bool

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(doc_id for doc_id, grade in self.relevance.items() if grade > 0)


class Corpus(Protocol):
    """The documents of a dataset: ingested into a collection, read back for quote checks."""

    @property
    def fingerprint(self) -> str:
        """A hash of every document's id and content."""
        ...

    def ingest(self, ingestor: Ingestor, progress: Progress | None = None) -> IngestReport: ...

    def document_text(self, doc_id: str) -> str | None:
        """The text as the ingest loader produced it (what citation offsets point into)."""
        ...


class FolderCorpus:
    """A folder of files, ingested as ``qa ingest FOLDER`` would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._texts: dict[str, str | None] = {}

    @cached_property
    def _files(self) -> dict[str, SourceFile]:
        found = discover([self.folder], IngestReport())
        return {source.doc_id: source for source in found}

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for doc_id, source in sorted(self._files.items()):
            content = hashlib.sha256(source.path.read_bytes()).hexdigest()
            digest.update(f"{doc_id}\0{content}\n".encode())
        return digest.hexdigest()

    def ingest(self, ingestor: Ingestor, progress: Progress | None = None) -> IngestReport:
        return ingestor.run([self.folder], progress=progress)

    def document_text(self, doc_id: str) -> str | None:
        if doc_id not in self._texts:
            source = self._files.get(doc_id)
            self._texts[doc_id] = (
                _loaded_text(source.name, source.path.read_bytes()) if source else None
            )
        return self._texts[doc_id]


class TextCorpus:
    """Documents given as text (BEIR ``corpus.jsonl``, adapted public sets)."""

    def __init__(self, documents: Sequence[TextDocument]) -> None:
        self.documents = {document.doc_id: document for document in documents}
        self._texts: dict[str, str | None] = {}

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for doc_id, document in sorted(self.documents.items()):
            digest.update(f"{doc_id}\0{document.text}\0".encode())
            if document.groups:
                digest.update(f"groups\0{','.join(document.groups)}\0".encode())
        return digest.hexdigest()

    def ingest(self, ingestor: Ingestor, progress: Progress | None = None) -> IngestReport:
        return ingestor.run_texts(list(self.documents.values()), progress=progress)

    def document_text(self, doc_id: str) -> str | None:
        if doc_id not in self._texts:
            document = self.documents.get(doc_id)
            self._texts[doc_id] = (
                _loaded_text(document.name, document.text.encode()) if document else None
            )
        return self._texts[doc_id]


@dataclass
class Dataset:
    name: str
    corpus: Corpus
    questions: list[QAItem]
    # Without gold answers (BEIR queries + qrels) only retrieval can be measured.
    has_answers: bool = True
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def answerable(self) -> int:
        return sum(item.answerable for item in self.questions)


def load_folder(folder: Path) -> Dataset:
    corpus = _load_corpus(folder)
    if (folder / "qa.jsonl").is_file():
        return Dataset(folder.name, corpus, _load_qa(folder / "qa.jsonl"))
    if (folder / "queries.jsonl").is_file() and (folder / "qrels.tsv").is_file():
        questions = _load_beir_queries(folder / "queries.jsonl", folder / "qrels.tsv")
        return Dataset(folder.name, corpus, questions, has_answers=False)
    raise DatasetError(f"{folder}: no qa.jsonl, nor queries.jsonl with qrels.tsv")


def _load_corpus(folder: Path) -> Corpus:
    if (folder / "corpus").is_dir():
        return FolderCorpus(folder / "corpus")
    if (folder / "corpus.jsonl").is_file():
        return TextCorpus(list(_beir_documents(folder / "corpus.jsonl")))
    raise DatasetError(f"{folder}: no corpus/ folder and no corpus.jsonl")


def _beir_documents(path: Path) -> Iterator[TextDocument]:
    for line_number, record in _json_lines(path):
        doc_id, title, text = record.get("_id"), record.get("title") or "", record.get("text")
        if not isinstance(doc_id, str) or not isinstance(text, str) or not isinstance(title, str):
            raise DatasetError(f"{path}:{line_number}: needs string _id and text (and title)")
        groups = record.get("groups", [])
        try:
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise ValueError("groups is a list of names")
            own = parse_groups(",".join(groups))
        except ValueError as error:
            raise DatasetError(f"{path}:{line_number}: {error}") from error
        # The title on its own first line: the loader takes it as the title, and it is
        # embedded with the first chunk, as BEIR's own baselines read title + text.
        text = f"{title}\n\n{text}" if title else text
        yield TextDocument(doc_id, text, location=str(path), groups=own or None)


def _load_qa(path: Path) -> list[QAItem]:
    items = []
    for line_number, record in _json_lines(path):
        try:
            items.append(
                QAItem(
                    id=str(record["id"]),
                    question=_string(record["question"]),
                    answers=tuple(_string(answer) for answer in record["answers"]),
                    relevance={_string(doc_id): 1 for doc_id in record["sources"]},
                    answerable=bool(record["answerable"]),
                )
            )
        except (KeyError, TypeError) as error:
            raise DatasetError(f"{path}:{line_number}: bad question ({error!r})") from error
    _check_unique(items, path)
    return items


def _load_beir_queries(queries: Path, qrels: Path) -> list[QAItem]:
    relevance: dict[str, dict[str, int]] = defaultdict(dict)
    with qrels.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        for row_number, row in enumerate(rows, start=1):
            if row_number == 1 and row[:2] == ["query-id", "corpus-id"]:
                continue
            try:
                query_id, doc_id, grade = row[0], row[1], int(row[2])
            except (IndexError, ValueError) as error:
                raise DatasetError(
                    f"{qrels}:{row_number}: expected query-id, corpus-id, score"
                ) from error
            relevance[query_id][doc_id] = grade
    items = [
        QAItem(str(record["_id"]), _string(record["text"]), (), relevance[str(record["_id"])], True)
        for _, record in _json_lines(queries)
        if any(grade > 0 for grade in relevance.get(str(record["_id"]), {}).values())
    ]
    _check_unique(items, queries)
    return items


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}:{line_number}: not JSON ({error.msg})") from error
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{line_number}: expected a JSON object")
            yield line_number, record


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _check_unique(items: Sequence[QAItem], path: Path) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(f"{path}: question id {item.id!r} appears twice")
        seen.add(item.id)


def _loaded_text(name: str, data: bytes) -> str | None:
    try:
        return load_document(name, data).text
    except LoadError:
        return None
