"""Answer records: every answer the service gives, kept under its id in the service's database,
so that feedback on an answer can be read against what was asked, answered, cited and shown.
Each is written with its audit record, in one transaction: an answer is recorded and audited,
or neither.

A record holds what its caller was shown and nothing else: the passages and citations of an
answer come only from documents that caller may read (the search runs with its groups).

>>> import tempfile
>>> from qa_service.core.database import Database
>>> records = AnswerRecords(Database(f"sqlite:///{tempfile.mkdtemp()}/service.db"))
>>> answer = Answer("The documents don't say.", True, [], [], "Who?", "en")
>>> saved = records.save(AnswerRecord.of(answer, question="Who?", asked_by="widget"))
>>> records.get(saved.id) == saved
True
"""

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, Column, String, Table, Text, insert, select

from qa_service.answering.answer import Answer, RefusalReason
from qa_service.citations.citation import Citation
from qa_service.core.audit import AuditAction, AuditLog
from qa_service.core.database import TABLES, Database

ANSWERS = Table(
    "answers",
    TABLES,
    Column("id", String(36), primary_key=True),
    # ISO 8601 in UTC ("2025-01-31T09:30:00.123456+00:00"): the same text on every database.
    Column("at", String(40), nullable=False),
    Column("asked_by", String(300), nullable=False),
    Column("question", Text, nullable=False),
    Column("standalone_question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("refused", Boolean, nullable=False),
    Column("refusal_reason", String(20)),
    Column("citations", JSON, nullable=False),
    Column("passages", JSON, nullable=False),
)


@dataclass(frozen=True)
class ShownPassage:
    """A passage an answer was made from and shown with: which chunk of which document."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class AnswerRecord:
    """One answer as it was given: who asked what, and what they were shown."""

    id: str
    at: dt.datetime
    # The caller: an API key's name, ``proxy:USER``, ``cli:USER`` or ``local``.
    asked_by: str
    question: str
    standalone_question: str
    answer: str
    refused: bool
    refusal_reason: RefusalReason | None
    citations: tuple[Citation, ...]
    passages: tuple[ShownPassage, ...]

    @classmethod
    def of(cls, answer: Answer, question: str, asked_by: str) -> "AnswerRecord":
        """The record of ``answer`` to ``question``, under a new id (a random UUID: an id
        tells nothing of other answers, nor leads to them)."""
        return cls(
            id=str(uuid.uuid4()),
            at=dt.datetime.now(dt.UTC),
            asked_by=asked_by,
            question=question,
            standalone_question=answer.standalone_question,
            answer=answer.answer,
            refused=answer.refused,
            refusal_reason=answer.refusal_reason,
            citations=tuple(answer.citations),
            passages=tuple(
                ShownPassage(p.chunk_id, p.doc_id, p.start, p.end, p.score) for p in answer.passages
            ),
        )

    @property
    def documents_shown(self) -> list[str]:
        """The doc_ids of the passages shown, each once, in order."""
        return list(dict.fromkeys(passage.doc_id for passage in self.passages))


class AnswerRecords:
    """The answer records of the service's database, audited as they are saved."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.audit = AuditLog(database)

    def save(self, record: AnswerRecord) -> AnswerRecord:
        """Stores ``record`` and its audit record; ``DatabaseError`` if they cannot be."""
        action = AuditAction.QUESTION_REFUSED if record.refused else AuditAction.QUESTION_ANSWERED
        with self.audit.appending() as writer:
            writer.connection.execute(insert(ANSWERS).values(_row(record)))
            writer.append(record.asked_by, action, _audited(record))
        return record

    def get(self, answer_id: str) -> AnswerRecord | None:
        """The record of the answer ``answer_id``, or ``None`` if there is none."""
        with self.database.reading() as connection:
            row = connection.execute(select(ANSWERS).where(ANSWERS.c.id == answer_id)).first()
        return _record(row._asdict()) if row is not None else None

    def check(self) -> None:
        """``DatabaseError`` unless answers can be recorded now."""
        self.database.check()


def _audited(record: AnswerRecord) -> dict[str, Any]:
    """What the audit log keeps of an answer: which question, which documents were shown and
    cited, and why it was refused."""
    return {
        "answer_id": record.id,
        "question": record.question,
        "documents_shown": record.documents_shown,
        "documents_cited": list(dict.fromkeys(c.doc_id for c in record.citations)),
        "refusal_reason": record.refusal_reason,
    }


def _row(record: AnswerRecord) -> dict[str, Any]:
    row = asdict(record)
    row["at"] = record.at.isoformat()
    row["citations"] = [asdict(citation) for citation in record.citations]
    row["passages"] = [asdict(passage) for passage in record.passages]
    return row


def _record(row: dict[str, Any]) -> AnswerRecord:
    return AnswerRecord(
        **{
            **row,
            "at": dt.datetime.fromisoformat(row["at"]),
            "citations": tuple(Citation(**citation) for citation in row["citations"]),
            "passages": tuple(ShownPassage(**passage) for passage in row["passages"]),
        }
    )
