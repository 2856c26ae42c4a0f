"""The documents as callers see and change them: what a caller may list and read, files uploaded
over HTTP (kept in the uploads folder, ``QA_DATA_DIR/uploads``, each under its doc_id and fed to
the same incremental ingest as ``qa ingest``), ingest runs and deletions.

Every change of the store made through the library (an upload, ``qa ingest``, a deletion over
HTTP or with ``qa docs delete``) passes through ``DocumentLibrary._record``, which hands a
``DocumentChange`` to the ``on_change`` listener the library was given: where an audit trail
hooks in. Changes are made one at a time (a lock file in the uploads folder, held by this
process's threads and by other processes alike), so two uploads of one name never interleave.
"""

import logging
import os
import shutil
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from ingest.pipeline import Ingestor, IngestReport, Progress
from ingest.upload_names import name_problem
from qa_service.core.files import exclusive
from qa_service.core.keys import Caller, Role
from qa_service.core.metrics import count_documents
from qa_service.core.schema import DocumentInfo, Filters
from qa_service.stores.protocol import WritableChunkStore

logger = logging.getLogger(__name__)

NO_SUCH_DOCUMENT = "no such document"
# An editor may replace only the documents it may read; the name of one it may not is taken.
# This says no more than that: not whose it is, nor anything in it.
NAME_TAKEN = "the name is taken by a document this key may not replace: choose another name"
# Whoever runs the `qa` commands on the service's machine: the store's files are theirs anyway.
OPERATOR = Caller("operator", None, Role.ADMIN)
# Ingest outcomes after which the uploaded file is the stored document's.
_STORED = frozenset({"added", "updated", "skipped"})


class PermissionRefusedError(Exception):
    """The caller's key may not make this change; ``str(error)`` says why."""


class DocumentNotFoundError(LookupError):
    """No document of that doc_id that the caller may read (one it may not read is as unknown)."""


Action = Literal["added", "updated", "deleted"]


@dataclass(frozen=True)
class DocumentChange:
    """One change of the store: who made it, to which document, and the groups the document
    has after it (added, updated) or had (deleted)."""

    action: Action
    doc_id: str
    groups: tuple[str, ...]
    caller: str


ChangeListener = Callable[[DocumentChange], None]


def log_change(change: DocumentChange) -> None:
    logger.info(
        "document %s %r (groups %s) by %s",
        change.action,
        change.doc_id,
        ",".join(change.groups) or "(everyone)",
        change.caller,
    )


@dataclass(frozen=True)
class UploadedFile:
    """A file as a client sent it: its name and its bytes (read once, from the start)."""

    name: str
    content: BinaryIO


@dataclass
class UploadReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # The name each file was sent under -> why it was not stored.
    failed: dict[str, str] = field(default_factory=dict)
    chunks_written: int = 0


def require_role(caller: Caller, role: Role) -> None:
    if not caller.role.allows(role):
        raise PermissionRefusedError(
            f"this key's role ({caller.role.value}) may not change documents: an {role.value} "
            "key is needed"
        )


def require_own_groups(caller: Caller, groups: Sequence[str]) -> None:
    """A key may give a document only groups it holds: need-to-know is not widened by whoever
    uploads (with no keys file the caller on this machine holds every group)."""
    missing = [
        group for group in groups if caller.groups is not None and group not in caller.groups
    ]
    if missing:
        raise PermissionRefusedError(
            f"this key may not give documents groups it does not hold: {', '.join(missing)}"
        )


class DocumentLibrary:
    """The documents of ``store``, as callers may see and change them: uploads are kept in
    ``folder`` and ingested by ``ingestor``; each change is reported to ``on_change``."""

    def __init__(
        self,
        store: WritableChunkStore,
        ingestor: Ingestor,
        folder: Path,
        on_change: ChangeListener = log_change,
    ) -> None:
        self.store = store
        self.ingestor = ingestor
        self.folder = folder
        self.on_change = on_change

    def visible(self, caller: Caller, groups: tuple[str, ...] | None = None) -> list[DocumentInfo]:
        """The documents ``caller`` may read, by doc_id; ``groups`` narrows them as a
        question's ``filters.groups`` does (never widens them)."""
        return self.store.list_documents(Filters(groups=caller.narrowed(groups)))

    def page(
        self, caller: Caller, groups: tuple[str, ...] | None, after: str | None, limit: int
    ) -> tuple[list[DocumentInfo], str | None]:
        """Up to ``limit`` of the documents ``visible`` gives, those after the doc_id ``after``
        (by doc_id, so a page never moves when documents come or go before it); and the
        doc_id the next page comes after, ``None`` if this one is the last."""
        documents = self.visible(caller, groups)
        start = bisect_right([d.doc_id for d in documents], after) if after is not None else 0
        chosen = documents[start : start + limit]
        more = start + limit < len(documents)
        return chosen, chosen[-1].doc_id if more else None

    def document(self, doc_id: str, caller: Caller) -> DocumentInfo:
        found = self.store.list_documents(Filters(doc_ids=(doc_id,), groups=caller.groups))
        if not found:
            raise DocumentNotFoundError(NO_SUCH_DOCUMENT)
        return found[0]

    def upload(
        self, files: Sequence[UploadedFile], groups: tuple[str, ...] | None, caller: Caller
    ) -> UploadReport:
        """Store ``files`` under their names and ingest them, with ``groups`` (``None``: a
        document that exists keeps its groups, a new one has none). A file that fails leaves
        the store and the uploads folder as they were."""
        require_role(caller, Role.EDITOR)
        require_own_groups(caller, groups or ())
        report = UploadReport()
        named: dict[str, UploadedFile] = {}
        for file in files:
            problem = name_problem(file.name)
            if problem is None and file.name in named:
                problem = "the same name twice in one upload"
            if problem is not None:
                report.failed.setdefault(file.name, problem)
                count_documents("failed")
            else:
                named[file.name] = file
        if not named:
            return report
        staging = self.folder / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=staging) as temp:
            received = {
                name: _save(file.content, Path(temp) / f"{index}.upload")
                for index, (name, file) in enumerate(named.items())
            }
            with self._writing():
                self._ingest_uploads(received, groups, caller, Path(temp), report)
        return report

    def ingest(
        self,
        paths: Sequence[Path],
        groups: tuple[str, ...] = (),
        prune: bool = False,
        progress: Progress | None = None,
        caller: Caller = OPERATOR,
    ) -> IngestReport:
        """``qa ingest``: files and folders ingested as they are (see ``Ingestor.run``)."""
        with self._writing():
            before = {d.doc_id: d.groups for d in self.store.list_documents()} if prune else {}
            report = self.ingestor.run(paths, groups, prune, progress)
        for action in ("added", "updated"):
            for doc_id in getattr(report, action):
                self._record(DocumentChange(action, doc_id, groups, caller.name))
        for doc_id in report.deleted:
            self._record(DocumentChange("deleted", doc_id, before.get(doc_id, ()), caller.name))
        return report

    def delete(self, doc_id: str, caller: Caller) -> int:
        """Delete a document ``caller`` may read (its chunks, and its uploaded file if it has
        one); returns how many chunks went. One it may not read is not found."""
        require_role(caller, Role.EDITOR)
        with self._writing():
            document = self.document(doc_id, caller)
            upload = self.folder / doc_id if name_problem(doc_id) is None else None
            staging = self.folder / ".staging"
            staging.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=staging) as temp:
                aside = _move_aside(upload, Path(temp) / "deleted") if upload else None
                try:
                    removed = self.store.delete_document(doc_id)
                except BaseException:
                    if aside is not None and upload is not None:
                        aside.replace(upload)
                    raise
        self._record(DocumentChange("deleted", doc_id, document.groups, caller.name))
        # Uploads and ingests are counted by the ingest run; a deletion goes around it.
        count_documents("deleted")
        return removed

    def _ingest_uploads(
        self,
        received: dict[str, Path],
        groups: tuple[str, ...] | None,
        caller: Caller,
        temp: Path,
        report: UploadReport,
    ) -> None:
        """Put the received files in place and ingest them; a file whose document was not
        stored is taken out again, and the file it replaced put back."""
        names = tuple(received)
        existing = {d.doc_id: d for d in self.store.list_documents(Filters(doc_ids=names))}
        readable = self.store.list_documents(Filters(doc_ids=names, groups=caller.groups))
        replaceable = {document.doc_id for document in readable}
        given: dict[str, tuple[str, ...]] = {}
        for name in names:
            if name in existing and name not in replaceable:
                report.failed[name] = NAME_TAKEN
                count_documents("failed")
            elif groups is not None:
                given[name] = groups
            else:
                given[name] = existing[name].groups if name in existing else ()
        # One ingest run for each set of groups the documents get (usually one).
        runs: dict[tuple[str, ...], list[str]] = {}
        for name, document_groups in given.items():
            runs.setdefault(document_groups, []).append(name)
        replaced: dict[str, Path | None] = {}
        outcomes = _Outcomes()
        try:
            for run_groups, run_names in runs.items():
                for name in run_names:
                    replaced[name] = _move_aside(self.folder / name, temp / f"{name}.previous")
                    received[name].replace(self.folder / name)
                ingested = self.ingestor.run(
                    [self.folder / name for name in run_names], run_groups, progress=outcomes
                )
                report.failed.update(ingested.failed)
                report.chunks_written += ingested.chunks_written
        finally:
            for name, previous in replaced.items():
                outcome = outcomes.by_doc.get(name)
                if outcome not in _STORED:
                    _put_back(self.folder / name, previous)
                    continue
                getattr(report, outcome).append(name)
                if outcome != "skipped":
                    action: Action = "added" if outcome == "added" else "updated"
                    self._record(DocumentChange(action, name, given[name], caller.name))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One change at a time, in this process and any other on the same data folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with exclusive(self.folder / ".lock"):
            yield

    def _record(self, change: DocumentChange) -> None:
        """Every change of the store made through the library comes here, once it is made."""
        self.on_change(change)


class _Outcomes:
    """What an ingest run did with each document so far (an ``ingest.pipeline.Progress``): a
    run cut off by an error leaves its report unreturned, and this says what it committed."""

    def __init__(self) -> None:
        self.by_doc: dict[str, str] = {}

    def start(self, total: int) -> None:
        """Nothing to prepare."""

    def advance(self, doc_id: str, outcome: str) -> None:
        self.by_doc[doc_id] = outcome

    def written(self, doc_id: str, chunks: int, total: int) -> None:
        """Only whole documents count."""


def _save(content: BinaryIO, path: Path) -> Path:
    with path.open("wb") as target:
        shutil.copyfileobj(content, target)
    return path


def _move_aside(path: Path, aside: Path) -> Path | None:
    """Move what is at ``path`` to ``aside``; ``None`` if there was nothing."""
    if not os.path.lexists(path):
        return None
    return path.replace(aside)


def _put_back(path: Path, previous: Path | None) -> None:
    if previous is not None:
        previous.replace(path)
    else:
        path.unlink(missing_ok=True)
