"""The FastAPI skeleton: liveness at once, readiness once the store and model are loaded; what
every route shares: answered hosts, body limits, short error bodies, offline docs pages."""

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from qa_service.core.config import Settings
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, ON_THIS_MACHINE, REPO, environment_without_settings
from tests.problems import problem
from tests.servers import free_port, running_server

LOCAL = "http://localhost"


def test_health_and_readiness(services: Services) -> None:
    services.ingestor.run([INTERPOL_NEWS])
    app = build_api(services.settings, services)
    with TestClient(app, base_url=LOCAL, client=ON_THIS_MACHINE) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert app.state.qa.wait(timeout=120)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "collection": "documents", "chunks": 21}
        schema = client.get("/openapi.json").json()
        assert {"/healthz", "/readyz"} <= set(schema["paths"])


def test_a_store_gone_after_loading_is_reported_plainly(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_api(services.settings, services)
    with TestClient(app, base_url=LOCAL, client=ON_THIS_MACHINE) as client:
        assert app.state.qa.wait(timeout=60) and client.get("/readyz").status_code == 200

        def down() -> int:
            raise ConnectionError(f"no Chroma at {services.settings.chroma_dir}/chroma.sqlite3")

        monkeypatch.setattr(services.store, "count", down)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert problem(response) == {"detail": "the document store cannot be reached"}
    assert "chroma.sqlite3" in caplog.text


def test_not_ready_when_the_store_is_unreachable(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # a loopback port with nobody listening
    app = build_api(settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{port}"}))
    with TestClient(app, base_url=LOCAL, client=ON_THIS_MACHINE) as client:
        assert client.get("/healthz").status_code == 200
        assert app.state.qa.wait(timeout=60)
        for path in ("/readyz", "/v1/ask"):
            response = client.request(
                "GET" if path == "/readyz" else "POST", path, json={"question": "Who?"}
            )
            assert response.status_code == 503
            # Plain words for the caller; the class, the URL and the traceback go to the log.
            assert problem(response) == {"detail": "the document store cannot be reached"}
    assert f"127.0.0.1:{port}" in caplog.text and "StoreError" in caplog.text


def test_unknown_route_is_a_json_404(settings: Settings) -> None:
    with TestClient(build_api(settings), base_url=LOCAL, client=ON_THIS_MACHINE) as client:
        response = client.get("/nope")
        assert response.status_code == 404 and problem(response) == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"]
)
def test_loopback_names_are_answered(settings: Settings, host: str) -> None:
    client = TestClient(build_api(settings), base_url=LOCAL, client=ON_THIS_MACHINE)
    assert client.get("/healthz", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.2:8000", "localhost.evil.example", ""]
)
def test_other_hosts_are_refused(settings: Settings, host: str) -> None:
    # A page on evil.example that rebinds its name to 127.0.0.1 still sends its own name.
    client = TestClient(build_api(settings), base_url=LOCAL, client=ON_THIS_MACHINE)
    for method, path in (("GET", "/healthz"), ("POST", "/v1/ask"), ("GET", "/docs")):
        response = client.request(method, path, headers={"host": host}, json={"question": "x"})
        assert response.status_code == 400, (host, path)
        assert problem(response) == {"detail": "unknown host: this service answers only its names"}


def test_configured_hosts_are_answered(settings: Settings) -> None:
    app = build_api(settings.model_copy(update={"allowed_hosts": ["qa.intranet", "*.lab"]}))
    client = TestClient(app, base_url=LOCAL, client=ON_THIS_MACHINE)
    for host, status in (("qa.intranet", 200), ("a.lab:80", 200), ("localhost", 400)):
        assert client.get("/healthz", headers={"host": host}).status_code == status, host


def test_allowed_hosts_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_ALLOWED_HOSTS", "qa.intranet, 10.0.0.5")
    assert Settings().allowed_hosts == ["qa.intranet", "10.0.0.5"]


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2"])
def test_serve_answers_the_host_it_binds(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-c", "from qa_service.cli import app; app()", "serve"]
    env = environment_without_settings()
    env |= {"QA_DATA_DIR": str(tmp_path / "data"), "QA_LLM": "extractive", "PYTHONPATH": str(REPO)}
    with running_server(
        [*command, "--host", "127.0.0.2", "--port", str(port)],
        f"http://127.0.0.2:{port}/healthz",
        tmp_path / "serve.log",
        env=env,
    ):
        url = f"http://127.0.0.2:{port}/healthz"
        assert httpx.get(url).status_code == 200  # Host: 127.0.0.2:PORT
        assert httpx.get(url, headers={"host": "localhost"}).status_code == 200
        assert httpx.get(url, headers={"host": "127.0.0.3"}).status_code == 400


def test_a_body_over_the_limit_is_a_413_read_no_further(settings: Settings) -> None:
    app = build_api(settings.model_copy(update={"max_body_bytes": 1000}))
    client = TestClient(app, base_url=LOCAL, client=ON_THIS_MACHINE)
    big = b'{"question": "' + b"x" * 10_000_000 + b'"}'
    received: list[int] = []

    def chunked() -> Iterator[bytes]:
        # No Content-Length: the limit counts bytes as they come, and stops reading.
        for start in range(0, len(big), 1000):
            received.append(start)
            yield big[start : start + 1000]

    for path in ("/v1/ask", "/v1/ask/stream", "/healthz", "/nope"):
        declared = client.post(path, content=big, headers={"content-type": "application/json"})
        assert declared.status_code == 413, path
        assert problem(declared) == {"detail": "the request body is over 1000 bytes"}
    json_type = {"content-type": "application/json"}
    streamed = client.post("/v1/ask", content=chunked(), headers=json_type)
    assert streamed.status_code == 413 and len(streamed.content) < 200
    assert problem(streamed) == {"detail": "the request body is over 1000 bytes"}
    # TestClient reads the whole generator into its request: what counts is the app's answer.
    assert len(received) == len(range(0, len(big), 1000))


def test_a_body_under_the_limit_is_read(settings: Settings) -> None:
    app = build_api(settings.model_copy(update={"max_body_bytes": 1000}))
    client = TestClient(app, base_url=LOCAL, client=ON_THIS_MACHINE)
    response = client.post("/v1/ask", json={"question": "x" * 900})
    assert response.status_code == 503  # read, and on to the services (not loaded here)


def test_docs_pages_load_nothing_from_outside(settings: Settings) -> None:
    client = TestClient(build_api(settings), base_url=LOCAL, client=ON_THIS_MACHINE)
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", html.text), html.text
        assets = re.findall(r"(?:src|href)=[\"']?(/[^\"' >]+)", html.text)
        assert assets and not re.search(r"https?://", html.text.replace("/openapi.json", ""))
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
