"""Readers that turn a file's bytes into the document's text, title and date.

Each format uses a well-kept parser; whatever cannot be read raises ``LoadError`` with a reason a
person can act on, and the caller skips that file.
"""

import datetime as dt
import io
import re
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

import docx
import pypdf
from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, Tag
from charset_normalizer import from_bytes
from docx.document import Document as DocxDocument
from docx.table import Table

from ingest.filetype import ContentTypeError, check_content

_SNIFF = 8192
_TITLE_MAX = 120
# python-docx holds every part of a DOCX in memory, and lxml's tree takes several times an XML
# part's size. A cap on the declared sizes, not on compression ratios: legitimate XML can
# compress 130-fold (an empty 3000-row table), and zipfile never unpacks past a declared size.
_DOCX_MAX_UNPACKED = 256 * 2**20
_HTML_BLOCKS = [
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
    "section", "article", "header", "footer", "blockquote", "table", "ul", "ol", "dt", "dd",
]  # fmt: skip
# The strings get_text() takes: text and CDATA, not comments, doctypes or declarations.
_HTML_STRINGS = Tag.MAIN_CONTENT_STRING_TYPES


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
    try:
        check_content(doc_type, data)
    except ContentTypeError as error:
        raise LoadError(str(error)) from None
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
    except UnicodeDecodeError as error:
        if _mostly_utf8(data):
            raise LoadError(
                f"damaged UTF-8 text (invalid bytes at offset {error.start})"
            ) from error
    best = from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        raise LoadError("unreadable text encoding")
    text = str(best)
    control = sum(1 for char in text[:_SNIFF] if ord(char) < 32 and char not in "\t\n\r\f")
    if control > len(text[:_SNIFF]) * 0.05:
        raise LoadError("binary file, not text (control characters)")
    return text


def _mostly_utf8(data: bytes) -> bool:
    """Whether text that fails to decode is UTF-8 with some bad bytes (cut off, or a stray
    byte of another encoding) rather than text in a legacy encoding: its valid multi-byte
    characters are at least as many as its invalid sequences. Text in EUC-KR, Shift-JIS or GBK
    forms valid UTF-8 by chance too, but measured at a third of its invalid sequences or less;
    single-byte encodings (cp1252, cp1251) hardly ever do.
    """
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return non_ascii - invalid >= invalid


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
    return LoadedDocument(
        text=_html_text(soup.body or soup),
        title=title or None,
        doc_type="html",
        date=_parse_date(str(published.get("content", ""))) if published else None,
    )


def _html_text(body: Tag) -> str:
    """The text of ``body``, as ``get_text`` gives it, except that block elements end a line;
    inline ones (<a>, <b>) join their text without a break.

    A walk with a stack rather than newlines added to the tree: bs4 links each added node by
    walking the tree's depth, so 100k nested <div>s took ten minutes.
    """
    pieces: list[str] = []
    pending: list[PageElement | None] = [body]  # None stands for the end of a block
    while pending:
        element = pending.pop()
        if element is None:
            pieces.append("\n")
        elif isinstance(element, Tag):
            if element.name in _HTML_BLOCKS:
                pending.append(None)
            pending.extend(reversed(element.contents))
        elif isinstance(element, NavigableString) and type(element) in _HTML_STRINGS:
            pieces.append(element)
    return "".join(pieces)


def _read_pdf(data: bytes) -> LoadedDocument:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF (password required)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = (info.title or None) if info else None
    except LoadError:
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise LoadError(f"corrupt or unreadable PDF: {_detail(error)}") from error
    page_starts, position = [], 0
    for page in pages:
        page_starts.append(position)
        position += len(page) + 2
    return LoadedDocument(
        text="\n\n".join(pages),
        title=title,
        doc_type="pdf",
        date=_pdf_date(info),
        page_starts=tuple(page_starts),
    )


def _pdf_date(info: pypdf.DocumentInformation | None) -> dt.date | None:
    try:
        created = info.creation_date if info else None
    except ValueError:  # a malformed date is left out; the text is still good
        return None
    return created.date() if created else None


def _read_docx(data: bytes) -> LoadedDocument:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as error:
        raise LoadError(f"corrupt or unreadable DOCX: {_detail(error)}") from error
    if unpacked > _DOCX_MAX_UNPACKED:
        raise LoadError(f"DOCX unpacks to more than {_DOCX_MAX_UNPACKED >> 20} MiB (a zip bomb?)")
    try:
        return _docx_document(docx.Document(io.BytesIO(data)))
    except Exception as error:  # python-docx and lxml raise many types for damaged files
        raise LoadError(f"corrupt or unreadable DOCX: {_detail(error)}") from error


def _docx_document(document: DocxDocument) -> LoadedDocument:
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


def _detail(error: Exception) -> str:
    """A parser's message for a failure reason: on one line, and short enough to read."""
    return textwrap.shorten(str(error) or type(error).__name__, width=160, placeholder=" ...")


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
