"""BM25 scores of the keyword index: bm25s's, and blind to the chunks a caller may not read."""

from pathlib import Path

import bm25s
import numpy as np
import pytest

from qa_service.core.schema import Filters
from qa_service.stores.keyword import KeywordEntry, KeywordIndex, KeywordTokenizer, Postings
from tests.conftest import INTERPOL_NEWS

TOKENIZER = KeywordTokenizer()


def interpol_chunks() -> list[list[str]]:
    """interpol-news's words, in pieces of 60 terms (an empty one too)."""
    texts = [TOKENIZER.run(path.read_text()) for path in sorted(INTERPOL_NEWS.glob("*.txt"))]
    return [text[i : i + 60] for text in texts for i in range(0, len(text), 60)] + [[""]]


@pytest.mark.parametrize(
    "query", ["Where did the police chiefs meet in Lyon?", "INTERPOL interpol cybercrime", "zzz"]
)
def test_scores_over_the_whole_collection_are_bm25s_scores(query: str) -> None:
    chunks = interpol_chunks()
    model = bm25s.BM25(k1=0.9, b=0.4)
    model.index(chunks, show_progress=False)
    terms = TOKENIZER.run(query)
    ids = model.get_tokens_ids(terms)
    expected = model.get_scores_from_ids(ids) if ids else np.zeros(len(chunks))
    assert np.array_equal(Postings(chunks).scores(terms), np.asarray(expected, np.float32))


def test_a_readable_chunk_scores_the_same_whatever_else_the_store_holds() -> None:
    chunks = interpol_chunks()
    hidden = [["polic", "chief", "lyon", "secret"] * 3, ["lyon"] * 40]
    terms = TOKENIZER.run("police chiefs Lyon")
    alone = Postings(chunks).scores(terms)
    readable = np.array([True] * len(chunks) + [False] * len(hidden))
    beside = Postings(chunks + hidden).scores(terms, readable)
    assert np.array_equal(beside[: len(chunks)], alone) and not beside[len(chunks) :].any()
    # Without the restriction, the hidden chunks would move every score of the others.
    assert not np.array_equal(Postings(chunks + hidden).scores(terms)[: len(chunks)], alone)


def test_the_index_scores_with_the_callers_groups(tmp_path: Path) -> None:
    def entries(groups: tuple[str, ...]) -> list[KeywordEntry]:
        return [
            KeywordEntry(f"{doc}#v#0", doc, "v", text, "txt", groups=groups if doc == "x" else ())
            for doc, text in (
                ("a", "The chiefs of police met in Lyon."),
                ("b", "Police in Lyon and Tokyo."),
                ("x", "Lyon Lyon Lyon: the chiefs met in secret."),
            )
        ]

    everything = KeywordIndex(tmp_path / "all.sqlite3")
    everything.add(entries(("secret",)))
    public = KeywordIndex(tmp_path / "public.sqlite3")
    public.add([entry for entry in entries(()) if entry.doc_id != "x"])
    query = "Where did the police chiefs meet in Lyon?"
    outsider = everything.search(query, 10, Filters(groups=("other",)))
    assert outsider == public.search(query, 10) and len(outsider) == 2
    insider = everything.search(query, 10, Filters(groups=("secret",)))
    assert {hit.chunk_id for hit in insider} == {"a#v#0", "b#v#0", "x#v#0"}
