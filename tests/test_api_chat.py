"""The chat's files (the page at /, widget.js, widget.css), the page's Content-Security-Policy,
and the CORS allow-list of the pages that embed the widget. The chat itself runs in a real
browser in tests/test_chat_browser.py."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from qa_service.api.admission import OverloadedError
from qa_service.core.config import Settings
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, ON_THIS_MACHINE
from tests.problems import problem

INTRANET = "https://intranet.example.org"


@pytest.fixture
def client(extractive: Services) -> Iterator[TestClient]:
    extractive.ingestor.run([INTERPOL_NEWS])
    settings = extractive.settings.model_copy(update={"cors_origins": [INTRANET]})
    app = build_api(settings, extractive)
    with TestClient(app, base_url="http://localhost", client=ON_THIS_MACHINE) as test_client:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield test_client


def test_the_page_loads_the_widget_under_a_policy_without_inline_script(
    client: TestClient,
) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
    assert "unsafe" not in policy and directives["frame-ancestors"] == "'self'"
    assert '<qa-chat mode="page">' in page.text
    # Every script of the page is a file of the service, none written in it.
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="widget.js" defer>']
    assert "style=" not in page.text and "<style" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_widget_files_are_served_as_what_they_are(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "customElements.define" in script.text and "attachShadow" in script.text
    # Text from the service or a document never goes through the HTML parser.
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert "eval(" not in script.text and "document.write" not in script.text
    styles = client.get("/widget.css")
    assert styles.status_code == 200 and styles.headers["content-type"].startswith("text/css")
    # The styles load nothing (the browser tests see every request the chat makes).
    assert "url(" not in styles.text and "@import" not in styles.text
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_an_allowed_page_may_call_the_api_with_a_key(client: TestClient) -> None:
    preflight = client.options(
        "/v1/ask/stream",
        headers={
            "Origin": INTRANET,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == INTRANET
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    asked = client.post(
        "/v1/ask",
        json={"question": "Where did the Chiefs of Police meet?"},
        headers={"Origin": INTRANET},
    )
    assert asked.status_code == 200 and asked.headers["access-control-allow-origin"] == INTRANET


def test_other_pages_are_refused_in_json(client: TestClient) -> None:
    preflight = client.options(
        "/v1/ask",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert problem(preflight) == {"detail": "cross-origin request refused: origin not allowed"}
    assert "access-control-allow-origin" not in preflight.headers
    asked = client.post(
        "/v1/ask", json={"question": "Where?"}, headers={"Origin": "https://evil.example"}
    )
    # The browser withholds the answer from a page the service did not name.
    assert "access-control-allow-origin" not in asked.headers


def test_a_busy_service_tells_an_allowed_page_when_to_come_back(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    admission = client.app.state.qa.admission  # type: ignore[attr-defined]

    def full() -> None:
        raise OverloadedError(2.5)

    monkeypatch.setattr(admission, "slot", full)
    busy = client.post("/v1/ask", json={"question": "Where?"}, headers={"Origin": INTRANET})
    assert busy.status_code == 503 and busy.headers["retry-after"] == "3"
    exposed = busy.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "retry-after-ms" in exposed


def test_cors_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CORS_ORIGINS", "https://Intranet.example.org/, http://10.0.0.5:8080")
    assert Settings().cors_origins == [INTRANET, "http://10.0.0.5:8080"]
    assert Settings(cors_origins=[]).cors_origins == []
    for wrong in ("*", "https://intranet.example.org/news", "intranet.example.org"):
        with pytest.raises(ValidationError, match="is not a web page's origin"):
            Settings(cors_origins=[wrong])
