"""The audit log: who asked what and was shown which documents, who changed which documents and
keys. Append-only, in the service's database, each record chained to the one before it.

A record's ``hash`` is the sha256 of the previous record's hash and the record's own canonical
content, and records are numbered 1, 2, 3... without gaps. ``AuditLog.verify`` recomputes the
chain: a record edited in place, or removed from the middle, is found and named. Appends from
every process (servers, ``qa`` commands) are serialised in one transaction each, so the chain
stays one. What the chain cannot show is the newest records removed: ``verify`` reports the
last record's number and hash, to be noted somewhere else and compared (docs/security.md).

>>> import tempfile
>>> from qa_service.core.database import Database
>>> log = AuditLog(Database(f"sqlite:///{tempfile.mkdtemp()}/service.db"))
>>> record = log.append("cli:ops", AuditAction.KEY_REVOKED, {"name": "widget"})
>>> (record.seq, record.actor, record.action, record.details)
(1, 'cli:ops', 'key.revoked', {'name': 'widget'})
>>> log.verify().intact
True
"""

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, String, Table, Text, insert, select

from qa_service.core.database import TABLES, Database

AUDIT_LOG = Table(
    "audit_log",
    TABLES,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # ISO 8601 in UTC, as written: the hashed text is the stored text.
    Column("at", String(40), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("action", String(40), nullable=False),
    # Canonical JSON (sorted keys, no spaces), hashed exactly as stored.
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("audit_log_actor", "actor"),
)
# The "previous hash" of the first record.
GENESIS = "0" * 64
_LOCK = "qa_service.audit_log"


class AuditAction(StrEnum):
    """What a record says happened."""

    QUESTION_ANSWERED = "question.answered"
    QUESTION_REFUSED = "question.refused"
    DOCUMENT_ADDED = "document.added"
    DOCUMENT_UPDATED = "document.updated"
    DOCUMENT_REMOVED = "document.removed"
    KEY_ADDED = "key.added"
    KEY_REVOKED = "key.revoked"


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    # Who: an API key's name, ``proxy:USER``, ``cli:USER``, or ``local`` (no keys file).
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "details": self.details,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class ChainBreak:
    """The first record that is not what the chain says it was."""

    seq: int
    problem: str


@dataclass(frozen=True)
class ChainCheck:
    """What ``AuditLog.verify`` found: the records that hold up before the first break (all of
    them when there is none), and, when the chain is intact, its last record."""

    records: int
    last_seq: int | None
    last_hash: str | None
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def record_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, details: str) -> str:
    """sha256 of the previous hash and this record's canonical content (``details`` as stored).

    >>> record_hash(GENESIS, 1, "2025-01-31T09:00:00+00:00", "ops", "key.revoked", "{}")[:12]
    '72e0ed547f7d'
    """
    content = json.dumps(
        {"seq": seq, "at": at, "actor": actor, "action": action, "details": details},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


class AuditWriter:
    """Appends to the audit log within one serialised transaction (``AuditLog.appending``), so
    other writes of that transaction (an answer's record) stand or fall with their records."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        last = connection.execute(
            select(AUDIT_LOG.c.seq, AUDIT_LOG.c.hash).order_by(AUDIT_LOG.c.seq.desc()).limit(1)
        ).first()
        self._seq: int = last.seq if last is not None else 0
        self._hash: str = last.hash if last is not None else GENESIS

    def append(self, actor: str, action: AuditAction, details: Mapping[str, Any]) -> AuditRecord:
        seq = self._seq + 1
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        text = _canonical(details)
        digest = record_hash(self._hash, seq, at, actor, action.value, text)
        record = AuditRecord(seq, at, actor, action.value, json.loads(text), self._hash, digest)
        self.connection.execute(
            insert(AUDIT_LOG).values(
                seq=seq,
                at=at,
                actor=actor,
                action=action.value,
                details=text,
                prev_hash=self._hash,
                hash=digest,
            )
        )
        self._seq, self._hash = seq, digest
        return record


class AuditLog:
    """The audit log of the service's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextlib.contextmanager
    def appending(self) -> Iterator[AuditWriter]:
        """A writer whose records are committed, with whatever else its connection wrote,
        when the block ends well; one appending transaction at a time, across processes."""
        with self.database.transaction(serialize=_LOCK) as connection:
            yield AuditWriter(connection)

    def append(self, actor: str, action: AuditAction, details: Mapping[str, Any]) -> AuditRecord:
        """One record, committed; ``DatabaseError`` if it cannot be."""
        with self.appending() as writer:
            return writer.append(actor, action, details)

    def documents_changed(
        self,
        actor: str,
        *,
        added: Sequence[str] = (),
        updated: Sequence[str] = (),
        removed: Sequence[str] = (),
        groups: Sequence[str] = (),
    ) -> list[AuditRecord]:
        """A record for each document ``actor`` added, updated or removed, with the ``groups``
        it has (had, when removed), all committed together; ``DatabaseError`` if they cannot
        be."""
        changes = [
            *((AuditAction.DOCUMENT_ADDED, doc_id) for doc_id in added),
            *((AuditAction.DOCUMENT_UPDATED, doc_id) for doc_id in updated),
            *((AuditAction.DOCUMENT_REMOVED, doc_id) for doc_id in removed),
        ]
        if not changes:
            return []
        with self.appending() as writer:
            return [
                writer.append(actor, action, {"doc_id": doc_id, "groups": list(groups)})
                for action, doc_id in changes
            ]

    def records(
        self, actor: str | None = None, since: dt.datetime | None = None
    ) -> Iterator[AuditRecord]:
        """The records in order, only ``actor``'s, only from ``since`` (aware, or UTC)."""
        query = select(AUDIT_LOG).order_by(AUDIT_LOG.c.seq)
        if actor is not None:
            query = query.where(AUDIT_LOG.c.actor == actor)
        if since is not None:
            moment = since if since.tzinfo is not None else since.replace(tzinfo=dt.UTC)
            # Every stored time is UTC in one format, so the text compares as the time does.
            utc = moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
            query = query.where(AUDIT_LOG.c.at >= utc)
        with self.database.reading() as connection:
            for row in connection.execution_options(yield_per=1000).execute(query):
                yield AuditRecord(
                    row.seq,
                    row.at,
                    row.actor,
                    row.action,
                    _details(row.details),
                    row.prev_hash,
                    row.hash,
                )

    def verify(self) -> ChainCheck:
        """Recomputes the whole chain; the first record that breaks it, if one does."""
        expected_seq, expected_prev, count = 1, GENESIS, 0
        with self.database.reading() as connection:
            rows = connection.execution_options(yield_per=1000).execute(
                select(AUDIT_LOG).order_by(AUDIT_LOG.c.seq)
            )
            for row in rows:
                broken = _break(row, expected_seq, expected_prev)
                if broken is not None:
                    return ChainCheck(count, None, None, broken)
                expected_seq, expected_prev, count = row.seq + 1, row.hash, count + 1
        if count == 0:
            return ChainCheck(0, None, None, None)
        return ChainCheck(count, expected_seq - 1, expected_prev, None)


def _break(row: Any, expected_seq: int, expected_prev: str) -> ChainBreak | None:
    """What is wrong with ``row``, read where record ``expected_seq`` should be, if anything."""
    if row.seq != expected_seq:
        after = f"record {row.seq} follows record {expected_seq - 1}"
        if expected_seq == 1:
            after = f"the log begins at record {row.seq}"
        missing = (
            f"record {expected_seq} was"
            if row.seq == expected_seq + 1
            else f"records {expected_seq}-{row.seq - 1} were"
        )
        return ChainBreak(expected_seq, f"{missing} removed: {after}")
    content = record_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.details)
    if content != row.hash:
        return ChainBreak(row.seq, f"record {row.seq} was changed: its content is not what it was")
    if row.prev_hash != expected_prev:
        if row.seq == 1:
            return ChainBreak(1, "record 1 was changed: it does not begin the chain")
        return ChainBreak(
            row.seq - 1,
            f"record {row.seq - 1} was changed (and its hash made anew): record {row.seq}, "
            "which follows it, was chained to another",
        )
    return None


def _canonical(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _details(text: str) -> dict[str, Any]:
    # A record whose details were edited into something that is not JSON still lists (verify
    # names it).
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"unreadable": text}
