"""Single sign-on through a trusted reverse proxy, over real HTTP: the user and groups headers
count only from the proxy's address (127.0.0.2 here, a second loopback address), anything else
carrying them is refused, and the user is who the records and the audit log name."""

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from qa_service.answering.records import AnswerRecords
from qa_service.api.auth import KEY_REQUIRED, LOCAL_ONLY, PROXY_NAMES_NOBODY
from qa_service.core.audit import AuditLog
from qa_service.core.config import Settings
from qa_service.core.database import Database
from qa_service.core.keys import KeysFile
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, environment_without_settings
from tests.problems import problem
from tests.servers import free_port, running_server, serving

PROXY = "127.0.0.2"
NIGHTJAR = "What is the codename of the informant in Operation Nightjar?"
SECRET = "AMBERWREN"
UNTRUSTED = "x-remote-user is accepted only from the service's trusted proxy"
QA = str(Path(sys.executable).parent / "qa")


@dataclass
class Service:
    url: str
    keys: KeysFile
    settings: Settings

    def ask(self, headers: dict[str, str], via_proxy: bool, question: str) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=PROXY if via_proxy else "127.0.0.1")
        with httpx.Client(transport=transport, timeout=120) as client:
            return client.post(f"{self.url}/v1/ask", json={"question": question}, headers=headers)


@pytest.fixture
def documents(extractive: Services, tmp_path: Path) -> Services:
    extractive.ingestor.run([INTERPOL_NEWS])
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "dossier-a91.txt").write_text(
        f"Dossier A91\n\nIn Operation Nightjar, the informant's codename is {SECRET}."
    )
    extractive.ingestor.run([tmp_path / "alpha"], groups=("alpha",))
    return extractive


def service(documents: Services, tmp_path: Path, **proxy: Any) -> Iterator[Service]:
    keys = KeysFile(tmp_path / "keys.json")
    settings = documents.settings.model_copy(update={"api_keys_file": keys.path, **proxy})
    app = build_api(settings, documents)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120)
        yield Service(url, keys, settings)


@pytest.fixture
def behind_proxy(documents: Services, tmp_path: Path) -> Iterator[Service]:
    yield from service(
        documents,
        tmp_path,
        proxy_user_header="X-Remote-User",
        proxy_groups_header="X-Remote-Groups",
        trusted_proxies=[PROXY],
    )


def test_the_proxys_user_reads_their_groups_documents(behind_proxy: Service) -> None:
    alice = {"X-Remote-User": "alice", "X-Remote-Groups": "alpha, staff"}
    response = behind_proxy.ask(alice, via_proxy=True, question=NIGHTJAR)
    assert response.status_code == 200
    body = response.json()
    assert SECRET in body["answer"] and body["citations"][0]["doc_id"] == "dossier-a91.txt"
    database = Database.from_settings(behind_proxy.settings)
    record = AnswerRecords(database).get(body["id"])
    assert record is not None and record.asked_by == "proxy:alice"
    audited = list(AuditLog(database).records(actor="proxy:alice"))
    assert [(r.action, r.details["answer_id"]) for r in audited] == [
        ("question.answered", body["id"])
    ]

    bob = {"X-Remote-User": "bob", "X-Remote-Groups": "beta"}
    refused = behind_proxy.ask(bob, via_proxy=True, question=NIGHTJAR)
    assert refused.status_code == 200 and refused.json()["refused"]
    assert SECRET not in refused.text and "dossier-a91" not in refused.text.lower()
    # No groups header: the public documents only.
    nobody = behind_proxy.ask({"X-Remote-User": "carol"}, via_proxy=True, question=NIGHTJAR)
    assert nobody.status_code == 200 and nobody.json()["refused"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Remote-User": "alice"},
        {"X-Remote-User": "alice", "X-Remote-Groups": "alpha"},
        {"X-Remote-Groups": "alpha"},
    ],
)
def test_identity_headers_from_anywhere_else_are_refused(
    behind_proxy: Service, headers: dict[str, str]
) -> None:
    key = behind_proxy.keys.add("widget", groups=("alpha",))
    for with_key in ({}, {"Authorization": f"Bearer {key}"}):
        response = behind_proxy.ask(headers | with_key, via_proxy=False, question=NIGHTJAR)
        assert response.status_code == 403
        assert problem(response) == {"detail": UNTRUSTED}


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"X-Remote-Groups": "alpha"}, "the proxy's x-remote-user names no valid user"),
        ({"X-Remote-User": ""}, "the proxy's x-remote-user names no valid user"),
        (
            {"X-Remote-User": "alice", "X-Remote-Groups": "alpha,../etc"},
            "the proxy's x-remote-groups holds a name that is not a group name (letters, "
            "digits, '_', '.', '-'; at most 64)",
        ),
    ],
)
def test_the_proxy_must_name_a_user_and_real_groups(
    behind_proxy: Service, headers: dict[str, str], detail: str
) -> None:
    response = behind_proxy.ask(headers, via_proxy=True, question=NIGHTJAR)
    assert response.status_code == 403 and problem(response) == {"detail": detail}


def test_keys_still_work_beside_the_proxy(behind_proxy: Service) -> None:
    key = behind_proxy.keys.add("widget", groups=("alpha",))
    for via_proxy in (False, True):
        response = behind_proxy.ask(
            {"Authorization": f"Bearer {key}"}, via_proxy=via_proxy, question=NIGHTJAR
        )
        assert response.status_code == 200 and SECRET in response.json()["answer"]
        unnamed = behind_proxy.ask({}, via_proxy=via_proxy, question=NIGHTJAR)
        assert unnamed.status_code == 401 and problem(unnamed) == {"detail": KEY_REQUIRED}


def test_off_by_default_the_headers_mean_nothing(documents: Services, tmp_path: Path) -> None:
    for plain in service(documents, tmp_path):
        key = plain.keys.add("widget", groups=())
        named = {"X-Remote-User": "alice", "X-Remote-Groups": "alpha"}
        response = plain.ask(named | {"Authorization": f"Bearer {key}"}, True, NIGHTJAR)
        assert response.status_code == 200 and response.json()["refused"]
        record = AnswerRecords(Database.from_settings(plain.settings)).get(response.json()["id"])
        assert record is not None and record.asked_by == "widget"
        assert plain.ask(named, via_proxy=True, question=NIGHTJAR).status_code == 401


def test_qa_serve_behind_a_proxy_on_every_address(tmp_path: Path) -> None:
    """``qa serve --host 0.0.0.0`` without keys starts when a proxy signs users in; it judges
    the proxy by the address a request comes from, whatever X-Forwarded-For says, and answers
    nobody else."""
    environment = environment_without_settings()
    environment |= {
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_LLM": "extractive",
        "QA_PROXY_USER_HEADER": "X-Remote-User",
        "QA_TRUSTED_PROXIES": "127.0.0.1",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [QA, "serve", "--host", "0.0.0.0", "--port", str(port)]
    with running_server(command, f"{url}/readyz", tmp_path / "serve.log", environment, 180):
        text = f"{url}/v1/documents/missing.txt/text?start=0&end=1"
        forwarded = {"X-Forwarded-For": "10.9.9.9", "Host": "127.0.0.1"}
        signed_in = httpx.get(text, headers=forwarded | {"X-Remote-User": "alice"})
        assert signed_in.status_code == 404
        assert problem(signed_in) == {"detail": "no such document"}
        unnamed = httpx.get(text, headers=forwarded)
        assert unnamed.status_code == 403 and problem(unnamed) == {"detail": PROXY_NAMES_NOBODY}
        with httpx.Client(transport=httpx.HTTPTransport(local_address=PROXY)) as elsewhere:
            outsider = elsewhere.get(text, headers={"X-Remote-User": "alice", "Host": "localhost"})
            assert outsider.status_code == 403 and problem(outsider) == {"detail": UNTRUSTED}
            # Not the proxy, but this machine: answered as without a proxy.
            local = elsewhere.get(text, headers={"Host": "localhost"})
            assert local.status_code == 404 and problem(local) == {"detail": "no such document"}
            forwarded_here = elsewhere.get(text, headers=forwarded)
            assert forwarded_here.status_code == 403
            assert problem(forwarded_here) == {"detail": LOCAL_ONLY}


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"proxy_user_header": "X-Remote-User"}, "QA_PROXY_USER_HEADER needs QA_TRUSTED_PROXIES"),
        ({"proxy_groups_header": "X-Groups"}, "QA_PROXY_GROUPS_HEADER needs QA_PROXY_USER_HEADER"),
        (
            {"proxy_user_header": "X-User", "trusted_proxies": "proxy.intranet"},
            "'proxy.intranet' is not an address or network",
        ),
        (
            {"proxy_user_header": "Authorization", "trusted_proxies": "10.0.0.1"},
            "Authorization is not a header for a proxy to name users in",
        ),
        (
            {"proxy_user_header": "X User", "trusted_proxies": "10.0.0.1"},
            "'X User' is not an HTTP header name",
        ),
    ],
)
def test_proxy_settings_that_cannot_work_are_refused(
    environment: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(f"QA_{name.upper()}", value)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        Settings()


def test_proxy_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_PROXY_USER_HEADER", "X-Remote-User")
    monkeypatch.setenv("QA_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,::1")
    settings = Settings()
    assert settings.trusted_proxies == ["10.0.0.5", "10.1.0.0/16", "::1"]
    assert settings.proxy_groups_header is None
