"""Readers that turn a file's bytes into the document's text, title and date.

Each format uses a well-kept parser; whatever cannot be read raises ``LoadError`` with a reason a
person can act on, and the caller skips that file.
"""

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

import docx
import pypdf
from bs4 import BeautifulSoup
from bs4.element import NavigableString
from charset_normalizer import from_bytes
from docx.table import Table

_SNIFF = 8192
_TITLE_MAX = 120
_HTML_BLOCKS = [
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
    "section", "article", "header", "footer", "blockquote", "table", "ul", "ol", "dt", "dd",
]  # fmt: skip


class LoadError(Exception):
    """A file that cannot become a document; ``str(error)`` is the reason."""


@dataclass(frozen=True)
class LoadedDocument:
    text: str
    title: str | None
    doc_type: str
    date: dt.date | None = None
    page_starts: tuple[int, ...] = ()


def doc_type_of(name: str) -> str | None:
    """The document type for a file name, or ``None`` if no reader handles it."""
    return _TYPES.get(PurePath(name).suffix.lower())


def load_document(name: str, data: bytes) -> LoadedDocument:
    doc_type = doc_type_of(name)
    if doc_type is None:
        raise LoadError(f"unsupported file type {PurePath(name).suffix or '(none)'!r}")
    if not data.strip():
        raise LoadError("empty file")
    document = _READERS[doc_type](data)
    if not document.text.strip():
        raise LoadError(
            "no text could be extracted" + (" (scanned PDF?)" if doc_type == "pdf" else "")
        )
    return document


def decode_text(data: bytes) -> str:
    """Decode text of unknown encoding; binary data and undecodable bytes are errors."""
    if b"\x00" in data[:_SNIFF]:
        raise LoadError("binary file, not text (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        raise LoadError("unreadable text encoding")
    text = str(best)
    control = sum(1 for char in text[:_SNIFF] if ord(char) < 32 and char not in "\t\n\r\f")
    if control > len(text[:_SNIFF]) * 0.05:
        raise LoadError("binary file, not text (control characters)")
    return text


def _read_text(data: bytes) -> LoadedDocument:
    text = decode_text(data)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first_line if len(first_line) <= _TITLE_MAX else None
    return LoadedDocument(text=text, title=title, doc_type="txt")


def _read_markdown(data: bytes) -> LoadedDocument:
    text = decode_text(data)
    heading = re.search(r"^#{1,2}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
    return LoadedDocument(text=text, title=heading.group(1) if heading else None, doc_type="md")


def _read_html(data: bytes) -> LoadedDocument:
    soup = BeautifulSoup(decode_text(data), "lxml")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    title_tag = soup.title or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    published = soup.find("meta", attrs={"property": "article:published_time"}) or soup.find(
        "meta", attrs={"name": "date"}
    )
    body = soup.body or soup
    # Block elements end a line; inline ones (<a>, <b>) join their text without a break.
    for block in body.find_all(_HTML_BLOCKS):
        block.append(NavigableString("\n"))
    return LoadedDocument(
        text=body.get_text(),
        title=title or None,
        doc_type="html",
        date=_parse_date(str(published.get("content", ""))) if published else None,
    )


def _read_pdf(data: bytes) -> LoadedDocument:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF (password required)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except LoadError:
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise LoadError(f"corrupt or unreadable PDF: {error}") from error
    page_starts, position = [], 0
    for page in pages:
        page_starts.append(position)
        position += len(page) + 2
    created = info.creation_date if info else None
    return LoadedDocument(
        text="\n\n".join(pages),
        title=(info.title or None) if info else None,
        doc_type="pdf",
        date=created.date() if created else None,
        page_starts=tuple(page_starts),
    )


def _read_docx(data: bytes) -> LoadedDocument:
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise LoadError(f"corrupt or unreadable DOCX: {error}") from error
    blocks: list[str] = []
    heading: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            blocks.extend(" | ".join(cell.text for cell in row.cells) for row in block.rows)
            continue
        blocks.append(block.text)
        style = block.style.name if block.style is not None else ""
        if heading is None and block.text.strip() and style.startswith(("Title", "Heading")):
            heading = block.text.strip()
    properties = document.core_properties
    return LoadedDocument(
        text="\n\n".join(blocks),
        title=properties.title or heading,
        doc_type="docx",
        date=properties.created.date() if properties.created else None,
    )


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(text.strip()).date()
    except ValueError:
        return None


_READERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    "txt": _read_text,
    "md": _read_markdown,
    "html": _read_html,
    "pdf": _read_pdf,
    "docx": _read_docx,
}
_TYPES = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
