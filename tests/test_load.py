"""Each format is read by its parser into the document's text; broken files get a reason."""

import pytest

from ingest.load import LoadError, decode_text, load_document
from tests import samples


def test_pdf_text_title_and_pages() -> None:
    document = load_document("report.pdf", samples.pdf_bytes())
    assert document.doc_type == "pdf" and document.title == "Liaison office report"
    assert "Nairobi" in document.text and "digital forensics" in document.text
    second = document.text.index("A second page")
    assert document.page_starts[0] == 0 and document.page_starts[1] <= second
    assert document.date is not None


def test_docx_paragraphs_tables_and_heading_title() -> None:
    document = load_document("calendar.docx", samples.docx_bytes())
    assert document.title == "Training calendar"
    assert "Singapore in May" in document.text
    assert "Firearms tracing | June" in document.text
    assert document.text.index("Singapore") < document.text.index("Registration")


def test_html_keeps_inline_text_together_and_drops_scripts() -> None:
    document = load_document("operation.html", samples.HTML.encode())
    assert document.title == "Border operation results"
    assert "checked travel documents at borders" in " ".join(document.text.split())
    assert "twelve countries" in " ".join(document.text.split())
    assert "tracking" not in document.text and "color" not in document.text
    assert document.date is not None and document.date.isoformat() == "2025-06-14"


def test_markdown_title_from_heading() -> None:
    document = load_document("roster.md", samples.MARKDOWN.encode())
    assert document.title == "Duty roster" and document.text == samples.MARKDOWN


def test_text_in_a_legacy_encoding_is_decoded() -> None:
    data = "Caf\xe9 meeting minutes: the r\xe9sum\xe9 of the agenda.".encode("cp1252")
    assert "résumé" in load_document("legacy.txt", data).text


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_aes_encrypted_pdf_without_a_user_password_is_read(algorithm: str) -> None:
    document = load_document("report.pdf", samples.encrypted_pdf_bytes("", algorithm))
    assert "Nairobi" in document.text and document.title == "Liaison office report"


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_that_needs_a_password_says_so(algorithm: str) -> None:
    with pytest.raises(LoadError, match=r"^encrypted PDF \(password required\)$"):
        load_document("locked.pdf", samples.encrypted_pdf_bytes("secret", algorithm))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.7\nnot really a pdf", "corrupt or unreadable PDF"),
        ("locked.pdf", samples.encrypted_pdf_bytes(), "encrypted PDF"),
        ("broken.docx", b"PK\x03\x04 truncated", "corrupt or unreadable DOCX"),
        ("image.txt", bytes(range(256)) * 8, "binary file"),
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"  \n\t ", "empty file"),
        ("page.html", b"<html><body><script>x()</script></body></html>", "no text"),
        ("archive.zip", b"PK\x03\x04", "unsupported file type '.zip'"),
    ],
)
def test_unreadable_files_raise_a_clear_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_document(name, data)


def test_undecodable_bytes_are_refused_not_garbled() -> None:
    with pytest.raises(LoadError):
        decode_text(bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 200 + b"\x01\x02\x03" * 300)
