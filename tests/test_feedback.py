"""Feedback on answers over real HTTP, kept in a real database (SQLite and PostgreSQL) with the
record of the answer it refers to; ``qa feedback list`` and ``qa feedback export`` read it
back, and the export loads as an evaluation dataset."""

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from eval.dataset import load_folder
from qa_service.answering.feedback import FeedbackLog
from qa_service.answering.records import AnswerRecords
from qa_service.api.errors import DATABASE_UNAVAILABLE
from qa_service.core.config import Settings
from qa_service.core.database import Database
from qa_service.core.keys import KeysFile
from qa_service.embedders.base import Embedder
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, environment_without_settings
from tests.problems import problem
from tests.scrape import moved, scrape
from tests.servers import free_port, serving

QA = str(Path(sys.executable).parent / "qa")
QUESTION = "Where did the Chiefs of Police meet?"
OFF_TOPIC = "How long should a chocolate cake bake?"
COMMENT = "It names the city but not the date of the meeting."


@pytest.fixture(scope="module")
def answering(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Services:
    root = tmp_path_factory.mktemp("feedback")
    settings = Settings(data_dir=root / "data", llm="extractive")
    services = Services(settings, embedder=embedder)
    services.ingestor.run([INTERPOL_NEWS])
    return services


@dataclass
class Api:
    url: str
    keys: dict[str, str]
    database_url: str

    def post(self, path: str, body: dict[str, Any], key: str = "alice") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[key]}"}
        return httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=60)

    def ask(self, question: str = QUESTION, key: str = "alice") -> dict[str, Any]:
        response = self.post("/v1/ask", {"question": question}, key)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def feedback(self) -> FeedbackLog:
        database = Database(self.database_url)
        return FeedbackLog(database, AnswerRecords(database))


@pytest.fixture
def api(answering: Services, database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The service over ``database_url`` (SQLite, then PostgreSQL), with two callers' keys."""
    keys_file = KeysFile(tmp_path / "keys.json")
    keys = {name: keys_file.add(name, groups=()) for name in ("alice", "bob")}
    settings = answering.settings.model_copy(
        update={"api_keys_file": keys_file.path, "database_url": database_url}
    )
    app = build_api(settings, answering)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield Api(url, keys, database_url)


def rating(answer: dict[str, Any], rating: str, **more: str) -> dict[str, Any]:
    """The body the chat sends for ``answer``."""
    return {
        "answer_id": answer["id"],
        "question": QUESTION,
        "answer": answer["answer"],
        "rating": rating,
        **more,
    }


def test_feedback_is_kept_with_the_answer_it_refers_to(api: Api) -> None:
    answer = api.ask()
    response = api.post("/v1/feedback", rating(answer, "down", comment=COMMENT))
    assert response.status_code == 201
    given = response.json()
    assert given == {
        "id": given["id"],
        "answer_id": answer["id"],
        "rating": "down",
        "comment": COMMENT,
    }

    [kept] = api.feedback().list()
    assert (kept.id, kept.given_by, kept.rating, kept.comment) == (
        given["id"],
        "alice",
        "down",
        COMMENT,
    )
    # The answer as it was given: question, answer, citations (their quotes) and passages.
    record = kept.record
    assert record is not None and record.id == answer["id"] and record.question == QUESTION
    assert record.answer == answer["answer"] and "Lyon" in record.answer
    assert [(c.doc_id, c.quote, c.start, c.end) for c in record.citations] == [
        (c["doc_id"], c["quote"], c["start"], c["end"]) for c in answer["citations"]
    ]
    assert [(p.chunk_id, p.doc_id) for p in record.passages] == [
        (p["chunk_id"], p["doc_id"]) for p in answer["passages"]
    ]

    # Rated again (the other thumb, no comment): the same feedback, changed.
    again = api.post("/v1/feedback", rating(answer, "up"))
    assert again.status_code == 201 and again.json()["id"] == given["id"]
    [changed] = api.feedback().list()
    assert (changed.id, changed.rating, changed.comment) == (given["id"], "up", None)

    # Without an answer id, feedback stands alone.
    alone = {"question": "Who runs the canteen?", "answer": "Nobody says.", "rating": "down"}
    assert api.post("/v1/feedback", alone).status_code == 201
    assert [(f.rating, f.record is None) for f in api.feedback().list()] == [
        ("up", False),
        ("down", True),
    ]
    assert [f.rating for f in api.feedback().list("down")] == ["down"]


def test_a_caller_rates_only_its_own_answers(api: Api) -> None:
    answer = api.ask(key="alice")
    someone_elses = api.post("/v1/feedback", rating(answer, "down"), key="bob")
    unknown = api.post("/v1/feedback", {**rating(answer, "down"), "answer_id": str(uuid.uuid4())})
    assert someone_elses.status_code == unknown.status_code == 404
    assert problem(someone_elses) == problem(unknown) == {"detail": "no such answer"}
    assert api.feedback().list() == []


@pytest.mark.parametrize(
    "body",
    [
        {"question": QUESTION, "answer": "Lyon.", "rating": "meh"},
        {"question": QUESTION, "answer": "Lyon."},
        {"answer": "Lyon.", "rating": "up"},
        {"question": QUESTION, "answer": "Lyon.", "rating": "up", "stars": 5},
        {"question": QUESTION, "answer": "Lyon.", "rating": "up", "comment": "x" * 4001},
        {"question": QUESTION, "answer": "Lyon.", "rating": "up", "answer_id": 42},
        ["up"],
    ],
)
def test_bad_feedback_is_a_422_and_keeps_nothing(api: Api, body: Any) -> None:
    check_refused(api, json.dumps(body))


def test_an_id_that_is_no_text_is_a_422(api: Api) -> None:
    # Half a UTF-16 pair, as JSON may escape it: no UTF-8 text, nor a database's, can hold it.
    check_refused(api, '{"question": "Q", "answer": "A", "rating": "up", "answer_id": "\\ud800"}')


def check_refused(api: Api, body: str) -> None:
    response = httpx.post(
        f"{api.url}/v1/feedback",
        content=body,
        headers={
            "Authorization": f"Bearer {api.keys['alice']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 422, response.text
    assert "detail" in problem(response) and "x" * 200 not in response.text
    assert api.feedback().list() == []


def test_feedback_needs_a_key(api: Api) -> None:
    body = {"question": QUESTION, "answer": "Lyon.", "rating": "up"}
    response = httpx.post(f"{api.url}/v1/feedback", json=body)
    assert response.status_code == 401
    assert api.feedback().list() == []


def test_feedback_is_counted_in_the_metrics(api: Api) -> None:
    answer = api.ask()
    before = scrape(api.url)
    assert api.post("/v1/feedback", rating(answer, "down")).status_code == 201
    assert api.post("/v1/feedback", rating(answer, "up")).status_code == 201
    assert api.post("/v1/feedback", rating(answer, "up"), key="bob").status_code == 404
    after = scrape(api.url)
    assert moved(before, after, "qa_feedback_total", rating="down") == 1
    assert moved(before, after, "qa_feedback_total", rating="up") == 1
    route = {"method": "POST", "route": "/v1/feedback"}
    assert moved(before, after, "qa_http_requests_total", **route, status="201") == 2
    assert moved(before, after, "qa_http_requests_total", **route, status="404") == 1


def test_a_database_that_is_down_is_a_503(answering: Services, tmp_path: Path) -> None:
    keys_file = KeysFile(tmp_path / "keys.json")
    key = keys_file.add("alice", groups=())
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    settings = answering.settings.model_copy(
        update={"api_keys_file": keys_file.path, "database_url": nobody}
    )
    app = build_api(settings, answering)
    with serving(app) as url:
        response = httpx.post(
            f"{url}/v1/feedback",
            json={"question": QUESTION, "answer": "Lyon.", "rating": "up"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
    assert response.status_code == 503
    assert problem(response) == {"detail": DATABASE_UNAVAILABLE}


def qa(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = environment_without_settings()
    return subprocess.run(
        [QA, "feedback", *args],
        env={**environment, "QA_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_qa_feedback_lists_and_exports_candidate_cases(api: Api, tmp_path: Path) -> None:
    wrong = api.ask()
    refused = api.ask(OFF_TOPIC)
    right = api.ask("Who chaired the Moroccan delegation?")
    assert refused["refused"] and not wrong["refused"] and not right["refused"]
    for answer, verdict, more in [
        (wrong, "down", {"comment": COMMENT}),
        (refused, "up", {}),
        (right, "up", {}),
    ]:
        body = {**rating(answer, verdict, **more), "question": answer["standalone_question"]}
        assert api.post("/v1/feedback", body).status_code == 201

    listed = qa(api.database_url, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[-1] == "3 feedback (2 up, 1 down)"
    assert "down  alice  Where did the Chiefs of Police meet?" in lines[0]
    assert lines[0].endswith(f"({COMMENT})")
    as_json = json.loads(qa(api.database_url, "list", "--rating", "up", "--json").stdout)
    assert [item["answer_id"] for item in as_json] == [refused["id"], right["id"]]
    assert as_json[1]["record"]["citations"][0]["quote"] == right["citations"][0]["quote"]

    exported = qa(api.database_url, "export", "--rating", "down")
    assert exported.returncode == 0, exported.stderr
    [case] = [json.loads(line) for line in exported.stdout.splitlines()]
    feedback = case.pop("feedback")
    # An answer rated down is a question to answer: its answers and sources left to a person.
    assert case == {
        "id": case["id"],
        "question": QUESTION,
        "answers": [],
        "sources": [],
        "answerable": True,
    }
    assert feedback["comment"] == COMMENT and feedback["given_answer"] == wrong["answer"]
    assert [quote["quote"] for quote in feedback["quotes"]] == [
        citation["quote"] for citation in wrong["citations"]
    ]
    assert feedback["documents_shown"] == list(
        dict.fromkeys(passage["doc_id"] for passage in wrong["passages"])
    )
    assert "1 candidate cases" in exported.stderr

    everything = qa(api.database_url, "export").stdout
    cases = {
        case["feedback"]["answer_id"]: case for case in map(json.loads, everything.splitlines())
    }
    # A refusal rated up: the documents do not answer. An answer rated up: as given.
    assert (cases[refused["id"]]["answerable"], cases[refused["id"]]["answers"]) == (False, [])
    good = cases[right["id"]]
    assert good["answerable"] and "[1]" in right["answer"] and "[" not in good["answers"][0]
    assert good["sources"] == list(dict.fromkeys(c["doc_id"] for c in right["citations"]))

    # The export is a dataset's qa.jsonl as it is, for a person to correct.
    dataset = tmp_path / "from-feedback"
    shutil.copytree(INTERPOL_NEWS, dataset / "corpus")
    (dataset / "qa.jsonl").write_text(everything, encoding="utf-8")
    loaded = load_folder(dataset)
    assert [item.question for item in loaded.questions] == [
        QUESTION,
        OFF_TOPIC,
        "Who chaired the Moroccan delegation?",
    ]
    assert loaded.answerable == 2


def test_qa_feedback_says_when_the_database_is_unreachable() -> None:
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    result = qa(nobody, "list")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
