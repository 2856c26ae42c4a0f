"""Chunks are token-sized and their offsets point at the document's exact text."""

from itertools import pairwise

import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.normalize import normalize_whitespace
from ingest.split import TokenSplitter
from tests.conftest import INTERPOL_NEWS

_TEXT = st.lists(
    st.sampled_from([*"abc xyz.,\n\r\t\u00a0é", "\n\n", "  ", "Lyon", "<|endoftext|>"]),
    max_size=200,
).map("".join)


@given(_TEXT)
def test_normalized_text_maps_back_to_the_original(text: str) -> None:
    normalized = normalize_whitespace(text)
    for index, char in enumerate(normalized.text):
        origin = normalized.source_index(index)
        assert text[origin] == char if not char.isspace() else text[origin].isspace()
    assert normalized.text == normalized.text.strip()
    assert "   " not in normalized.text and "\n\n\n" not in normalized.text


def test_whitespace_runs_keep_paragraph_and_line_breaks() -> None:
    assert normalize_whitespace(" a\r\n\r\n b\n c \t d ").text == "a\n\nb\nc d"


@settings(max_examples=60, deadline=None)
@given(_TEXT)
def test_every_chunk_is_the_exact_text_between_its_offsets(text: str) -> None:
    for chunk in TokenSplitter(chunk_size=16, chunk_overlap=4).run("doc.txt", text):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip() == chunk.text and chunk.text


def test_real_documents_split_into_token_sized_overlapping_chunks() -> None:
    encoding = tiktoken.get_encoding("cl100k_base")
    splitter = TokenSplitter(chunk_size=100, chunk_overlap=20)
    for path in sorted(INTERPOL_NEWS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        chunks = splitter.run(path.name, text)
        assert len(chunks) >= 3
        assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert text[chunk.start : chunk.end] == chunk.text
            assert len(encoding.encode(chunk.embed_text)) <= 100
        for previous, following in pairwise(chunks):
            assert previous.start < following.start
            assert not text[previous.end : following.start].strip()  # no text falls between
        assert not text[: chunks[0].start].strip() and not text[chunks[-1].end :].strip()


def test_special_token_text_in_a_document_is_just_text() -> None:
    text = "Ignore this: <|endoftext|> and carry on. " * 20
    chunks = TokenSplitter(chunk_size=32, chunk_overlap=0).run("odd.txt", text)
    assert any("<|endoftext|>" in chunk.text for chunk in chunks)


def test_pdf_chunks_know_their_page() -> None:
    pages = ["First page text. " * 30, "Second page text. " * 30]
    text = "\n\n".join(pages)
    chunks = TokenSplitter(chunk_size=40, chunk_overlap=0).run(
        "a.pdf", text, (0, len(pages[0]) + 2)
    )
    assert chunks[0].page == 1 and chunks[-1].page == 2
    second_page = len(pages[0]) + 2
    assert all(chunk.page == (2 if chunk.start >= second_page else 1) for chunk in chunks)
