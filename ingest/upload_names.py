"""Which names an uploaded file may be kept under: a plain file name that stays inside the
uploads folder and is the document's doc_id, so nothing a client sends can name a path.

>>> [name_problem(name) for name in ("report.pdf", "Rapport 2024 é.docx")]
[None, None]
>>> name_problem("../../etc/passwd")
"a file name may not hold '/' or '\\\\': send the name alone, not a path"
>>> name_problem("notes.exe")
"unsupported file type '.exe' (txt, md, html, pdf, docx)"
"""

import unicodedata
from pathlib import PurePath

from ingest.load import doc_type_of

# What file systems take as one name (ext4, XFS, NTFS alike).
MAX_NAME_BYTES = 255


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an uploaded file's name, or ``None`` if it can."""
    if not name:
        return "the file has no name"
    if "/" in name or "\\" in name:
        return "a file name may not hold '/' or '\\': send the name alone, not a path"
    # NUL ends a name for the operating system; line breaks and bidirectional overrides
    # ("cod\u202etxt.exe") make a name read as another.
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in name):
        return "the name holds control or invisible characters"
    if name.startswith("."):
        return "the name may not begin with '.'"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"the name is longer than {MAX_NAME_BYTES} bytes"
    if doc_type_of(name) is None:
        suffix = PurePath(name).suffix or "(none)"
        return f"unsupported file type {suffix!r} (txt, md, html, pdf, docx)"
    return None
