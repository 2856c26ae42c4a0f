"""Small real files of every supported format, and broken ones, written by the tests."""

import io
import os
import random
import zipfile
from functools import cache
from pathlib import Path

import docx
import pypdf
from fpdf import FPDF

PDF_PAGES = [
    "The liaison office in Nairobi opened on 3 March. It coordinates regional fugitive searches.",
    "A second page about the cybercrime unit, which trains analysts in digital forensics.",
]


def pdf_bytes(pages: list[str] = PDF_PAGES, title: str = "Liaison office report") -> bytes:
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def encrypted_pdf_bytes(user_password: str = "secret", algorithm: str = "RC4-128") -> bytes:
    """``pdf_bytes()`` encrypted; an empty ``user_password`` opens it without asking."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password, "owner-secret", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Training calendar", level=1)
    document.add_paragraph("The forensic workshop takes place in Singapore in May.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Course", "Month"
    table.cell(1, 0).text, table.cell(1, 1).text = "Firearms tracing", "June"
    document.add_paragraph("Registration closes two weeks before each course.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_with_document_xml(document_xml: bytes, padding: int = 0) -> bytes:
    """``docx_bytes()`` with another main part (``word/document.xml``), followed by ``padding``
    bytes of spaces: still valid XML, and compressed a thousandfold.
    """
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for member in source.infolist():
            with target.open(member.filename, "w") as part:
                if member.filename != "word/document.xml":
                    part.write(source.read(member))
                    continue
                part.write(document_xml)
                for _ in range(padding // 2**20):
                    part.write(b" " * 2**20)
    return buffer.getvalue()


@cache
def docx_bomb_bytes() -> bytes:
    """A DOCX whose main part, which python-docx reads whole, unpacks to 300 MiB from 0.3 MiB."""
    document_xml = zipfile.ZipFile(io.BytesIO(docx_bytes())).read("word/document.xml")
    return docx_with_document_xml(document_xml, padding=300 * 2**20)


def pdf_with_creation_date(date: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf_bytes())))
    writer.add_metadata({"/CreationDate": date})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def nested_html(depth: int) -> bytes:
    return (
        f"<html><body>{'<div>' * depth}Deep inside.{'</div>' * depth}<p>After.</p></body></html>"
    ).encode()


# UTF-8 with bytes that are not: a stray Latin-1 byte mid-text, a cut at the end.
DAMAGED_UTF8 = [
    "Résumé of the Zürich meeting: the café opens at nine.".encode() + b" Caf\xe9 " * 2,
    "Minutes of the meeting in Zürich".encode()[:-1] + b"\xc3",
]

HTML = """<!doctype html><html><head><title>Border operation results</title>
<meta property="article:published_time" content="2025-06-14T09:00:00Z">
<style>p { color: red }</style><script>var tracking = "should not appear";</script></head>
<body><h1>Operation results</h1>
<p>Officers in <b>twelve</b> countries checked <a href="#">travel documents</a> at borders.</p>
<ul><li>41 arrests</li><li>3 seized vehicles</li></ul></body></html>"""

MARKDOWN = "# Duty roster\n\nThe night desk is staffed by two officers.\n"


def write_mixed_folder(folder: Path) -> dict[str, bytes]:
    """Good files of each format plus the broken kinds; returns what was written."""
    files = {
        "report.pdf": pdf_bytes(),
        "calendar.docx": docx_bytes(),
        "operation.html": HTML.encode(),
        "notes/roster.md": MARKDOWN.encode(),
        "legacy.txt": "Caf\xe9 meeting minutes: the r\xe9sum\xe9 of the agenda.".encode("cp1252"),
        "broken.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a real pdf",
        "image.txt": bytes(range(256)) * 8,
        "empty.md": b"",
        "blank.txt": b"   \n\n  ",
        "locked.pdf": encrypted_pdf_bytes(),
        "archive.zip": b"PK\x03\x04 not ingested",
        ".hidden.txt": b"hidden files are left out",
    }
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def write_bad_folder(folder: Path) -> tuple[list[str], dict[str, str]]:
    """Hostile and broken files beside good ones with odd names, and a link out of the folder.

    Returns the doc_ids that must be ingested and, for each file that must fail, the start of
    the reason it must fail with.
    """
    pdf = pdf_bytes()
    good = {
        "report.pdf": pdf,
        "dated oddly.pdf": pdf_with_creation_date("D:2024-99-99"),
        "deep.html": nested_html(100_000),
        "café ☕ 東京.md": MARKDOWN.encode(),
        "new\nline.txt": b"A file name with a newline in it.",
        "-leading-dash.txt": b"A file name that looks like an option.",
    }
    bad = {
        "truncated.pdf": (pdf[: len(pdf) // 2], "corrupt or unreadable PDF: "),
        "locked.pdf": (encrypted_pdf_bytes("secret", "AES-256"), "encrypted PDF (password"),
        "bomb.docx": (docx_bomb_bytes(), "DOCX unpacks to more than 256 MiB (a zip bomb?)"),
        "broken.docx": (docx_with_document_xml(b"<w:document>"), "corrupt or unreadable DOCX: "),
        "binary.txt": (random.Random(13).randbytes(4096), "binary file, not text"),
        "damaged.txt": (DAMAGED_UTF8[0], "damaged UTF-8 text"),
        "empty.md": (b"", "empty file"),
        os.fsdecode(b"caf\xe9.txt"): (MARKDOWN.encode(), "file name is not valid UTF-8"),
    }
    folder.mkdir(parents=True)
    for name, data in {**good, **{name: data for name, (data, _) in bad.items()}}.items():
        (folder / name).write_bytes(data)
    outside = folder.parent / "outside.txt"
    outside.write_text("Not part of the folder.")
    (folder / "outside.txt").symlink_to(outside)
    reasons = {
        name.encode(errors="surrogateescape").decode(errors="backslashreplace"): reason
        for name, (_, reason) in bad.items()
    }
    return list(good), {**reasons, "outside.txt": "a link to a file outside PATH"}
