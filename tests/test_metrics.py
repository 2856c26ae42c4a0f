"""``GET /metrics`` over real HTTP, read with Prometheus' own text parser: requests by route
template and status, answer times, refusals by reason, ingests; and who may read it."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from qa_service.api.auth import KEY_REQUIRED, LOCAL_ONLY
from qa_service.api.routes.metrics import ADMINS_ONLY
from qa_service.core.config import Settings
from qa_service.core.keys import KeysFile, Role
from qa_service.embedders.base import Embedder
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS
from tests.problems import problem
from tests.scrape import moved, scrape
from tests.servers import serving

QUESTION = "Where did the Chiefs of Police meet?"
OFF_TOPIC = "How long should a chocolate cake bake?"
LYON = "000_bacf7507a92bc4d7.txt"
# A request passed on by a reverse proxy: from another machine, whatever address it comes from.
PROXIED = {"X-Forwarded-For": "10.0.0.5"}


@dataclass
class Api:
    url: str
    keys: dict[str, str]
    services: Services

    def headers(self, key: str = "reader") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("metrics")
    keys_file = KeysFile(root / "keys.json")
    keys = {
        "reader": keys_file.add("reader", groups=()),
        "admin": keys_file.add("operator", groups=(), role=Role.ADMIN),
    }
    settings = Settings(data_dir=root / "data", llm="extractive", api_keys_file=keys_file.path)
    services = Services(settings, embedder=embedder)
    services.ingestor.run([INTERPOL_NEWS])
    app = build_api(settings, services)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield Api(url, keys, services)


def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    before = scrape(api.url)
    asked = httpx.post(
        f"{api.url}/v1/ask", json={"question": QUESTION}, headers=api.headers(), timeout=60
    )
    assert asked.status_code == 200
    assert httpx.post(f"{api.url}/v1/ask", json={"question": QUESTION}).status_code == 401
    text = f"{api.url}/v1/documents/{{}}/text"
    quote = {"start": 0, "end": 10}
    assert httpx.get(text.format(LYON), params=quote, headers=api.headers()).status_code == 200
    for doc_id in ("nope.txt", "handbook/gone.md"):
        missing = httpx.get(text.format(doc_id), params=quote, headers=api.headers())
        assert missing.status_code == 404
    assert httpx.get(f"{api.url}/wp-admin/setup.php").status_code == 404
    after = scrape(api.url)

    requests = "qa_http_requests_total"
    assert moved(before, after, requests, method="POST", route="/v1/ask", status="200") == 1
    assert moved(before, after, requests, method="POST", route="/v1/ask", status="401") == 1
    route = "/v1/documents/{doc_id}/text"
    assert moved(before, after, requests, method="GET", route=route, status="200") == 1
    # Two doc_ids, one series: a label never holds what a caller wrote.
    assert moved(before, after, requests, method="GET", route=route, status="404") == 2
    assert moved(before, after, requests, method="GET", route="unmatched", status="404") == 1
    assert moved(before, after, requests, method="GET", route="/metrics", status="200") == 1
    assert not [labels for name, labels in after if "nope.txt" in str(labels)]


def test_answers_are_timed_and_refusals_counted_by_reason(api: Api) -> None:
    before = scrape(api.url)
    stream = httpx.post(
        f"{api.url}/v1/ask/stream", json={"question": QUESTION}, headers=api.headers(), timeout=60
    )
    assert stream.status_code == 200 and "event: token" in stream.text
    refused = httpx.post(
        f"{api.url}/v1/ask", json={"question": OFF_TOPIC}, headers=api.headers(), timeout=60
    ).json()
    assert refused["refused"] and refused["refusal_reason"] == "retrieval"
    after = scrape(api.url)

    assert moved(before, after, "qa_answer_seconds_count") == 2
    assert moved(before, after, "qa_answer_seconds_sum") > 0
    # Only the streamed answer gave out text; the refusal gave none.
    assert moved(before, after, "qa_answer_first_token_seconds_count") == 1
    assert moved(before, after, "qa_answer_first_token_seconds_bucket", le="+Inf") == 1
    assert moved(before, after, "qa_refusals_total", reason="retrieval") == 1
    for reason in ("composer", "unsupported"):
        assert ("qa_refusals_total", frozenset({("reason", reason)})) in after
        assert moved(before, after, "qa_refusals_total", reason=reason) == 0


def test_documents_ingested_updated_deleted_and_failed_are_counted(
    api: Api, tmp_path: Path
) -> None:
    folder = tmp_path / "notices"
    folder.mkdir()
    notice = folder / "canteen.txt"
    notice.write_text("Canteen notice\n\nThe canteen opens at noon on Fridays.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 this is not a PDF")
    before = scrape(api.url)
    ingestor = api.services.ingestor
    first = ingestor.run([folder])
    assert (first.added, list(first.failed)) == (["canteen.txt"], ["broken.pdf"])
    notice.write_text("Canteen notice\n\nThe canteen opens at one on Fridays.\n")
    assert ingestor.run([folder]).updated == ["canteen.txt"]
    notice.unlink()
    assert ingestor.run([folder], prune=True).deleted == ["canteen.txt"]
    after = scrape(api.url)

    documents = "qa_ingest_documents_total"
    assert moved(before, after, documents, outcome="added") == 1
    assert moved(before, after, documents, outcome="updated") == 1
    assert moved(before, after, documents, outcome="deleted") == 1
    # broken.pdf failed each of the three runs.
    assert moved(before, after, documents, outcome="failed") == 3


def test_documents_uploaded_and_deleted_over_http_are_counted(api: Api) -> None:
    files = [
        ("files", ("library-hours.txt", b"Library hours\n\nThe library opens at nine.")),
        ("files", ("minutes.exe", b"MZ not a document")),
        ("files", ("scan.pdf", b"%PDF-1.7 this is not a PDF")),
    ]
    before = scrape(api.url)
    uploaded = httpx.post(
        f"{api.url}/v1/documents", files=files, headers=api.headers("admin"), timeout=120
    )
    assert uploaded.status_code == 422 and uploaded.json()["added"] == ["library-hours.txt"]
    assert sorted(item["name"] for item in uploaded.json()["failed"]) == [
        "minutes.exe",
        "scan.pdf",
    ]
    deleted = httpx.delete(
        f"{api.url}/v1/documents/library-hours.txt", headers=api.headers("admin"), timeout=60
    )
    assert deleted.status_code == 200
    after = scrape(api.url)

    documents = "qa_ingest_documents_total"
    assert moved(before, after, documents, outcome="added") == 1
    # One refused by its name before any ingest, one by the ingest that could not read it.
    assert moved(before, after, documents, outcome="failed") == 2
    assert moved(before, after, documents, outcome="deleted") == 1
    assert moved(before, after, documents, outcome="updated") == 0


def test_the_metrics_are_for_this_machine_and_admin_keys(api: Api) -> None:
    metrics = f"{api.url}/metrics"
    # A Prometheus on the service's machine needs no key; one elsewhere needs an admin key.
    assert httpx.get(metrics).status_code == 200
    assert httpx.get(metrics, headers=PROXIED | api.headers("admin")).status_code == 200
    reader = httpx.get(metrics, headers=PROXIED | api.headers("reader"))
    assert reader.status_code == 403 and problem(reader) == {"detail": ADMINS_ONLY}
    for headers in ({}, {"Authorization": "Bearer qa_not-a-key"}):
        refused = httpx.get(metrics, headers=PROXIED | headers)
        assert refused.status_code == 401 and problem(refused) == {"detail": KEY_REQUIRED}
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "qa_http_requests" not in refused.text


def test_without_keys_the_metrics_are_for_this_machine_only(api: Api) -> None:
    keyless = api.services.settings.model_copy(update={"api_keys_file": None})
    app = build_api(keyless, api.services)
    with serving(app) as url:
        assert httpx.get(f"{url}/metrics").status_code == 200
        elsewhere = httpx.get(f"{url}/metrics", headers=PROXIED)
        assert elsewhere.status_code == 403 and problem(elsewhere) == {"detail": LOCAL_ONLY}
