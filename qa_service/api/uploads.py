"""An upload's body (``POST /v1/documents``), read into the files and groups the document
library takes.

Starlette parses the multipart body as it arrives, each file into a temporary file that moves
from memory to disk past 1 MiB; ``middleware.BodySizeLimit`` stops the whole body at
``QA_MAX_UPLOAD_BYTES``, and a file over ``QA_MAX_UPLOAD_FILE_BYTES`` refuses the upload.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile

from ingest.library import UploadedFile
from qa_service.core.schema import parse_groups

FILES = "files"
GROUPS = "groups"
# Parts of one upload: files, and a few groups fields.
MAX_FILES = 100
MAX_FIELDS = 10
# A groups field is a list of names, not a document.
MAX_FIELD_BYTES = 64 * 1024

# The request body of the OpenAPI schema: the route reads it itself, after the caller's role
# is checked, so that a reader's upload is refused before its body is read.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILES],
                    "additionalProperties": False,
                    "properties": {
                        FILES: {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_FILES,
                            "items": {"type": "string", "format": "binary"},
                            "description": "the files (txt, md, html, pdf, docx), one part "
                            "each; a file's name is its doc_id",
                        },
                        GROUPS: {
                            "type": "string",
                            "description": "comma-separated groups that may read the files "
                            "(only groups the key holds); without it, a document that exists "
                            "keeps its groups and a new one is readable by every caller",
                        },
                    },
                }
            }
        },
    }
}


@dataclass(frozen=True)
class Upload:
    files: list[UploadedFile]
    groups: tuple[str, ...] | None


@asynccontextmanager
async def read_upload(request: Request, max_file_bytes: int) -> AsyncIterator[Upload]:
    """The upload in ``request``'s body; its temporary files are removed when the block ends.
    A 415, 400, 413 or 422 ``HTTPException`` for a body that is not one."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise HTTPException(415, detail="send the files as multipart/form-data")
    async with request.form(
        max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
    ) as form:
        yield _upload(form, max_file_bytes)


def _upload(form: FormData, max_file_bytes: int) -> Upload:
    unknown = sorted(set(form.keys()) - {FILES, GROUPS})
    if unknown:
        raise HTTPException(
            422, detail=f"unknown fields: {', '.join(unknown)[:200]} (send files and groups)"
        )
    files = form.getlist(FILES)
    if not files:
        raise HTTPException(422, detail="no files: send each file as a part named 'files'")
    uploaded: list[UploadedFile] = []
    for part in files:
        if not isinstance(part, UploadFile):
            raise HTTPException(422, detail="each 'files' part must be a file, with a filename")
        if (part.size or 0) > max_file_bytes:
            raise HTTPException(
                413,
                detail=f"the file {(part.filename or '')[:100]!r} is over the limit of "
                f"{max_file_bytes} bytes for one file",
            )
        uploaded.append(UploadedFile(part.filename or "", part.file))
    return Upload(uploaded, _groups(form))


def _groups(form: FormData) -> tuple[str, ...] | None:
    """The groups the files are given (every ``groups`` part, comma-separated), or ``None``
    when there is no ``groups`` part."""
    given = form.getlist(GROUPS)
    if not given:
        return None
    if not all(isinstance(part, str) for part in given):
        raise HTTPException(422, detail="'groups' must be text, not a file")
    try:
        return parse_groups(",".join(str(part) for part in given))
    except ValueError as error:
        raise HTTPException(422, detail=str(error)[:300]) from error
