"""Feedback on answers: a rating, up or down, and an optional comment, kept in the service's
database beside the answer record it refers to (what was asked, answered, cited and shown), so
that a person can turn it into evaluation cases (``eval.candidates``).

A caller rates its own answers only: an answer id that is another caller's is as unknown as one
that does not exist. One caller's feedback on one answer is one row, the last it gave (a thumb
changed, a comment added); feedback without an answer id is a row of its own each time.

>>> import tempfile
>>> from qa_service.answering.answer import Answer
>>> from qa_service.core.database import Database
>>> database = Database(f"sqlite:///{tempfile.mkdtemp()}/service.db")
>>> records = AnswerRecords(database)
>>> answer = Answer("Lyon [1].", False, [], [], "Where?", "en")
>>> record = records.save(AnswerRecord.of(answer, question="Where?", asked_by="widget"))
>>> feedback = FeedbackLog(database, records)
>>> given = feedback.give(NewFeedback("down", "Where?", "Lyon [1].", "widget", record.id))
>>> [(f.rating, f.record.answer) for f in feedback.list()]
[('down', 'Lyon [1].')]
>>> feedback.give(NewFeedback("up", "Where?", "Lyon [1].", "someone-else", record.id))
Traceback (most recent call last):
...
qa_service.answering.feedback.UnknownAnswerError: no such answer
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Column, ForeignKey, String, Table, Text, insert, select, update

from qa_service.answering.records import ANSWERS, AnswerRecord, AnswerRecords
from qa_service.core.database import TABLES, Database

Rating = Literal["up", "down"]

FEEDBACK = Table(
    "feedback",
    TABLES,
    Column("id", String(36), primary_key=True),
    # ISO 8601 in UTC, as the answer records keep time.
    Column("at", String(40), nullable=False),
    Column("given_by", String(300), nullable=False),
    Column("answer_id", String(36), ForeignKey(ANSWERS.c.id), index=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("rating", String(4), nullable=False),
    Column("comment", Text),
)


class UnknownAnswerError(LookupError):
    """No answer of this caller has the id given."""

    def __init__(self) -> None:
        super().__init__("no such answer")


@dataclass(frozen=True)
class NewFeedback:
    """Feedback as a caller gives it: the answer as they saw it, and what they make of it."""

    rating: Rating
    question: str
    answer: str
    given_by: str
    answer_id: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Feedback:
    """Feedback as it is kept, with the record of the answer it refers to (``None`` when it
    was given without an answer id)."""

    id: str
    at: dt.datetime
    given_by: str
    answer_id: str | None
    question: str
    answer: str
    rating: Rating
    comment: str | None
    record: AnswerRecord | None


class FeedbackLog:
    """The feedback of the service's database."""

    def __init__(self, database: Database, records: AnswerRecords) -> None:
        self.database = database
        self.records = records

    def give(self, given: NewFeedback) -> Feedback:
        """Keeps ``given``: in place of the caller's earlier feedback on the same answer, if
        any. ``UnknownAnswerError`` if its answer id is not one of the caller's answers;
        ``DatabaseError`` if the database cannot keep it."""
        record = None
        if given.answer_id is not None:
            record = self.records.get(given.answer_id)
            if record is None or record.asked_by != given.given_by:
                raise UnknownAnswerError()
        now = dt.datetime.now(dt.UTC)
        row: dict[str, Any] = {
            "at": now.isoformat(),
            "given_by": given.given_by,
            "answer_id": given.answer_id,
            "question": given.question,
            "answer": given.answer,
            "rating": given.rating,
            "comment": given.comment,
        }
        # Two ratings of one answer at once (a double click) must not both insert.
        lock = f"feedback:{given.answer_id}" if given.answer_id is not None else None
        with self.database.transaction(serialize=lock) as connection:
            earlier = None
            if given.answer_id is not None:
                earlier = connection.execute(
                    select(FEEDBACK.c.id).where(FEEDBACK.c.answer_id == given.answer_id)
                ).scalar()
            if earlier is None:
                row["id"] = str(uuid.uuid4())
                connection.execute(insert(FEEDBACK).values(row))
            else:
                row["id"] = earlier
                connection.execute(update(FEEDBACK).where(FEEDBACK.c.id == earlier).values(row))
        return Feedback(**{**row, "at": now, "record": record})

    def list(self, rating: Rating | None = None) -> list[Feedback]:
        """Every feedback (of ``rating`` only, if given), oldest first, with its answer's
        record."""
        query = select(FEEDBACK).order_by(FEEDBACK.c.at, FEEDBACK.c.id)
        if rating is not None:
            query = query.where(FEEDBACK.c.rating == rating)
        with self.database.reading() as connection:
            rows = [row._asdict() for row in connection.execute(query)]
        return [
            Feedback(
                **{
                    **row,
                    "at": dt.datetime.fromisoformat(row["at"]),
                    "record": self.records.get(row["answer_id"]) if row["answer_id"] else None,
                }
            )
            for row in rows
        ]
