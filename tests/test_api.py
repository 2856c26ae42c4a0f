"""The FastAPI skeleton: liveness at once, readiness once the store and model are loaded."""

from fastapi.testclient import TestClient

from qa_service.api.main import create_app
from qa_service.core.config import Settings
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS
from tests.servers import free_port


def test_health_and_readiness(services: Services) -> None:
    services.ingestor.run([INTERPOL_NEWS])
    app = create_app(services.settings)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert app.state.qa.wait(timeout=120)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "collection": "documents", "chunks": 21}
        schema = client.get("/openapi.json").json()
        assert {"/healthz", "/readyz"} <= set(schema["paths"])


def test_not_ready_when_the_store_is_unreachable(settings: Settings) -> None:
    port = free_port()  # a loopback port with nobody listening
    app = create_app(settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{port}"}))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert app.state.qa.wait(timeout=60)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "Chroma" in response.json()["detail"] or "connect" in response.json()["detail"]
        assert "Traceback" not in response.text


def test_unknown_route_is_a_json_404(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/nope")
        assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
