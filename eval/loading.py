"""Which kind of dataset a folder holds, read into a ``Dataset``, optionally sampled.

>>> dataset = load_dataset(Path("eval/datasets/interpol-news"), sample=10)
>>> len(dataset.questions), sum(question.answerable for question in dataset.questions)
(20, 10)
"""

import random
from collections.abc import Sequence
from pathlib import Path

from eval.clapnq import is_clapnq, load_clapnq
from eval.dataset import Dataset, DatasetError, QAItem, load_folder

SAMPLE_SEED = 13


def load_dataset(folder: Path, sample: int | None = None, limit: int | None = None) -> Dataset:
    """The dataset in ``folder``; ``sample`` picks that many answerable and as many
    unanswerable questions with a fixed seed, ``limit`` then keeps the first ones."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such dataset folder")
    dataset = load_clapnq(folder) if is_clapnq(folder) else load_folder(folder)
    if sample is not None:
        dataset.questions = sample_questions(dataset.questions, sample)
        dataset.notes["sample"] = {"per_kind": sample, "seed": SAMPLE_SEED}
    if limit is not None:
        dataset.questions = dataset.questions[:limit]
        dataset.notes["limit"] = limit
    if not dataset.questions:
        raise DatasetError(f"{folder}: no questions")
    return dataset


def sample_questions(questions: Sequence[QAItem], per_kind: int) -> list[QAItem]:
    """``per_kind`` answerable and ``per_kind`` unanswerable questions (fewer if there are not
    that many), drawn with a fixed seed, in the dataset's order."""
    chosen: set[str] = set()
    for answerable in (True, False):
        kind = [item.id for item in questions if item.answerable is answerable]
        chosen.update(random.Random(SAMPLE_SEED).sample(kind, min(per_kind, len(kind))))
    return [item for item in questions if item.id in chosen]
