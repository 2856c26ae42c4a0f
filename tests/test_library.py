"""The document library's one place of change: every upload, ingest run and deletion that
changes the store reaches its ``on_change`` listener once, with who made it; nothing that
changes nothing does."""

import io
from pathlib import Path

import pytest

from ingest.library import (
    OPERATOR,
    DocumentChange,
    DocumentLibrary,
    DocumentNotFoundError,
    UploadedFile,
)
from qa_service.core.keys import Caller, Role
from qa_service.services import Services

EDITOR = Caller("editor-alpha", ("alpha",), Role.EDITOR)


def file(name: str, text: str) -> UploadedFile:
    return UploadedFile(name, io.BytesIO(text.encode()))


def test_every_change_reaches_the_listener_once_with_its_author(
    services: Services, tmp_path: Path
) -> None:
    changes: list[DocumentChange] = []
    library = DocumentLibrary(
        services.store, services.ingestor, tmp_path / "uploads", on_change=changes.append
    )
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "manual.md").write_text("# Manual\n\nRead it.", encoding="utf-8")
    library.ingest([tmp_path / "corpus"], ("alpha",))
    library.upload([file("memo.txt", "Memo\n\nFirst.")], ("alpha",), EDITOR)
    library.upload([file("memo.txt", "Memo\n\nFirst.")], ("alpha",), EDITOR)  # skipped
    library.upload([file("memo.txt", "Memo\n\nSecond.")], None, EDITOR)
    library.upload([file("broken.pdf", "not a pdf")], None, EDITOR)  # failed
    library.delete("memo.txt", EDITOR)
    (tmp_path / "corpus" / "manual.md").unlink()
    library.ingest([tmp_path / "corpus"], ("alpha",), prune=True)
    with pytest.raises(DocumentNotFoundError):
        library.delete("memo.txt", EDITOR)
    assert changes == [
        DocumentChange("added", "manual.md", ("alpha",), OPERATOR.name),
        DocumentChange("added", "memo.txt", ("alpha",), "editor-alpha"),
        DocumentChange("updated", "memo.txt", ("alpha",), "editor-alpha"),
        DocumentChange("deleted", "memo.txt", ("alpha",), "editor-alpha"),
        DocumentChange("deleted", "manual.md", ("alpha",), OPERATOR.name),
    ]
    assert services.store.list_documents() == []
    assert sorted(path.name for path in (tmp_path / "uploads").iterdir()) == [".lock", ".staging"]
