"""Small real files of every supported format, and broken ones, written by the tests."""

import io
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
