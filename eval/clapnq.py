"""ClapNQ (primeqa/clapnq) as an evaluation dataset: answers and refusals over Wikipedia passages.

A release folder holds ``clapnq_<split>_answerable.jsonl`` and ``..._unanswerable.jsonl``; each
record is a question (``input``) with its passage(s) and, when answerable, long-form gold
answers (``output[].answer``). An unanswerable question comes with a passage of the same article
that does not answer it (a hard distractor): the right behaviour is to refuse.

The corpus is the union of all passages of both files, whatever questions are sampled, so the
collection is the same for every sample. A passage's ``doc_id`` is its title made safe plus a
hash of title and text (``forecasting-3e1c0a57d2``), stable from run to run.
"""

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from eval.dataset import Dataset, DatasetError, QAItem, TextCorpus
from ingest.pipeline import TextDocument

_ANSWERABLE = re.compile(r"^clapnq_(\w+?)_answerable\.jsonl$")


def is_clapnq(folder: Path) -> bool:
    return _split_of(folder) is not None


def load_clapnq(folder: Path) -> Dataset:
    split = _split_of(folder)
    if split is None:
        raise DatasetError(f"{folder}: no clapnq_<split>_answerable.jsonl")
    documents: dict[str, TextDocument] = {}
    questions: list[QAItem] = []
    for answerable in (True, False):
        kind = "answerable" if answerable else "unanswerable"
        path = folder / f"clapnq_{split}_{kind}.jsonl"
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                record = json.loads(line)
                try:
                    questions.append(_question(record, answerable, documents, path))
                except (KeyError, TypeError) as error:
                    raise DatasetError(f"{path}:{line_number}: bad record ({error!r})") from error
    if len({item.id for item in questions}) != len(questions):
        raise DatasetError(f"{folder}: question ids repeat across the two files")
    return Dataset(f"clapnq-{split}", TextCorpus(list(documents.values())), questions)


def passage_document(title: str, text: str, location: str = "") -> TextDocument:
    """A passage as a document: the title on the first line, then the passage text."""
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "passage"
    return TextDocument(f"{slug}-{digest}", f"{title}\n\n{text}", location=location)


def _question(
    record: dict[str, Any], answerable: bool, documents: dict[str, TextDocument], path: Path
) -> QAItem:
    relevance: dict[str, int] = {}
    for passage in record["passages"]:
        document = passage_document(str(passage["title"]), str(passage["text"]), str(path))
        documents.setdefault(document.doc_id, document)
        if answerable:
            relevance[document.doc_id] = 1
    answers = [" ".join(str(output["answer"]).split()) for output in record["output"]]
    return QAItem(
        id=str(record["id"]),
        question=str(record["input"]),
        answers=tuple(dict.fromkeys(answer for answer in answers if answer and answerable)),
        relevance=relevance,
        answerable=answerable,
    )


def _split_of(folder: Path) -> str | None:
    for path in sorted(folder.glob("clapnq_*_answerable.jsonl")):
        match = _ANSWERABLE.match(path.name)
        if match and (folder / f"clapnq_{match.group(1)}_unanswerable.jsonl").is_file():
            return match.group(1)
    return None
