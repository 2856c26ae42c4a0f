"""The documents over HTTP: upload, list, read one's metadata, delete, and a document's text
around a quote (where a citation's "open in context" leads). The work is the document
library's (``ingest.library``); a route turns its answers and refusals into HTTP.
"""

import re
from bisect import bisect_right
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from ingest.library import NO_SUCH_DOCUMENT, DocumentNotFoundError, PermissionRefusedError
from qa_service.api.auth import API_KEY
from qa_service.api.deps import (
    CallerDep,
    EditorDep,
    LibraryDep,
    ReaderGroupsDep,
    ServicesDep,
    StateDep,
)
from qa_service.api.schemas import (
    GUARD_ERRORS,
    DeletedOut,
    DocumentOut,
    DocumentPageOut,
    DocumentTextOut,
    ErrorOut,
    UploadOut,
    UploadRefusedOut,
)
from qa_service.api.uploads import UPLOAD_BODY, read_upload
from qa_service.core.schema import Filters, Passage, parse_groups


class DocumentId(Convertor[str]):
    """A path parameter of any characters, slashes and line breaks included (Starlette's
    ``path`` stops at a line break): a ``doc_id`` is a file's path, which may hold both."""

    regex = "(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("doc_id", DocumentId())
router = APIRouter(prefix="/v1", tags=["documents"], dependencies=[Security(API_KEY)])

_LOADING = {
    "model": ErrorOut,
    "description": "the service is loading, or the store (for a change, the database) is down",
}
_NOT_FOUND = {"model": ErrorOut, "description": "no such document, or none the caller may read"}
_EDITORS_ONLY = {
    "model": ErrorOut,
    "description": "a reader's key (only editor and admin keys change documents), or without "
    "a keys file a request from another machine",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **GUARD_ERRORS,
    404: _NOT_FOUND,
    422: {"model": ErrorOut, "description": "the offsets do not lie within the document"},
    503: _LOADING,
}
_LIST_ERRORS: dict[int | str, dict[str, Any]] = {
    **GUARD_ERRORS,
    422: {"model": ErrorOut, "description": "a malformed limit, or a group name"},
    503: _LOADING,
}
_ONE_ERRORS: dict[int | str, dict[str, Any]] = {**GUARD_ERRORS, 404: _NOT_FOUND, 503: _LOADING}
_DELETE_ERRORS: dict[int | str, dict[str, Any]] = {**_ONE_ERRORS, 403: _EDITORS_ONLY}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **GUARD_ERRORS,
    400: {"model": ErrorOut, "description": "an unknown Host, or a malformed multipart body"},
    403: {
        "model": ErrorOut,
        "description": "a reader's key, groups the key does not hold, or without a keys file "
        "a request from another machine",
    },
    413: {
        "model": ErrorOut,
        "description": "the body is over QA_MAX_UPLOAD_BYTES, or a file over "
        "QA_MAX_UPLOAD_FILE_BYTES: nothing is stored",
    },
    415: {"model": ErrorOut, "description": "the body is not multipart/form-data"},
    422: {
        "model": UploadRefusedOut,
        "description": "no files, a bad group name, or files that were refused (each with its "
        "reason in `failed`; the other files are stored)",
    },
    503: _LOADING,
}
# How far a cut may move to fall between words rather than inside one.
_WORD_REACH = 80
_SPACE = re.compile(r"\s")


@router.post(
    "/documents", response_model=UploadOut, responses=_UPLOAD_ERRORS, openapi_extra=UPLOAD_BODY
)
async def upload_documents(
    request: Request, editor: EditorDep, library: LibraryDep, state: StateDep
) -> UploadOut | JSONResponse:
    """Add or replace documents: each file is stored under its name (its doc_id) and ingested
    as `qa ingest` would (unchanged files are skipped). Editor and admin keys only."""
    async with read_upload(request, state.settings.max_upload_file_bytes) as upload:
        try:
            # Off the event loop: questions are answered while the files are ingested.
            report = await run_in_threadpool(library.upload, upload.files, upload.groups, editor)
        except PermissionRefusedError as refused:
            raise HTTPException(403, detail=str(refused)) from refused
    if report.failed:
        return JSONResponse(UploadRefusedOut.of(report).model_dump(mode="json"), 422)
    return UploadOut.of(report)


@router.get("/documents", responses=_LIST_ERRORS)
def list_documents(
    library: LibraryDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="documents on a page")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="`next_cursor` of the page before")
    ] = None,
    groups: Annotated[
        str | None,
        Query(
            max_length=6500,
            description="comma-separated: only documents of these of the key's groups (and "
            "those with no groups); empty: those with no groups only",
        ),
    ] = None,
) -> DocumentPageOut:
    """The documents the caller may read, by doc_id, a page at a time."""
    try:
        wanted = parse_groups(groups) if groups is not None else None
    except ValueError as error:
        raise HTTPException(422, detail=str(error)[:300]) from error
    documents, next_cursor = library.page(caller, wanted, cursor, limit)
    return DocumentPageOut(
        documents=[DocumentOut.of(document) for document in documents], next_cursor=next_cursor
    )


# Before the routes of one document: a doc_id may hold slashes, so ".../text" is read as the
# text route's.
@router.get("/documents/{doc_id:doc_id}/text", responses=_ERRORS)
def document_text(
    doc_id: str,
    services: ServicesDep,
    groups: ReaderGroupsDep,
    start: Annotated[int, Query(ge=0, description="the quote's first character")],
    end: Annotated[int, Query(ge=0, description="the character after the quote")],
    context: Annotated[
        int, Query(ge=0, le=20_000, description="characters to show either side of the quote")
    ] = 600,
) -> DocumentTextOut:
    """The text of a document around ``[start, end)``, a citation's quote, with its title and
    page. A document the caller may not read is as unknown as one that does not exist."""
    found = services.store.list_documents(Filters(doc_ids=(doc_id,), groups=groups))
    chunks = services.store.document_chunks(found[0]) if found else []
    if not chunks:
        raise HTTPException(404, detail=NO_SUCH_DOCUMENT)
    text = services.store.document_text(chunks[0])
    if not start <= end <= len(text):
        raise HTTPException(
            422, detail=f"start and end must lie within the document (0 to {len(text)})"
        )
    first, last = context_window(text, start, end, context)
    return DocumentTextOut(
        doc_id=found[0].doc_id,
        title=found[0].title,
        page=page_at(chunks, start),
        text=text[first:last],
        offset=first,
        start=start,
        end=end,
        quote=text[start:end],
        chars=len(text),
    )


@router.get("/documents/{doc_id:doc_id}", responses=_ONE_ERRORS)
def document(doc_id: str, library: LibraryDep, caller: CallerDep) -> DocumentOut:
    """One document's metadata; a document the caller may not read is as unknown as one that
    does not exist."""
    try:
        return DocumentOut.of(library.document(doc_id, caller))
    except DocumentNotFoundError as missing:
        raise HTTPException(404, detail=str(missing)) from missing


@router.delete("/documents/{doc_id:doc_id}", responses=_DELETE_ERRORS)
def delete_document(doc_id: str, library: LibraryDep, editor: EditorDep) -> DeletedOut:
    """Delete a document the key may read, its chunks and its uploaded file. Editor and admin
    keys only."""
    try:
        removed = library.delete(doc_id, editor)
    except DocumentNotFoundError as missing:
        raise HTTPException(404, detail=str(missing)) from missing
    return DeletedOut(deleted=doc_id, chunks=removed)


def context_window(text: str, start: int, end: int, context: int) -> tuple[int, int]:
    """Where to cut ``text`` to show ``[start, end)`` with ``context`` characters either side:
    never inside a word (a cut moves out by at most ``_WORD_REACH`` characters to avoid it),
    nor on blank space.

    >>> text = "One two three. Four five six."
    >>> first, last = context_window(text, 15, 19, 6)
    >>> text[first:last]
    'three. Four five'
    """
    first, last = max(0, start - context), min(len(text), end + context)
    if 0 < first < len(text) and not (text[first - 1].isspace() or text[first].isspace()):
        near = max(0, first - _WORD_REACH)
        spaces = [space.end() for space in _SPACE.finditer(text, near, first)]
        first = spaces[-1] if spaces else 0 if near == 0 else first
    if 0 < last < len(text) and not (text[last - 1].isspace() or text[last].isspace()):
        far = last + _WORD_REACH
        space = _SPACE.search(text, last, far)
        last = space.start() if space else len(text) if far >= len(text) else last
    while first < start and text[first].isspace():
        first += 1
    while last > end and text[last - 1].isspace():
        last -= 1
    return first, last


def page_at(chunks: list[Passage], offset: int) -> int | None:
    """The page of the chunk ``offset`` falls in (the last one starting at or before it);
    ``chunks`` in document order."""
    index = bisect_right([chunk.start for chunk in chunks], offset) - 1
    return chunks[max(index, 0)].page
