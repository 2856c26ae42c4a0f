"""Each format is read by its parser into the document's text; broken files get a reason."""

import io
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_docx_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    with pytest.raises(LoadError, match=r"^DOCX unpacks to more than 256 MiB \(a zip bomb\?\)$"):
        load_document("bomb.docx", samples.docx_bomb_bytes())


@pytest.mark.parametrize(
    "document_xml",
    [b"", b"<w:document><unclosed>", b"<\x00", b"<?xml version='1.0'?><a/>"],
)
def test_docx_with_a_broken_main_part_is_corrupt_in_one_line(document_xml: bytes) -> None:
    with pytest.raises(LoadError, match=r"^corrupt or unreadable DOCX: [^\n]+$"):
        load_document("broken.docx", samples.docx_with_document_xml(document_xml))


def test_deeply_nested_html_is_read() -> None:
    document = load_document("deep.html", samples.nested_html(100_000))
    assert document.text.split() == ["Deep", "inside.", "After."]


def test_pdf_with_a_malformed_date_is_read_without_it() -> None:
    document = load_document("report.pdf", samples.pdf_with_creation_date("D:2024-99-99"))
    assert "Nairobi" in document.text and document.date is None


@pytest.mark.parametrize("data", samples.DAMAGED_UTF8)
def test_damaged_utf8_is_refused_not_garbled(data: bytes) -> None:
    with pytest.raises(LoadError, match=r"^damaged UTF-8 text \(invalid bytes at offset \d+\)$"):
        decode_text(data)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (
            "국제형사경찰기구는 회원국 경찰 간의 협력을 촉진하는 국제기구이다. 본부는 리옹에 있다.",
            "euc-kr",
        ),
        (
            "国際刑事警察機構は、国際犯罪の防止を目的とした国際組織である。本部はリヨンにある。",
            "shift_jis",
        ),
        ("国际刑事警察组织是一个国际组织。总部位于法国里昂。成员国警察之间的合作。", "gbk"),
    ],
)
def test_legacy_multibyte_encodings_are_not_taken_for_damaged_utf8(
    text: str, encoding: str
) -> None:
    assert decode_text(text.encode(encoding)) == text


def _damaged(sample: bytes) -> st.SearchStrategy[bytes]:
    """``sample`` with a slice replaced by random bytes: damage that takes a parser further in
    than random bytes do.
    """
    return st.tuples(st.integers(0, len(sample)), st.integers(0, 64), st.binary(max_size=64)).map(
        lambda cut: sample[: cut[0]] + cut[2] + sample[cut[0] + cut[1] :]
    )


_DOCUMENT_XML = zipfile.ZipFile(io.BytesIO(samples.docx_bytes())).read("word/document.xml")
_INPUTS: dict[str, Callable[[], st.SearchStrategy[bytes]]] = {
    "notes.txt": lambda: _damaged("Caf\xe9 minutes: the r\xe9sum\xe9, in Z\xfcrich.".encode()),
    "roster.md": lambda: _damaged(samples.MARKDOWN.encode()),
    "operation.html": lambda: _damaged(samples.HTML.encode()),
    "report.pdf": lambda: _damaged(samples.pdf_bytes()),
    # The zip's bytes, and then a sound zip around a damaged main part.
    "calendar.docx": lambda: (
        _damaged(samples.docx_bytes()) | _damaged(_DOCUMENT_XML).map(samples.docx_with_document_xml)
    ),
}


@pytest.mark.parametrize("name", _INPUTS)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_bytes_give_a_document_or_a_load_error(name: str, data: st.DataObject) -> None:
    raw = data.draw(st.binary(max_size=2048) | _INPUTS[name](), label="bytes")
    try:
        load_document(name, raw)
    except LoadError as error:
        assert str(error) and "\n" not in str(error)
