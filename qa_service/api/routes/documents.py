"""A document's text around a quote: where a citation's "open in context" leads."""

import re
from bisect import bisect_right
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Security
from starlette.convertors import Convertor, register_url_convertor

from qa_service.api.auth import API_KEY
from qa_service.api.deps import ReaderGroupsDep, ServicesDep
from qa_service.api.schemas import GUARD_ERRORS, DocumentTextOut, ErrorOut
from qa_service.core.schema import Filters, Passage


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

_ERRORS: dict[int | str, dict[str, Any]] = {
    **GUARD_ERRORS,
    404: {"model": ErrorOut, "description": "no such document, or none the caller may read"},
    422: {"model": ErrorOut, "description": "the offsets do not lie within the document"},
    503: {"model": ErrorOut, "description": "the service is loading, or the store is down"},
}
# How far a cut may move to fall between words rather than inside one.
_WORD_REACH = 80
_SPACE = re.compile(r"\s")


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
        raise HTTPException(404, detail="no such document")
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
