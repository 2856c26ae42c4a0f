"""The nouns every stage shares: document, chunk, passage, and the filters over them."""

import datetime as dt
import re
from dataclasses import dataclass, field

GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse_groups(text: str | None) -> tuple[str, ...]:
    """``"a, b"`` -> ``("a", "b")``; a clear ``ValueError`` for a name that is not allowed."""
    if not text:
        return ()
    groups = sorted({part.strip() for part in text.split(",") if part.strip()})
    for group in groups:
        if not GROUP_NAME.match(group):
            raise ValueError(
                f"group {group!r} is not allowed: use letters, digits, '_', '.', '-' (max 64)"
            )
    return tuple(groups)


@dataclass(frozen=True)
class DocumentInfo:
    """One document as the store knows it."""

    doc_id: str
    title: str | None
    content_hash: str
    # Changes with the content, the groups, the chunking or the embedder: what makes a re-ingest.
    version: str
    doc_type: str
    source: str
    groups: tuple[str, ...] = ()
    date: dt.date | None = None
    n_chunks: int = 0
    chars: int = 0
    ingested_at: str = ""


@dataclass(frozen=True)
class Chunk:
    """A token-sized piece of a document: ``text == document_text[start:end]``, always."""

    doc_id: str
    index: int
    text: str
    start: int
    end: int
    embed_text: str
    page: int | None = None


@dataclass(frozen=True)
class Passage:
    """A chunk that retrieval returned for a question, with its score (higher is closer)."""

    chunk_id: str
    doc_id: str
    title: str | None
    text: str
    start: int
    end: int
    score: float
    page: int | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)
    # The evidence behind ``score`` when searches are combined: cosine similarity of the chunk
    # to the question, and its BM25 score (``None``: that search was not run).
    dense_score: float | None = None
    keyword_score: float | None = None


@dataclass(frozen=True)
class Filters:
    """Restrictions on what a search may return; ``None`` means no restriction.

    ``groups`` is the caller's access: a document with no groups is readable by everyone.
    """

    doc_ids: tuple[str, ...] | None = None
    doc_types: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def date_number(day: dt.date) -> int:
    """A date as the integer yyyymmdd: how stores compare dates in filters."""
    return day.year * 10000 + day.month * 100 + day.day
