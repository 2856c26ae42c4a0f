"""Every answer carries an id, and is recorded under it before it is shown: /v1/ask, the
stream's ``done`` event and ``qa ask --json``, over real HTTP and a real database."""

import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.answering.records import AnswerRecord, AnswerRecords
from qa_service.api.errors import ANSWER_NOT_RECORDED, DATABASE_UNAVAILABLE
from qa_service.core.database import Database
from qa_service.core.keys import KeysFile
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, environment_without_settings
from tests.problems import error_event, problem
from tests.servers import free_port, serving
from tests.test_api_ask import sse_events

QUESTION = "Where did the Chiefs of Police meet?"
SECRET = "AMBERWREN"
RESTRICTED = f"Dossier A91\n\nIn Operation Nightjar, the informant's codename is {SECRET}."
QA = str(Path(sys.executable).parent / "qa")


@pytest.fixture
def answering(extractive: Services, tmp_path: Path) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "dossier-a91.txt").write_text(RESTRICTED)
    extractive.ingestor.run([tmp_path / "alpha"], groups=("alpha",))
    return extractive


@pytest.fixture
def keys(tmp_path: Path) -> KeysFile:
    return KeysFile(tmp_path / "keys.json")


@pytest.fixture
def served(answering: Services, keys: KeysFile) -> Iterator[str]:
    settings = answering.settings.model_copy(update={"api_keys_file": keys.path})
    app = build_api(settings, answering)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield url


def records_of(services: Services) -> AnswerRecords:
    return AnswerRecords(Database.from_settings(services.settings))


def ask(url: str, key: str, path: str = "/v1/ask", question: str = QUESTION) -> httpx.Response:
    return httpx.post(
        f"{url}{path}",
        json={"question": question},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )


def assert_recorded_as_shown(record: AnswerRecord | None, body: dict[str, Any], by: str) -> None:
    assert record is not None
    assert (record.id, record.asked_by, record.question) == (body["id"], by, QUESTION)
    assert record.answer == body["answer"] and record.refused == body["refused"]
    assert record.standalone_question == body["standalone_question"]
    assert record.refusal_reason == body["refusal_reason"]
    assert [
        {k: getattr(c, k) for k in ("n", "doc_id", "chunk_id", "quote", "start", "end")}
        for c in record.citations
    ] == [
        {k: c[k] for k in ("n", "doc_id", "chunk_id", "quote", "start", "end")}
        for c in body["citations"]
    ]
    assert [(p.chunk_id, p.doc_id, p.start, p.end) for p in record.passages] == [
        (p["chunk_id"], p["doc_id"], p["start"], p["end"]) for p in body["passages"]
    ]
    assert record.at.tzinfo is not None


def test_an_answer_has_an_id_and_is_recorded_under_it(
    answering: Services, keys: KeysFile, served: str
) -> None:
    key = keys.add("widget", groups=("public",))
    response = ask(served, key)
    assert response.status_code == 200
    body = response.json()
    assert uuid.UUID(body["id"]).version == 4
    assert not body["refused"] and "Lyon" in body["answer"] and body["citations"]
    assert_recorded_as_shown(records_of(answering).get(body["id"]), body, by="widget")


def test_the_streams_done_event_carries_the_recorded_id(
    answering: Services, keys: KeysFile, served: str
) -> None:
    key = keys.add("chat", groups=())
    response = ask(served, key, path="/v1/ask/stream")
    assert response.status_code == 200
    events = sse_events(response.text)
    assert [kind for kind, _ in events][-2:] == ["citations", "done"]
    done = json.loads(events[-1][1])
    assert_recorded_as_shown(records_of(answering).get(done["id"]), done, by="chat")
    # Each answer is its own record.
    again = json.loads(sse_events(ask(served, key, path="/v1/ask/stream").text)[-1][1])
    assert again["id"] != done["id"] and records_of(answering).get(again["id"]) is not None


def test_an_unknown_id_has_no_record(answering: Services) -> None:
    assert records_of(answering).get(str(uuid.uuid4())) is None
    assert records_of(answering).get("not an id") is None


def test_a_record_holds_nothing_of_a_document_its_caller_may_not_read(
    answering: Services, keys: KeysFile, served: str
) -> None:
    outsider = keys.add("outsider", groups=("beta",))
    question = "What is the codename of the informant in Operation Nightjar?"
    body = ask(served, outsider, question=question).json()
    assert body["refused"]
    record = records_of(answering).get(body["id"])
    assert record is not None and record.refused and record.question == question
    assert all(p.doc_id != "dossier-a91.txt" for p in record.passages)
    # Not one byte of the database (its write-ahead log included) holds the hidden document.
    database = answering.settings.database_file
    for path in (database, database.with_name("service.db-wal")):
        content = path.read_bytes() if path.exists() else b""
        assert SECRET.encode() not in content and b"dossier-a91" not in content.lower()
    insider = keys.add("insider", groups=("alpha",))
    shown = ask(served, insider, question=question).json()
    assert SECRET in shown["answer"]
    assert records_of(answering).get(shown["id"]) is not None


def test_qa_ask_json_prints_the_recorded_id(tmp_path: Path) -> None:
    environment = environment_without_settings()
    environment |= {"QA_DATA_DIR": str(tmp_path / "cli"), "QA_LLM": "extractive"}

    def qa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([QA, *args], env=environment, capture_output=True, text=True)

    assert qa("ingest", str(INTERPOL_NEWS)).returncode == 0
    result = qa("ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    records = AnswerRecords(Database(f"sqlite:///{tmp_path / 'cli' / 'service.db'}"))
    assert_recorded_as_shown(records.get(body["id"]), body, by=f"cli:{user}")


def test_a_database_that_is_down_refuses_questions_before_answering(
    answering: Services, keys: KeysFile
) -> None:
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    settings = answering.settings.model_copy(
        update={"api_keys_file": keys.path, "database_url": nobody}
    )
    key = keys.add("widget", groups=())
    app = build_api(settings, answering)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120)
        for path in ("/v1/ask", "/v1/ask/stream"):
            response = ask(url, key, path=path)
            assert response.status_code == 503, path
            assert problem(response) == {"detail": DATABASE_UNAVAILABLE}


@pytest.fixture
def locked_database(answering: Services) -> Iterator[None]:
    """Another process holds the database's write lock: reads go on (write-ahead logging), a
    write waits for it, then fails."""
    Database.from_settings(answering.settings).check()  # the file and its tables exist
    holder = sqlite3.connect(answering.settings.database_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield
    holder.execute("ROLLBACK")
    holder.close()


def test_an_answer_that_cannot_be_recorded_is_not_shown(
    answering: Services, keys: KeysFile, locked_database: None
) -> None:
    settings = answering.settings.model_copy(
        update={"api_keys_file": keys.path, "database_timeout_seconds": 0.2}
    )
    key = keys.add("widget", groups=())
    app = build_api(settings, answering)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120)
        response = ask(url, key)
        assert response.status_code == 503
        assert problem(response) == {"detail": ANSWER_NOT_RECORDED}
        assert "Lyon" not in response.text

        streamed = ask(url, key, path="/v1/ask/stream")
        events = sse_events(streamed.text)
        # The checked sentences went out as they were written; the answer whole, its
        # citations and its id never do.
        assert [kind for kind, _ in events][-1] == "error"
        assert error_event(events[-1][1], streamed) == {"detail": ANSWER_NOT_RECORDED}
        assert "done" not in [kind for kind, _ in events]
