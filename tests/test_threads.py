"""Objects on the request path give each thread the answer it would get alone."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from qa_service.core.threads import PerThread
from qa_service.stores.keyword import KeywordTokenizer
from qa_service.text.sentences import content_terms, split_sentences
from tests.conftest import INTERPOL_NEWS

T = TypeVar("T")
R = TypeVar("R")


def _texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(INTERPOL_NEWS.glob("*.txt"))]


def _alone_and_together(work: Callable[[str], R], inputs: list[str], rounds: int = 6) -> None:
    alone = [work(text) for text in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(work, inputs * rounds))
    assert together == alone * rounds


def test_sentences_split_in_threads_are_those_split_alone() -> None:
    # pysbd's segmenter keeps the text it works on in itself: one shared between threads mixed
    # up their sentences (23 of 48 results differed before each thread got its own).
    _alone_and_together(split_sentences, _texts())


def test_terms_and_keyword_tokens_in_threads_are_those_made_alone() -> None:
    tokenizer = KeywordTokenizer()
    _alone_and_together(lambda text: sorted(content_terms(text)), _texts())
    _alone_and_together(tokenizer.run, _texts())


def test_per_thread_makes_one_object_in_each_thread(tmp_path: Path) -> None:
    made: list[object] = []

    def factory() -> object:
        made.append(object())
        return made[-1]

    shared = PerThread(factory)
    assert shared.get() is shared.get()
    with ThreadPoolExecutor(max_workers=3) as pool:
        others = set(map(id, pool.map(lambda _: shared.get(), range(30))))
    assert id(shared.get()) not in others
    assert len(made) == 1 + len(others) <= 4
