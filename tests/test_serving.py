"""A real ``qa serve`` used as staff use it: many questions at once, while other processes
ingest and delete documents on the same data folder."""

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import INTERPOL_NEWS, environment_without_settings
from tests.servers import free_port, running_server

QA = str(Path(sys.executable).parent / "qa")
# What a question about the new document can only be answered from.
NEW_FACT = "Operation Lantern seized 312 counterfeit passports in Tallinn in March 2026."


@dataclass
class Served:
    url: str
    env: dict[str, str]
    data_dir: Path

    def ask(self, question: str, client: httpx.Client | None = None) -> dict[str, Any]:
        post = client.post if client is not None else httpx.post
        response = post(f"{self.url}/v1/ask", json={"question": question}, timeout=120)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def qa(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [QA, *args], env=self.env, capture_output=True, text=True, timeout=300
        )


def _answer_key(body: dict[str, Any]) -> tuple[Any, ...]:
    """What must not depend on what else is being asked: text, refusal, citations."""
    return (
        body["answer"],
        body["refused"],
        [(c["doc_id"], c["start"], c["end"], c["quote"]) for c in body["citations"]],
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    environment = environment_without_settings()
    env = {**environment, "QA_DATA_DIR": str(root / "data"), "QA_LLM": "extractive"}
    # Room for every question at once: what is measured is answers, not admission.
    env |= {"QA_MAX_ANSWERS_IN_FLIGHT": "16", "QA_MAX_ANSWERS_QUEUED": "16"}
    ingest = subprocess.run(
        [QA, "ingest", str(INTERPOL_NEWS)], env=env, capture_output=True, text=True, timeout=300
    )
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [QA, "serve", "--port", str(port)]
    with running_server(command, f"{url}/readyz", root / "serve.log", env, timeout=180):
        yield Served(url, env, root / "data")


QUESTIONS = [
    "Who chaired the Moroccan delegation?",
    "Where is the INTERPOL General Secretariat?",
    "How many member countries does INTERPOL have?",
    "What was discussed at the European Regional Conference?",
    "Which countries took part in the operation?",
    "What is a Silver Notice?",
    "When was the Arab Police Chiefs meeting held?",
    "Who is the Secretary General of INTERPOL?",
]


def test_answers_are_the_same_alone_and_among_others(served: Served) -> None:
    alone = {question: _answer_key(served.ask(question)) for question in QUESTIONS}
    with httpx.Client() as client, ThreadPoolExecutor(max_workers=16) as pool:
        crowd = list(pool.map(lambda q: (q, served.ask(q, client)), QUESTIONS * 4))
    differing = [q for q, body in crowd if _answer_key(body) != alone[q]]
    assert differing == []


def test_documents_written_by_another_process_are_answered_at_once(
    served: Served, tmp_path: Path
) -> None:
    # The server holds the store; the CLI must go through it rather than open it embedded.
    published = json.loads((served.data_dir / "chroma" / "chroma-server.json").read_text())
    assert published["url"].startswith("http://127.0.0.1:")

    question = "How many counterfeit passports did Operation Lantern seize?"
    before = served.ask(question)
    assert before["refused"]

    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "lantern.txt").write_text(f"Operation Lantern\n\n{NEW_FACT}\n", encoding="utf-8")
    added = served.qa("ingest", str(folder), "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == ["lantern.txt"]

    answered = _eventually(lambda: served.ask(question), lambda body: not body["refused"])
    assert answered["citations"][0]["doc_id"] == "lantern.txt"
    assert "312" in answered["answer"]
    listed = json.loads(served.qa("docs", "list", "--json").stdout)
    assert "lantern.txt" in [document["doc_id"] for document in listed]

    deleted = served.qa("docs", "delete", "lantern.txt", "--json")
    assert deleted.returncode == 0, deleted.stderr
    refused = _eventually(lambda: served.ask(question), lambda body: body["refused"])
    assert all(c["doc_id"] != "lantern.txt" for c in refused["citations"])
    assert all(p["doc_id"] != "lantern.txt" for p in refused["passages"])
    assert httpx.get(f"{served.url}/readyz").status_code == 200


def _eventually(ask: Any, done: Any, seconds: float = 10.0) -> dict[str, Any]:
    """The first answer that ``done`` accepts within ``seconds`` (the store's change check runs
    every few seconds); the last one if none did."""
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = ask()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_two_servers_and_an_ingest_share_one_chroma_server(tmp_path: Path) -> None:
    """Replicas on one ``chroma run``, each with its own data folder (as on other machines,
    so each keeps its own keyword index): a document ingested from a third place is answered
    by both, and so is its deletion."""
    chroma_port = free_port()
    chroma = str(Path(sys.executable).parent / "chroma")
    chroma_url = f"http://127.0.0.1:{chroma_port}"
    base = environment_without_settings()
    base.update({"QA_LLM": "extractive", "QA_CHROMA_URL": chroma_url})

    def env(name: str) -> dict[str, str]:
        return {**base, "QA_DATA_DIR": str(tmp_path / name)}

    chroma_command = [chroma, "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1"]
    with running_server(
        [*chroma_command, "--port", str(chroma_port)],
        f"{chroma_url}/api/v2/heartbeat",
        tmp_path / "chroma.log",
        {**base, "ANONYMIZED_TELEMETRY": "False"},
    ):
        writer = Served("", env("writer"), tmp_path / "writer")
        assert writer.qa("ingest", str(INTERPOL_NEWS)).returncode == 0
        with (
            _serve(env("one"), tmp_path / "one.log") as one,
            _serve(env("two"), tmp_path / "two.log") as two,
        ):
            question = "How many counterfeit passports did Operation Lantern seize?"
            known = "Who chaired the Moroccan delegation?"
            assert _answer_key(one.ask(known)) == _answer_key(two.ask(known))
            assert one.ask(question)["refused"] and two.ask(question)["refused"]

            folder = tmp_path / "new"
            folder.mkdir()
            (folder / "lantern.txt").write_text(f"Operation Lantern\n\n{NEW_FACT}\n")
            assert writer.qa("ingest", str(folder)).returncode == 0
            for replica in (one, two):
                body = _eventually(lambda r=replica: r.ask(question), lambda b: not b["refused"])
                assert [c["doc_id"] for c in body["citations"]] == ["lantern.txt"]
                # Found by the keyword search too: the replica's own index caught up.
                assert body["passages"][0]["doc_id"] == "lantern.txt"

            assert writer.qa("docs", "delete", "lantern.txt").returncode == 0
            for replica in (one, two):
                body = _eventually(lambda r=replica: r.ask(question), lambda b: b["refused"])
                assert body["refused"]
                assert all(p["doc_id"] != "lantern.txt" for p in body["passages"])


@contextlib.contextmanager
def _serve(env: dict[str, str], log: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_server([QA, "serve", "--port", str(port)], f"{url}/readyz", log, env, 180):
        yield Served(url, env, Path(env["QA_DATA_DIR"]))
