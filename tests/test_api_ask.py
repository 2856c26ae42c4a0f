"""POST /v1/ask and /v1/ask/stream over a real store, in extractive mode."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qa_service.api.main import create_app
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.ingestor.run([INTERPOL_NEWS])
    app = create_app(services.settings.model_copy(update={"llm": "extractive"}))
    with TestClient(app) as test_client:
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
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"token"}
    streamed = "".join(json.loads(data)["text"] for kind, data in events if kind == "token")
    done = json.loads(events[-1][1])
    assert json.loads(events[-2][1]) == done["citations"] and done["citations"]
    # Tokens are the draft as written; ``done`` carries it checked and renumbered.
    assert "Lyon" in streamed and "Lyon" in done["answer"]
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
