"""How a chunk is kept in Chroma: its record id, its metadata, and the reverse."""

import datetime as dt
from typing import Any

from qa_service.core.schema import Chunk, DocumentInfo, Filters, Passage, date_number
from qa_service.stores.keyword import KeywordEntry

Metadata = dict[str, str | int | float | bool]


def chunk_id(document: DocumentInfo, index: int) -> str:
    return f"{document.doc_id}#{document.version[:16]}#{index}"


def keyword_entry(record_id: str, version: str, text: str, metadata: Metadata) -> KeywordEntry:
    """What the keyword index keeps of a chunk; the title is searched with every chunk."""
    title = metadata.get("title")
    return KeywordEntry(
        chunk_id=record_id,
        doc_id=str(metadata["doc_id"]),
        version=version,
        text=f"{title}\n{text}" if title else text,
        doc_type=str(metadata["doc_type"]),
        date=int(metadata.get("date", 0)),
        groups=tuple(group for group in str(metadata["groups"]).split(",") if group),
    )


def chunk_metadata(document: DocumentInfo, chunk: Chunk) -> Metadata:
    metadata: Metadata = {
        "doc_id": document.doc_id,
        "content_hash": document.content_hash,
        "version": document.version,
        "doc_type": document.doc_type,
        "source": document.source,
        "n_chunks": document.n_chunks,
        "chars": document.chars,
        "ingested_at": document.ingested_at,
        "groups": ",".join(document.groups),
        # One boolean per group: Chroma filters on scalar fields, and access checks need "any of".
        "public": not document.groups,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    }
    metadata.update({f"group:{group}": True for group in document.groups})
    if document.title:
        metadata["title"] = document.title
    if document.date:
        metadata["date"] = date_number(document.date)
    if chunk.page is not None:
        metadata["page"] = chunk.page
    return metadata


def document_from_metadata(metadata: Metadata) -> DocumentInfo:
    stored_date = metadata.get("date")
    return DocumentInfo(
        doc_id=str(metadata["doc_id"]),
        title=str(metadata["title"]) if "title" in metadata else None,
        content_hash=str(metadata["content_hash"]),
        version=str(metadata["version"]),
        doc_type=str(metadata["doc_type"]),
        source=str(metadata["source"]),
        groups=tuple(group for group in str(metadata["groups"]).split(",") if group),
        date=dt.datetime.strptime(str(stored_date), "%Y%m%d").date() if stored_date else None,
        n_chunks=int(metadata["n_chunks"]),
        chars=int(metadata["chars"]),
        ingested_at=str(metadata["ingested_at"]),
    )


def passage_from_record(record_id: str, text: str, metadata: Metadata, score: float) -> Passage:
    page = metadata.get("page")
    return Passage(
        chunk_id=record_id,
        doc_id=str(metadata["doc_id"]),
        title=str(metadata["title"]) if "title" in metadata else None,
        text=text,
        start=int(metadata["start"]),
        end=int(metadata["end"]),
        score=score,
        page=int(page) if page is not None else None,
        metadata=dict(metadata),
    )


def chroma_where(filters: Filters | None, *extra: dict[str, Any]) -> dict[str, Any] | None:
    """Translate ``Filters`` into a Chroma ``where`` clause (``None`` when nothing restricts)."""
    clauses: list[dict[str, Any]] = list(extra)
    if filters is not None:
        if filters.doc_ids is not None:
            clauses.append({"doc_id": {"$in": list(filters.doc_ids) or [""]}})
        if filters.doc_types is not None:
            clauses.append({"doc_type": {"$in": list(filters.doc_types) or [""]}})
        if filters.groups is not None:
            readable = [{"public": True}] + [{f"group:{g}": True} for g in filters.groups]
            clauses.append(readable[0] if len(readable) == 1 else {"$or": readable})
        if filters.date_from is not None:
            clauses.append({"date": {"$gte": date_number(filters.date_from)}})
        if filters.date_to is not None:
            clauses.append({"date": {"$lte": date_number(filters.date_to)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
