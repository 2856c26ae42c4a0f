"""Token-sized chunks with exact character offsets into the document's text."""

from bisect import bisect_right
from typing import Protocol

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.normalize import normalize_whitespace
from qa_service.core.schema import Chunk


class Splitter(Protocol):
    """Cuts a document's text into chunks whose offsets point into that text."""

    @property
    def fingerprint(self) -> str:
        """Names the chunking; a change of it makes the next ingest re-embed every document."""
        ...

    def run(self, doc_id: str, text: str, page_starts: tuple[int, ...] = ()) -> list[Chunk]: ...


class TokenSplitter:
    """Splits text into chunks of at most ``chunk_size`` tokens (tiktoken ``cl100k_base``).

    >>> text = "INTERPOL's General Secretariat is in Lyon. " * 40
    >>> chunks = TokenSplitter(chunk_size=64, chunk_overlap=8).run("a.txt", text)
    >>> all(text[c.start:c.end] == c.text for c in chunks)
    True
    """

    def __init__(
        self, chunk_size: int, chunk_overlap: int, encoding_name: str = "cl100k_base"
    ) -> None:
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError("chunk_overlap must be at least 0 and smaller than chunk_size")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.encoding_name = encoding_name
        self._splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
            encoding_name=encoding_name,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            # Documents are data: a literal "<|endoftext|>" in one is text, not an error.
            disallowed_special=(),
        )

    @property
    def fingerprint(self) -> str:
        return f"{self.encoding_name}:{self.chunk_size}:{self.chunk_overlap}"

    def run(self, doc_id: str, text: str, page_starts: tuple[int, ...] = ()) -> list[Chunk]:
        normalized = normalize_whitespace(text)
        chunks: list[Chunk] = []
        cursor, previous = 0, ""
        # langchain's own start_index subtracts a token overlap from character positions, which
        # can skip past a chunk's true start. A chunk starts at or after the previous one's start
        # (at it when the previous chunk is a prefix of this one), so search from there.
        for index, piece in enumerate(self._splitter.split_text(normalized.text)):
            found = normalized.text.find(piece, cursor + (piece == previous))
            if found < 0:
                raise RuntimeError(f"splitter returned text not in {doc_id}: {piece[:40]!r}")
            start, end = normalized.source_span(found, found + len(piece))
            chunks.append(
                Chunk(
                    doc_id=doc_id,
                    index=index,
                    text=text[start:end],
                    start=start,
                    end=end,
                    embed_text=piece,
                    page=_page_of(start, page_starts),
                )
            )
            cursor, previous = found, piece
        return chunks


class CharacterSplitter:
    """Chunks of at most ``chunk_size`` characters, cut at paragraph, line, then word breaks.

    LangChain's general-purpose character splitter on the raw text, as its RAG tutorials use it:
    the naive baseline that ``qa eval --config naive`` measures against.

    >>> text = "INTERPOL's General Secretariat is in Lyon. " * 40
    >>> chunks = CharacterSplitter(chunk_size=1000).run("a.txt", text)
    >>> all(text[c.start:c.end] == c.text and len(c.text) <= 1000 for c in chunks)
    True
    """

    def __init__(self, chunk_size: int = 1000, chunk_overlap: int = 0) -> None:
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError("chunk_overlap must be at least 0 and smaller than chunk_size")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )

    @property
    def fingerprint(self) -> str:
        return f"characters:{self.chunk_size}:{self.chunk_overlap}"

    def run(self, doc_id: str, text: str, page_starts: tuple[int, ...] = ()) -> list[Chunk]:
        chunks: list[Chunk] = []
        cursor, previous = 0, ""
        # Pieces come in order and stripped of surrounding whitespace; the search starts at the
        # previous piece's start because overlapping pieces can share text.
        for index, piece in enumerate(self._splitter.split_text(text)):
            found = text.find(piece, cursor + (piece == previous))
            if found < 0:
                raise RuntimeError(f"splitter returned text not in {doc_id}: {piece[:40]!r}")
            chunks.append(
                Chunk(
                    doc_id=doc_id,
                    index=index,
                    text=piece,
                    start=found,
                    end=found + len(piece),
                    embed_text=piece,
                    page=_page_of(found, page_starts),
                )
            )
            cursor, previous = found, piece
        return chunks


def _page_of(offset: int, page_starts: tuple[int, ...]) -> int | None:
    if not page_starts:
        return None
    return max(bisect_right(page_starts, offset), 1)
