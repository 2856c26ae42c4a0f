"""Whether a file's bytes are what its name says: the type is read from the content (puremagic's
file signatures, and for text types the text check of ``load.decode_text``), never taken from
the name alone, so a ``.txt`` holding a PDF or a ``.pdf`` holding anything else is refused with
what it holds.

>>> check_content("pdf", b"%PDF-1.7 ...")
>>> check_content("txt", b"%PDF-1.7 ...")
Traceback (most recent call last):
ingest.filetype.ContentTypeError: the content is not text: it is a PDF (Adobe ...)
>>> check_content("pdf", b"Minutes of the meeting")
Traceback (most recent call last):
ingest.filetype.ContentTypeError: the content is not a PDF: it does not begin as one does
"""

import puremagic

# The signature each binary type must begin with, as puremagic names it by extension.
_SIGNATURES = {"pdf": {".pdf"}, "docx": {".docx", ".zip"}}
_NAMES = {"pdf": "a PDF", "docx": "a Word document (DOCX)"}
# Bytes no text holds (control characters other than tab, line breaks and form feed): a
# signature made of letters ("MZ", "<!doctype") can begin ordinary text, one holding these cannot.
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13} | {127}
_TEXT_TYPES = frozenset({"txt", "md", "html"})


class ContentTypeError(ValueError):
    """The bytes are not of the type the name says; ``str(error)`` says what they are."""


def check_content(doc_type: str, data: bytes) -> None:
    """Refuse ``data`` unless it can be a document of ``doc_type`` (``txt``, ``md``, ``html``,
    ``pdf``, ``docx``). Text types are also checked as text by their reader."""
    found = _binary_signature(data)
    if doc_type in _TEXT_TYPES:
        if found is not None:
            raise ContentTypeError(f"the content is not text: it is {found}")
        return
    if not _SIGNATURES[doc_type] & {match.extension for match in _matches(data)}:
        what = f"it is {found}" if found is not None else "it does not begin as one does"
        raise ContentTypeError(f"the content is not {_NAMES[doc_type]}: {what}")


def _binary_signature(data: bytes) -> str | None:
    """What a binary file begins with, in words (``a PDF (Adobe ...)``); ``None`` for text and
    for content puremagic does not recognise. A PDF's signature is letters, but it is read as
    a PDF, never as text."""
    for match in _matches(data):
        if match.extension == ".pdf":
            return f"a PDF ({match.name})"
        if _CONTROL.intersection(match.byte_match):
            kind = match.extension.lstrip(".").upper() or "binary"
            return f"a {kind} file ({match.name})"
    return None


def _matches(data: bytes) -> list[puremagic.PureMagicWithConfidence]:
    if not data:
        return []
    try:
        return puremagic.magic_string(data)
    except puremagic.PureError:  # no signature known
        return []
