"""Dataset loading: a corpus folder with qa.jsonl, BEIR files, and the ClapNQ adapter."""

import json
from pathlib import Path
from typing import Any

import pytest

from eval.clapnq import passage_document
from eval.dataset import DatasetError, FolderCorpus, TextCorpus
from eval.loading import load_dataset
from tests.conftest import REPO


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")


def qa(id: str, sources: list[str], answerable: bool = True) -> dict[str, Any]:
    answers = ["an answer"] if answerable else []
    return {"id": id, "question": f"Q {id}?", "answers": answers, "sources": sources,
            "answerable": answerable}  # fmt: skip


@pytest.fixture
def folder_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "handbook"
    (folder / "corpus" / "travel").mkdir(parents=True)
    (folder / "corpus" / "leave.txt").write_text("Leave policy\n\nTwenty days a year.\n")
    (folder / "corpus" / "travel" / "trains.md").write_text("# Trains\n\nSecond class only.\n")
    write_jsonl(
        folder / "qa.jsonl",
        [qa("q1", ["leave.txt"]), qa("q2", ["travel/trains.md"]), qa("q3", [], answerable=False)],
    )
    return folder


def test_a_corpus_folder_with_qa_jsonl(folder_dataset: Path) -> None:
    dataset = load_dataset(folder_dataset)
    assert dataset.name == "handbook" and dataset.has_answers
    assert [item.id for item in dataset.questions] == ["q1", "q2", "q3"]
    assert dataset.questions[1].sources == ("travel/trains.md",)
    assert dataset.questions[2].sources == () and not dataset.questions[2].answerable
    assert dataset.questions[0].answers == ("an answer",)
    assert isinstance(dataset.corpus, FolderCorpus)
    # The text the ingest loader makes, which citation offsets point into.
    assert dataset.corpus.document_text("travel/trains.md") == "# Trains\n\nSecond class only.\n"
    assert dataset.corpus.document_text("missing.txt") is None


def test_the_corpus_fingerprint_follows_content(folder_dataset: Path) -> None:
    before = load_dataset(folder_dataset).corpus.fingerprint
    assert load_dataset(folder_dataset).corpus.fingerprint == before
    (folder_dataset / "corpus" / "leave.txt").write_text("Leave policy\n\nThirty days.\n")
    assert load_dataset(folder_dataset).corpus.fingerprint != before


def test_the_shipped_interpol_news_set() -> None:
    dataset = load_dataset(REPO / "eval" / "datasets" / "interpol-news")
    assert len(dataset.questions) == 81 and dataset.answerable == 61
    text = dataset.corpus.document_text("000_bacf7507a92bc4d7.txt")
    assert text is not None and "Hammouchi" in text


def test_the_shipped_multilingual_set_pairs_each_translation_with_its_original() -> None:
    folder = REPO / "eval" / "datasets" / "interpol-news-multilingual"
    dataset = load_dataset(folder)
    assert len(dataset.questions) == 126 and dataset.answerable == 108
    lines = (folder / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    records = {record["id"]: record for record in map(json.loads, lines)}
    english = load_dataset(REPO / "eval" / "datasets" / "interpol-news").questions
    originals = {item.id: item for item in english}
    for record in records.values():
        base = records[record["original"]]
        assert base["id"].endswith("-en") and record["id"][:-3] == base["id"][:-3]
        assert (record["sources"], record["answerable"]) == (base["sources"], base["answerable"])
        # The English original's question and gold answers, kept as variants in translation.
        source = originals[base["id"][:-3]]
        assert base["question"] == source.question and base["answers"] == list(source.answers)
        assert set(source.answers) <= set(record["answers"])


def test_the_shipped_procedural_set_answers_from_its_own_frozen_docs() -> None:
    dataset = load_dataset(REPO / "eval" / "datasets" / "qa-service-docs")
    assert len(dataset.questions) == 45 and dataset.answerable == 34
    for item in dataset.questions:
        assert bool(item.answers) == bool(item.sources) == item.answerable, item.id
        texts = [dataset.corpus.document_text(source) for source in item.sources]
        assert all(text is not None for text in texts), item.id
        read = "\n".join(text or "" for text in texts).lower()
        # Gold answers are verbatim substrings of their sources: substring scoring is fair.
        assert all(answer.lower() in read for answer in item.answers), item.id


def test_beir_layout_is_retrieval_only(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "corpus.jsonl",
        [{"_id": "d1", "title": "Aspirin", "text": "Aspirin thins blood."},
         {"_id": "d2", "title": "", "text": "Untitled abstract."}],
    )  # fmt: skip
    write_jsonl(
        tmp_path / "queries.jsonl",
        [{"_id": "1", "text": "aspirin blood"}, {"_id": "2", "text": "no judgement"},
         {"_id": "3", "text": "judged irrelevant only"}],
    )  # fmt: skip
    (tmp_path / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n1\td1\t2\n1\td2\t0\n3\td2\t0\n", encoding="utf-8"
    )
    dataset = load_dataset(tmp_path)
    assert not dataset.has_answers
    # Queries without a relevant document cannot be scored and are left out.
    assert [item.id for item in dataset.questions] == ["1"]
    assert dataset.questions[0].relevance == {"d1": 2, "d2": 0}
    assert dataset.questions[0].sources == ("d1",)
    assert isinstance(dataset.corpus, TextCorpus)
    assert dataset.corpus.document_text("d1") == "Aspirin\n\nAspirin thins blood."
    assert dataset.corpus.document_text("d2") == "Untitled abstract."


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no corpus/ folder and no corpus.jsonl"),
        ({"corpus.jsonl": ""}, "no qa.jsonl, nor queries.jsonl with qrels.tsv"),
        ({"corpus.jsonl": "", "qa.jsonl": "{not json\n"}, r"qa.jsonl:1: not JSON"),
        ({"corpus.jsonl": "", "qa.jsonl": '{"id": "x"}\n'}, r"qa.jsonl:1: bad question"),
        ({"corpus.jsonl": '{"_id": 1, "text": "x"}\n', "qa.jsonl": ""}, "needs string _id"),
    ],
)
def test_malformed_datasets_say_what_is_wrong(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path)


def clapnq_record(
    id: str, question: str, title: str, text: str, answers: list[str]
) -> dict[str, Any]:
    return {
        "id": id,
        "input": question,
        "passages": [{"title": title, "text": text, "sentences": [text]}],
        "output": [{"answer": answer, "selected_sentences": [], "meta": {}} for answer in answers],
    }


@pytest.fixture
def clapnq_folder(tmp_path: Path) -> Path:
    shared = "The O2 is on the Greenwich peninsula in South East London , England . "
    write_jsonl(
        tmp_path / "clapnq_dev_answerable.jsonl",
        [
            clapnq_record("1", "where is the o2 arena", "The O2", shared,
                          ["The O2 is in  South East London.", "", "Greenwich peninsula"]),
            clapnq_record("2", "is the o2 in greenwich", "The O2", shared, ["Yes."]),
            clapnq_record("3", "who built it", "Millennium Dome", "It was built in 1999 . ",
                          ["It was built in 1999."]),
        ],
    )  # fmt: skip
    write_jsonl(
        tmp_path / "clapnq_dev_unanswerable.jsonl",
        [
            clapnq_record("4", "how much did the o2 cost", "The O2", "It hosts concerts . ", [""]),
            clapnq_record("5", "who owns the dome", "Millennium Dome", "It is a tent . ", [""]),
        ],
    )
    return tmp_path


def test_clapnq_questions_and_the_union_of_passages(clapnq_folder: Path) -> None:
    dataset = load_dataset(clapnq_folder)
    assert dataset.name == "clapnq-dev" and dataset.has_answers
    assert isinstance(dataset.corpus, TextCorpus)
    # Four distinct passages: questions 1 and 2 share theirs.
    assert len(dataset.corpus.documents) == 4
    first, second, _, unanswerable, _ = dataset.questions
    assert first.sources == second.sources and len(first.sources) == 1
    # Gold answers: whitespace tidied, empty ones dropped.
    assert first.answers == ("The O2 is in South East London.", "Greenwich peninsula")
    assert not unanswerable.answerable and unanswerable.sources == () and not unanswerable.answers
    doc_id = first.sources[0]
    assert doc_id.startswith("the-o2-") and doc_id == passage_document("The O2", "The O2 is on "
        "the Greenwich peninsula in South East London , England . ").doc_id  # fmt: skip
    assert dataset.corpus.document_text(doc_id) == (
        "The O2\n\nThe O2 is on the Greenwich peninsula in South East London , England . "
    )


def test_a_fixed_sample_of_each_kind(clapnq_folder: Path) -> None:
    dataset = load_dataset(clapnq_folder, sample=2)
    kinds = [item.answerable for item in dataset.questions]
    assert kinds.count(True) == 2 and kinds.count(False) == 2
    again = load_dataset(clapnq_folder, sample=2)
    assert [item.id for item in again.questions] == [item.id for item in dataset.questions]
    # The corpus stays the union of every passage, whatever the sample.
    assert isinstance(dataset.corpus, TextCorpus) and len(dataset.corpus.documents) == 4
    assert dataset.notes["sample"]["per_kind"] == 2
    assert len(load_dataset(clapnq_folder, sample=2, limit=3).questions) == 3


def test_the_real_clapnq_sample_is_stable() -> None:
    folder = REPO.parent / "shared" / "datasets" / "clapnq_dev"
    dataset = load_dataset(folder, sample=60)
    assert isinstance(dataset.corpus, TextCorpus) and len(dataset.corpus.documents) == 597
    assert dataset.answerable == 60 and len(dataset.questions) == 120
    assert dataset.questions == load_dataset(folder, sample=60).questions
