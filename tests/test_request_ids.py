"""Request ids and the service's log, over real HTTP: every response names its request's id,
every JSON error body carries it beside its detail, every log line of the request carries it,
and ``qa serve`` writes one JSON object a line (or plain lines) holding no question, answer or
document text."""

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pythonjsonlogger.json import JsonFormatter

from qa_service.answering.service import AnswerService
from qa_service.api.deps import get_answerer
from qa_service.citations.checker import CitationChecker
from qa_service.core.config import Settings
from qa_service.core.keys import KeysFile
from qa_service.core.logs import RequestIdFilter
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, environment_without_settings
from tests.problems import error_event, problem
from tests.servers import free_port, running_server, serving

QA = str(Path(sys.executable).parent / "qa")
QUESTION = "Where did the Chiefs of Police meet?"
INTRANET = "https://intranet.example.org"
LYON = "000_bacf7507a92bc4d7.txt"
A_NEW_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Api:
    url: str
    key: str
    services: Services

    def headers(self, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **more}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("request-ids")
    key = KeysFile(root / "keys.json").add("staff", groups=())
    settings = Settings(
        data_dir=root / "data",
        llm="extractive",
        api_keys_file=root / "keys.json",
        max_body_bytes=2000,
        cors_origins=[INTRANET],
    )
    services = Services(settings, embedder=embedder)
    services.ingestor.run([INTERPOL_NEWS])
    app = build_api(settings, services)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield Api(url, key, services)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the service logs meanwhile, as ``qa serve`` writes it: JSON lines, with the filter
    that adds each request's id."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter(["levelname", "name", "message"]))
    handler.addFilter(RequestIdFilter())
    # The service runs in this process: the test's own client (httpx) is not the service.
    handler.addFilter(lambda record: not record.name.startswith("httpx"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield written
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(lines: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.getvalue().splitlines()]


def test_each_response_names_its_own_request(api: Api) -> None:
    first, second = httpx.get(f"{api.url}/healthz"), httpx.get(f"{api.url}/healthz")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(A_NEW_ID.match(request_id) for request_id in ids) and ids[0] != ids[1]
    asked = httpx.post(
        f"{api.url}/v1/ask", json={"question": QUESTION}, headers=api.headers(), timeout=60
    )
    assert asked.status_code == 200 and A_NEW_ID.match(asked.headers["x-request-id"])
    # A page of another origin (the widget) may read it, to show it with an error.
    from_page = httpx.get(f"{api.url}/v1/documents/x/text", headers={"Origin": INTRANET})
    assert "x-request-id" in from_page.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("ticket-4242", True),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("trace:app.1_2", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("<script>", False),
        ("two words", False),
        ("-leading-dash", False),
        ("", False),
    ],
)
def test_a_short_plain_id_from_the_client_is_kept(api: Api, given: str, kept: bool) -> None:
    response = httpx.get(f"{api.url}/healthz", headers={"X-Request-ID": given})
    assert response.status_code == 200
    returned = response.headers["x-request-id"]
    assert returned == given if kept else A_NEW_ID.match(returned)


ERRORS = [
    # (method, path, headers ("key": the API key), body, status, detail)
    ("GET", "/healthz", {"Host": "evil.example"}, None, 400, "unknown host: "),
    ("POST", "/v1/ask", {}, {"question": QUESTION}, 401, "a valid API key is required"),
    ("GET", "/v1/documents/nope.txt/text?start=0&end=1", "key", None, 404, "no such document"),
    ("GET", "/no/such/page", {}, None, 404, "Not Found"),
    ("GET", "/v1/ask", "key", None, 405, "Method Not Allowed"),
    ("POST", "/v1/ask", "key", {"question": "x" * 3000}, 413, "the request body is over 2000"),
    ("POST", "/v1/ask", "key", {"question": "   "}, 422, "the question is empty"),
    ("POST", "/v1/ask", "key", {"question": "Who?", "colour": "red"}, 422, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "detail"), ERRORS)
def test_every_error_body_carries_the_id_beside_its_detail(
    api: Api,
    method: str,
    path: str,
    headers: dict[str, str] | str,
    body: dict[str, str] | None,
    status: int,
    detail: str | None,
) -> None:
    sent = api.headers() if isinstance(headers, str) else headers
    response = httpx.request(
        method, f"{api.url}{path}", json=body, headers={**sent, "X-Request-ID": "support-17"}
    )
    assert response.status_code == status
    assert response.headers["x-request-id"] == "support-17"
    error = response.json()
    assert set(error) == {"detail", "request_id"} and error["request_id"] == "support-17"
    assert int(response.headers["content-length"]) == len(response.content)
    if detail is None:  # the body's problems, listed
        assert error["detail"][0]["loc"] == ["body", "colour"]
    else:
        assert error["detail"].startswith(detail)


def test_the_log_lines_of_a_request_carry_its_id_and_none_of_its_text(
    api: Api, log_lines: io.StringIO
) -> None:
    asked = httpx.post(
        f"{api.url}/v1/ask",
        json={"question": QUESTION},
        headers=api.headers(**{"X-Request-ID": "trace-answer"}),
        timeout=60,
    )
    answer = asked.json()
    assert asked.status_code == 200 and not answer["refused"]
    missing = httpx.get(
        f"{api.url}/v1/documents/{LYON}/text",
        params={"start": 0, "end": 10**6},
        headers=api.headers(**{"X-Request-ID": "trace-missing"}),
    )
    assert missing.status_code == 422

    lines = parsed(log_lines)
    of_answer = [line for line in lines if line.get("request_id") == "trace-answer"]
    # The answer's line (written in a worker thread) and the request's line.
    assert [line["message"] for line in of_answer] == ["answered", "POST /v1/ask 200"]
    answered, request = of_answer
    assert answered["refused"] is False and answered["citations"] == len(answer["citations"])
    assert answered["timings_ms"]["total"] > 0
    assert request["route"] == "/v1/ask" and request["status"] == 200
    assert request["caller"] == "staff" and request["client"] == "127.0.0.1"
    assert request["duration_ms"] > 0
    [refused] = [line for line in lines if line.get("request_id") == "trace-missing"]
    assert refused["message"] == "GET /v1/documents/{doc_id}/text 422"
    # Neither the question, nor the answer, nor a quote, nor a doc_id.
    text = log_lines.getvalue()
    for secret in [QUESTION, answer["answer"], answer["citations"][0]["quote"], LYON]:
        assert secret not in text


class FailingRetriever:
    """An error no handler knows, with a server path in its message."""

    def run(self, query: str, top_k: int, filters: object = None) -> list[Passage]:
        raise RuntimeError("index out of range in /srv/qa/data/keyword/documents.sqlite3")


def test_an_unexpected_error_is_a_500_with_the_id_and_logged_under_it(
    api: Api, log_lines: io.StringIO
) -> None:
    app = build_api(api.services.settings, api.services)
    answerer = AnswerService(
        FailingRetriever(),
        api.services.quoter,
        CitationChecker(api.services.embedder, document_text=api.services.store.document_text),
        api.services.prompts,
    )
    app.dependency_overrides[get_answerer] = lambda: answerer
    with serving(app) as url:
        assert app.state.qa.wait(timeout=60)
        response = httpx.post(
            f"{url}/v1/ask",
            json={"question": QUESTION},
            headers=api.headers(**{"X-Request-ID": "trace-500"}),
        )
        stream = httpx.post(
            f"{url}/v1/ask/stream",
            json={"question": QUESTION},
            headers=api.headers(**{"X-Request-ID": "trace-stream"}),
        )
    assert response.status_code == 500
    assert problem(response) == {"detail": "internal error"}
    assert response.headers["x-request-id"] == "trace-500"
    # The stream was open (200) when the error came: its error event carries the id.
    assert stream.status_code == 200
    last = stream.text.replace("\r\n", "\n").strip().split("\n\n")[-1]
    assert last.startswith("event: error\n")
    assert error_event(last.split("data: ", 1)[1], stream) == {"detail": "internal error"}
    assert stream.headers["x-request-id"] == "trace-stream"
    lines = parsed(log_lines)
    for request_id, message in [
        ("trace-500", "the request failed"),
        ("trace-stream", "an answer failed mid-stream"),
    ]:
        [failed] = [
            line for line in lines if "exc_info" in line and line.get("request_id") == request_id
        ]
        assert failed["message"] == message and "documents.sqlite3" in failed["exc_info"]
    # The request's own line, written as the error passed on its way out.
    assert "POST /v1/ask 500" in [
        line["message"] for line in lines if line.get("request_id") == "trace-500"
    ]


@pytest.fixture(scope="module")
def one_document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("one-document")
    (folder / "lyon.txt").write_text((INTERPOL_NEWS / LYON).read_text(encoding="utf-8"))
    return folder


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_qa_serve_logs_each_request_under_its_id(
    tmp_path: Path, one_document: Path, log_format: str
) -> None:
    environment = environment_without_settings()
    env = environment | {
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_LLM": "extractive",
        "QA_LOG_FORMAT": log_format,
    }
    ingest = subprocess.run(
        [QA, "ingest", str(one_document)], env=env, capture_output=True, text=True, timeout=300
    )
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with running_server([QA, "serve", "--port", str(port)], f"{url}/readyz", log, env, 180):
        asked = httpx.post(
            f"{url}/v1/ask",
            json={"question": QUESTION},
            headers={"X-Request-ID": "served-1"},
            timeout=60,
        )
        assert asked.status_code == 200 and not asked.json()["refused"]
    written = log.read_text(encoding="utf-8").splitlines()
    if log_format == "json":
        lines = [json.loads(line) for line in written]  # every line is one JSON object
        assert {"level", "logger", "message", "time"} <= set(lines[0])
        of_request = [line["message"] for line in lines if line.get("request_id") == "served-1"]
        assert of_request == ["answered", "POST /v1/ask 200"]
        assert any(line["logger"].startswith("uvicorn") for line in lines)
    else:
        of_request = [line for line in written if " [served-1] " in line]
        assert [line.split(" [served-1] ")[1] for line in of_request] == [
            "answered",
            "POST /v1/ask 200",
        ]
    text = "\n".join(written)
    assert QUESTION not in text and asked.json()["answer"] not in text
