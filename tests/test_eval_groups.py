"""``qa eval --groups``: a dataset asked as a caller who may read only some groups would ask it."""

import json
from pathlib import Path

import pytest

from eval.dataset import DatasetError, load_folder
from eval.harness import EvalOptions, evaluate
from qa_service.services import Services

DOCUMENTS: list[dict[str, object]] = [
    {
        "_id": "bulletin",
        "title": "Staff bulletin",
        "text": "The annual conference of the organisation will be held in Lisbon.",
    },
    {
        "_id": "dossier",
        "title": "Dossier A91",
        "text": "In Operation Nightjar, the informant's codename is AMBERWREN.",
        "groups": ["alpha"],
    },
]
QUESTIONS = [
    {
        "id": "conference",
        "question": "In which city will the annual conference of the organisation be held?",
        "answers": ["Lisbon"],
        "sources": ["bulletin"],
        "answerable": True,
    },
    {
        "id": "codename",
        "question": "What is the codename of the informant in Operation Nightjar?",
        "answers": ["AMBERWREN"],
        "sources": ["dossier"],
        "answerable": True,
    },
]


def write_dataset(folder: Path, documents: list[dict[str, object]]) -> Path:
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents))
    (folder / "qa.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return folder


def test_a_caller_without_the_group_is_refused_what_only_the_group_may_read(
    extractive: Services, tmp_path: Path
) -> None:
    folder = write_dataset(tmp_path / "need-to-know", DOCUMENTS)
    outsider = evaluate(EvalOptions(folder, tmp_path / "beta", groups=("beta",)), extractive)
    assert outsider.results["groups"] == ["beta"]
    records = {record["id"]: record for record in outsider.results["per_question"]}
    assert "Lisbon" in records["conference"]["answer"]
    assert records["codename"]["refused"]
    # Its gold answer and source are in the record; nothing the service gave back holds them.
    for record in records.values():
        assert "AMBERWREN" not in record["answer"] and "dossier" not in record["retrieved"]

    insider = evaluate(EvalOptions(folder, tmp_path / "alpha", groups=("alpha",)), extractive)
    records = {record["id"]: record for record in insider.results["per_question"]}
    assert "AMBERWREN" in records["codename"]["answer"]
    everyone = evaluate(EvalOptions(folder, tmp_path / "all"), extractive)
    assert everyone.results["groups"] is None
    assert not any(record["refused"] for record in everyone.results["per_question"])


def test_a_documents_groups_are_checked(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "bad", [{**DOCUMENTS[1], "groups": ["no way"]}])
    with pytest.raises(DatasetError, match=r"corpus\.jsonl:1: group 'no way' is not allowed"):
        load_folder(folder)
