"""POST /v1/ask and /v1/ask/stream over a real store, in extractive mode."""

import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import chromadb.errors
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa_service.answering.service import AnswerService
from qa_service.api.deps import get_answerer
from qa_service.citations.checker import CitationChecker
from qa_service.core.schema import Passage
from qa_service.generation.base import GenerationError
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, ON_THIS_MACHINE
from tests.problems import error_event, problem
from tests.servers import serving

QUESTION = {"question": "Where did the Chiefs of Police meet?"}


@pytest.fixture
def answering(extractive: Services) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    return extractive


@pytest.fixture
def client(answering: Services) -> Iterator[TestClient]:
    app = build_api(answering.settings, answering)
    with TestClient(app, base_url="http://localhost", client=ON_THIS_MACHINE) as test_client:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield test_client


def sse_events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event", "message"), fields.get("data", "")))
    return events


def test_ask_returns_the_contract_shape(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "Where did the Chiefs of Police meet?"})
    assert response.status_code == 200
    body = response.json()
    assert {"answer", "refused", "citations", "passages", "timings_ms"} <= set(body)
    assert not body["refused"] and "Lyon" in body["answer"]
    assert body["refusal_reason"] is None
    # The verdict on each sentence checked, as in CONTRACT.md.
    assert body["checks"] and all(
        set(check) == {"sentence", "kept", "rule", "reason", "source"} for check in body["checks"]
    )
    assert any(check["kept"] and check["rule"] == "support" for check in body["checks"])
    for citation in body["citations"]:
        assert set(citation) == {
            "n",
            "doc_id",
            "title",
            "chunk_id",
            "quote",
            "start",
            "end",
            "score",
        }
        text = (INTERPOL_NEWS / citation["doc_id"]).read_text(encoding="utf-8")
        assert text[citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['n']}]" in body["answer"]


def test_stream_sends_tokens_then_citations_then_done(client: TestClient) -> None:
    response = client.post(
        "/v1/ask/stream", json={"question": "Where did the Chiefs of Police meet?"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"status", "token"}
    stages = [json.loads(data)["stage"] for kind, data in events if kind == "status"]
    assert stages == ["searching", "writing", "checking"]
    tokens = [json.loads(data) for kind, data in events if kind == "token"]
    done = json.loads(events[-1][1])
    assert json.loads(events[-2][1]) == done["citations"] and done["citations"]
    # Tokens are the checked answer itself, each piece with the citations its markers name.
    assert "".join(token["text"] for token in tokens) == done["answer"] and "Lyon" in done["answer"]
    for token in tokens:
        assert [f"[{c['n']}]" in token["text"] for c in token["citations"]] == [True] * len(
            token["citations"]
        )
        assert all(citation in done["citations"] for citation in token["citations"])
    plain = client.post("/v1/ask", json={"question": "Where did the Chiefs of Police meet?"})
    assert done["answer"] == plain.json()["answer"]
    assert done["citations"] == plain.json()["citations"]


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "   "},
        {"question": "x" * 5000},
        {"question": "ok?", "top_k": 0},
        {"question": "ok?", "history": [{"role": "system", "content": "x"}]},
        {"question": "ok?", "surprise": 1},
        {},
    ],
)
def test_bad_input_is_a_4xx_with_detail(client: TestClient, body: dict[str, object]) -> None:
    for path in ("/v1/ask", "/v1/ask/stream"):
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body)
        assert "detail" in response.json() and "Traceback" not in response.text


def test_not_json_is_a_4xx(client: TestClient) -> None:
    response = client.post(
        "/v1/ask", content=b"\xff\xfe not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "detail" in response.json()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"question": "\\ud800"}',
        b'{"question": "Where? \\udfff"}',
        b'{"question": "x", "history": [{"role": "user", "content": "\\ud83d"}]}',
        b'{"question": "x", "filters": {"doc_ids": ["\\udc00"]}}',
        b'{"question": "x", "\\ud800": 1}',
    ],
)
def test_a_lone_surrogate_is_a_422(client: TestClient, raw: bytes) -> None:
    # JSON may escape half of a UTF-16 pair; such a string cannot be encoded, searched or sent.
    for path in ("/v1/ask", "/v1/ask/stream"):
        response = client.post(path, content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, raw, response.text)
        assert response.json()["detail"]


def test_a_surrogate_pair_is_text(client: TestClient) -> None:
    raw = b'{"question": "Where did the Chiefs of Police meet? \\ud83d\\ude00"}'
    response = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200 and "Lyon" in response.json()["answer"]


def test_validation_errors_do_not_echo_the_input(client: TestClient) -> None:
    huge = "x" * 500_000
    for body in (
        {"question": huge},
        {"question": 5, "history": [{"role": huge, "content": "x"}]},
        {"question": "x", huge: 1},
        {"question": "x", "filters": {"date_from": huge}},
    ):
        response = client.post("/v1/ask", json=body)
        assert response.status_code == 422 and len(response.content) < 2000, response.text[:300]
        for error in response.json()["detail"]:
            assert set(error) == {"loc", "msg", "type"}, error


class SlowComposer:
    """A stand-in for the local model: writes ``tokens`` deltas, ``pause`` seconds apart, and
    records how far it got and whether it was closed."""

    name = "slow"

    def __init__(self, tokens: int, pause: float) -> None:
        self.tokens = tokens
        self.pause = pause
        self.written = 0
        self.closed = threading.Event()

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        try:
            for _ in range(self.tokens):
                time.sleep(self.pause)
                self.written += 1
                yield "Lyon. "
        finally:
            self.closed.set()

    def warm_up(self) -> None:
        pass


class BrokenComposer:
    """A model whose file went missing: fails with the path in its message."""

    name = "broken"

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        raise GenerationError("local model: model file /srv/models/qwen.gguf does not exist")
        yield ""

    def warm_up(self) -> None:
        pass


def app_with(
    answering: Services, composer: SlowComposer | BrokenComposer, **settings: int
) -> FastAPI:
    app = build_api(answering.settings.model_copy(update=settings), answering)
    answerer = AnswerService(
        answering.retriever,
        composer,
        CitationChecker(answering.embedder, document_text=answering.store.document_text),
        answering.prompts,
    )
    app.dependency_overrides[get_answerer] = lambda: answerer
    return app


def burst(url: str, path: str, n: int) -> list[httpx.Response]:
    with ThreadPoolExecutor(n) as pool, httpx.Client(base_url=url, timeout=30) as client:
        return list(pool.map(lambda _: client.post(path, json=QUESTION), range(n)))


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/ask/stream"])
def test_a_burst_past_the_queue_is_told_when_to_come_back(answering: Services, path: str) -> None:
    # Each answer takes ~1 s; one at a time, one waiting: of 6 at once, 2 are answered.
    composer = SlowComposer(tokens=5, pause=0.2)
    app = app_with(answering, composer, max_answers_in_flight=1, max_answers_queued=1)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=60)
        took = []
        for round in ("first", "second"):
            started = time.monotonic()
            responses = burst(url, path, 6)
            took.append(time.monotonic() - started)
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [200] * 2 + [503] * 4, round
            busy = [response for response in responses if response.status_code == 503]
            for response in busy:
                body = problem(response)
                assert set(body) == {"detail", "retry_after_ms"} and body["retry_after_ms"] > 0
                assert int(response.headers["retry-after"]) >= 1
                assert int(response.headers["retry-after-ms"]) == body["retry_after_ms"]
        # The second burst's wait is learnt from the first's answers: each held its slot for at
        # least its five 0.2 s tokens, and two are admitted ahead of a refused one. (How close
        # the estimate is, is tested with a fake clock in test_admission; a bound from above
        # here would measure this machine's speed.)
        waits = [response.json()["retry_after_ms"] / 1000 for response in busy]
        assert all(wait >= 2 * 5 * 0.2 for wait in waits), (waits, took)


def test_a_client_gone_mid_stream_stops_its_answer(answering: Services) -> None:
    composer = SlowComposer(tokens=600, pause=0.05)  # 30 s, unless stopped
    app = app_with(answering, composer, max_answers_in_flight=1, max_answers_queued=0)
    admission = app.state.qa.admission
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert app.state.qa.wait(timeout=60)
        with client.stream("POST", "/v1/ask/stream", json=QUESTION) as response:
            for line in response.iter_lines():
                if line == "event: token":
                    break
            assert admission.in_flight == 1
        # The connection is closed: the model is stopped, its generator closed before the
        # slot is given back (the local model's lock is released by that close).
        deadline = time.monotonic() + 5
        while admission.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        assert admission.in_flight == 0 and composer.closed.is_set()
        written = composer.written
        time.sleep(0.3)
        assert composer.written == written < 100
        assert client.post("/v1/ask/stream", json={"question": ""}).status_code == 422


def test_a_model_failure_is_a_plain_503(
    answering: Services, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with(answering, BrokenComposer())
    with TestClient(app, base_url="http://localhost", client=ON_THIS_MACHINE) as client:
        assert app.state.qa.wait(timeout=60)
        response = client.post("/v1/ask", json=QUESTION)
        assert response.status_code == 503
        assert problem(response) == {"detail": "the language model is unavailable"}
        stream = client.post("/v1/ask/stream", json=QUESTION)
        event, data = sse_events(stream.text)[-1]
        assert event == "error"
        assert error_event(data, stream) == {"detail": "the language model is unavailable"}
    # The path is for the operator, in the log.
    failures = [r for r in caplog.records if "/srv/models/qwen.gguf" in str(r.exc_info)]
    assert [r.getMessage() for r in failures] == [
        "the language model failed",
        "the language model failed mid-stream",
    ]


class VanishingStoreRetriever:
    """The store lost under a running answer, as Chroma's embedded client was when another
    process rewrote the folder ("Error finding id"), or its server went away."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def run(self, query: str, top_k: int, filters: object = None) -> list[Passage]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        chromadb.errors.InternalError("Error finding id 000_bacf7507a92bc4d7.txt#1a2b#3"),
        httpx.ConnectError("[Errno 111] Connection refused to http://127.0.0.1:8001"),
    ],
)
def test_a_store_failing_mid_answer_is_a_plain_503_and_an_error_event(
    answering: Services, error: Exception
) -> None:
    app = build_api(answering.settings, answering)
    answerer = AnswerService(
        VanishingStoreRetriever(error),
        answering.quoter,
        CitationChecker(answering.embedder, document_text=answering.store.document_text),
        answering.prompts,
    )
    app.dependency_overrides[get_answerer] = lambda: answerer
    with TestClient(
        app, base_url="http://localhost", client=ON_THIS_MACHINE, raise_server_exceptions=False
    ) as client:
        assert app.state.qa.wait(timeout=60)
        response = client.post("/v1/ask", json=QUESTION)
        assert response.status_code == 503
        assert problem(response) == {"detail": "the document store cannot be reached"}
        stream = client.post("/v1/ask/stream", json=QUESTION)
        assert stream.status_code == 200
        event, data = sse_events(stream.text)[-1]
        assert event == "error"
        assert error_event(data, stream) == {"detail": "the document store cannot be reached"}
