"""The audit log: its hash chain on SQLite and on a real PostgreSQL, tampering found by
``qa audit --verify``, appends from several processes at once, and what the service and the
``qa`` commands write to it."""

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from qa_service.core.audit import GENESIS, AuditAction, AuditLog, record_hash
from qa_service.core.database import Database
from qa_service.core.keys import KeysFile, Role
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, environment_without_settings
from tests.problems import problem
from tests.processes import run_together
from tests.servers import free_port, serving
from tests.test_api_ask import sse_events

QA = str(Path(sys.executable).parent / "qa")
USER = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()


@pytest.fixture
def log(database_url: str) -> Iterator[AuditLog]:
    database = Database(database_url)
    yield AuditLog(database)
    database.close()


def fill(log: AuditLog, records: int = 5) -> None:
    for number in range(1, records + 1):
        log.append(f"key-{number % 2}", AuditAction.KEY_ADDED, {"name": f"k{number}"})


def test_records_chain_from_the_first(log: AuditLog) -> None:
    assert log.verify().intact and log.verify().records == 0 and log.verify().last_seq is None
    first = log.append("widget", AuditAction.KEY_ADDED, {"name": "widget", "groups": ["a"]})
    second = log.append("cli:ops", AuditAction.KEY_REVOKED, {"name": "widget"})
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.hash == record_hash(
        first.hash, 2, second.at, "cli:ops", "key.revoked", '{"name":"widget"}'
    )
    check = log.verify()
    assert (check.intact, check.records, check.last_seq, check.last_hash) == (
        True,
        2,
        2,
        second.hash,
    )
    assert list(log.records()) == [first, second]


def test_records_are_listed_by_caller_and_time(log: AuditLog) -> None:
    fill(log, 4)
    assert [r.seq for r in log.records(actor="key-1")] == [1, 3]
    assert [r.seq for r in log.records(actor="nobody")] == []
    now = dt.datetime.now(dt.UTC)
    assert list(log.records(since=now + dt.timedelta(minutes=1))) == []
    assert len(list(log.records(since=now - dt.timedelta(minutes=1)))) == 4
    # A time without an offset is UTC.
    naive = (now - dt.timedelta(minutes=1)).replace(tzinfo=None)
    assert len(list(log.records(actor="key-0", since=naive))) == 2


def test_document_changes_are_one_record_each(log: AuditLog) -> None:
    records = log.documents_changed(
        "editor-1",
        added=["handbook/travel.md"],
        updated=["notice.pdf"],
        removed=["old.txt"],
        groups=["alpha"],
    )
    assert [(r.seq, r.actor, r.action, r.details) for r in records] == [
        (1, "editor-1", "document.added", {"doc_id": "handbook/travel.md", "groups": ["alpha"]}),
        (2, "editor-1", "document.updated", {"doc_id": "notice.pdf", "groups": ["alpha"]}),
        (3, "editor-1", "document.removed", {"doc_id": "old.txt", "groups": ["alpha"]}),
    ]
    assert log.documents_changed("editor-1") == []
    assert log.verify().records == 3


_APPEND = """
from qa_service.core.audit import AuditAction, AuditLog
from qa_service.core.database import Database
log = AuditLog(Database(URL))
for number in range(50):
    log.append(f"process-{sys.argv[2]}", AuditAction.KEY_REVOKED, {"name": f"k{number}"})
"""


def test_appends_from_several_processes_keep_one_chain(
    database_url: str, log: AuditLog, tmp_path: Path
) -> None:
    run_together(_APPEND.replace("URL", repr(database_url)), processes=2, folder=tmp_path)
    check = log.verify()
    assert (check.intact, check.records, check.last_seq) == (True, 100, 100)
    records = list(log.records())
    assert [r.seq for r in records] == list(range(1, 101))
    assert sorted(r.actor for r in records) == ["process-0"] * 50 + ["process-1"] * 50
    # Each process's own records are in the order it wrote them.
    for actor in ("process-0", "process-1"):
        names = [r.details["name"] for r in records if r.actor == actor]
        assert names == [f"k{number}" for number in range(50)]


def qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = environment_without_settings()
    return {**environment, "QA_DATA_DIR": str(tmp_path / "data"), "QA_LLM": "extractive"}


def sql_on(database_url: str) -> Callable[[str, tuple[Any, ...]], None]:
    """Runs one statement on the database with its own driver, as someone with the database's
    files or password would, without the service."""

    def run(statement: str, values: tuple[Any, ...] = ()) -> None:
        if database_url.startswith("sqlite:///"):
            with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
                connection.execute(statement, values)
        else:
            url = database_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(url) as connection:
                connection.execute(statement.replace("?", "%s").encode(), values)

    return run


def _edit(run: Callable[[str, tuple[Any, ...]], None], log: AuditLog) -> None:
    run("UPDATE audit_log SET details = ? WHERE seq = 3", ('{"name":"k9"}',))


def _remove(run: Callable[[str, tuple[Any, ...]], None], log: AuditLog) -> None:
    run("DELETE FROM audit_log WHERE seq = 3", ())


def _replace(run: Callable[[str, tuple[Any, ...]], None], log: AuditLog) -> None:
    # Record 3 edited and its own hash made anew: record 4 still holds the old one.
    third = next(r for r in log.records() if r.seq == 3)
    details = '{"name":"k9"}'
    new = record_hash(third.prev_hash, 3, third.at, third.actor, third.action, details)
    run("UPDATE audit_log SET details = ?, hash = ? WHERE seq = 3", (details, new))


def _remove_first(run: Callable[[str, tuple[Any, ...]], None], log: AuditLog) -> None:
    run("DELETE FROM audit_log WHERE seq <= 2", ())


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (_edit, "record 3 was changed: its content is not what it was"),
        (_remove, "record 3 was removed: record 4 follows record 2"),
        (_replace, "record 3 was changed (and its hash made anew): record 4, which follows it, "),
        (_remove_first, "records 1-2 were removed: the log begins at record 3"),
    ],
)
def test_verify_names_the_first_record_tampered_with(
    database_url: str,
    log: AuditLog,
    tamper: Callable[[Callable[[str, tuple[Any, ...]], None], AuditLog], None],
    problem: str,
) -> None:
    fill(log, 5)
    assert log.verify().intact
    tamper(sql_on(database_url), log)
    check = log.verify()
    assert check.broken is not None and not check.intact
    assert check.broken.problem.startswith(problem)
    assert check.broken.seq == int(problem.split()[1].split("-")[0])
    assert check.last_seq is None and check.last_hash is None


def test_qa_audit_verify_on_postgresql(postgres_url: str, env: dict[str, str]) -> None:
    env = {**env, "QA_DATABASE_URL": postgres_url}
    log = AuditLog(Database(postgres_url))
    fill(log, 5)
    intact = json.loads(qa("audit", "--verify", "--json", env=env).stdout)
    assert intact == {
        "intact": True,
        "records": 5,
        "last": {"seq": 5, "hash": log.verify().last_hash},
        "broken": None,
    }
    _remove(sql_on(postgres_url), log)
    broken = qa("audit", "--verify", "--json", env=env)
    assert broken.returncode == 3
    assert json.loads(broken.stdout) == {
        "intact": False,
        "records": 2,
        "last": None,
        "broken": {"seq": 3, "problem": "record 3 was removed: record 4 follows record 2"},
    }
    assert broken.stderr == (
        "error: the audit log is broken: record 3 was removed: record 4 follows record 2\n"
    )


def test_qa_audit_verify_finds_the_sqlite_file_edited_with_sqlite3(env: dict[str, str]) -> None:
    """The default database, a record edited with plain sqlite3, then one from the middle
    removed."""
    path = Path(env["QA_DATA_DIR"]) / "service.db"
    log = AuditLog(Database(f"sqlite:///{path}"))
    fill(log, 6)
    intact = qa("audit", "--verify", env=env)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout == (
        f"the audit log is intact: 6 records; the last is record 6, hash {log.verify().last_hash}\n"
    )
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4")
    edited = qa("audit", "--verify", env=env)
    assert edited.returncode == 3
    assert edited.stderr == (
        "error: the audit log is broken: record 4 was changed: its content is not what it was\n"
    )
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM audit_log WHERE seq = 4")
    removed = qa("audit", "--verify", env=env)
    assert removed.returncode == 3
    assert removed.stderr == (
        "error: the audit log is broken: record 4 was removed: record 5 follows record 3\n"
    )


def test_qa_commands_are_audited(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "QA_API_KEYS_FILE": str(tmp_path / "keys.json")}
    actor = f"cli:{USER}"
    assert qa("keys", "add", "widget", "--groups", "public", env=env).returncode == 0
    folder = tmp_path / "alpha"
    folder.mkdir()
    (folder / "bulletin.txt").write_text("The annual conference will be held in Lisbon.")
    (folder / "notice.txt").write_text("The office closes at noon on Fridays.")
    assert qa("ingest", str(folder), "--groups", "alpha", env=env).returncode == 0
    (folder / "notice.txt").write_text("The office closes at two on Fridays.")
    (folder / "bulletin.txt").unlink()
    assert qa("ingest", str(folder), "--groups", "alpha", "--prune", env=env).returncode == 0
    asked = qa("ask", "When does the office close on Fridays?", "--json", env=env)
    answer_id = json.loads(asked.stdout)["id"]
    assert qa("docs", "delete", "notice.txt", env=env).returncode == 0
    assert qa("keys", "revoke", "widget", env=env).returncode == 0

    listed = qa("audit", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert [r["seq"] for r in records] == list(range(1, 9))
    assert {r["actor"] for r in records} == {actor}
    assert [(r["action"], r["details"]) for r in records] == [
        ("key.added", {"name": "widget", "groups": ["public"], "role": "reader"}),
        ("document.added", {"doc_id": "bulletin.txt", "groups": ["alpha"]}),
        ("document.added", {"doc_id": "notice.txt", "groups": ["alpha"]}),
        ("document.updated", {"doc_id": "notice.txt", "groups": ["alpha"]}),
        ("document.removed", {"doc_id": "bulletin.txt", "groups": ["alpha"]}),
        (
            "question.answered",
            {
                "answer_id": answer_id,
                "question": "When does the office close on Fridays?",
                "documents_shown": ["notice.txt"],
                "documents_cited": ["notice.txt"],
                "refusal_reason": None,
            },
        ),
        ("document.removed", {"doc_id": "notice.txt", "groups": ["alpha"]}),
        ("key.revoked", {"name": "widget"}),
    ]

    human = qa("audit", "--key", actor, env=env)
    lines = human.stdout.splitlines()
    assert len(lines) == 9 and lines[-1] == "8 records"
    seq, at, who, action, details = lines[0].split(maxsplit=4)
    assert (seq, who, action) == ("1", actor, "key.added")
    assert dt.datetime.fromisoformat(at) <= dt.datetime.now(dt.UTC)
    assert details == 'groups=["public"] name="widget" role="reader"'
    assert qa("audit", "--key", "widget", env=env).stdout == "0 records\n"
    assert qa("audit", "--since", "2999-01-01", "--json", env=env).stdout == "[]\n"
    bad = qa("audit", "--since", "yesterday", env=env)
    assert bad.returncode == 1 and bad.stderr == (
        "error: --since 'yesterday' is not a date or time: write 2025-01-31 or 2025-01-31T09:30\n"
    )
    assert qa("audit", "--verify", env=env).stdout.startswith("the audit log is intact: 8 records")


@pytest.fixture
def served(extractive: Services, tmp_path: Path) -> Iterator[tuple[str, KeysFile, AuditLog]]:
    extractive.ingestor.run([INTERPOL_NEWS])
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "dossier-a91.txt").write_text(
        "Dossier A91\n\nIn Operation Nightjar, the informant's codename is AMBERWREN."
    )
    extractive.ingestor.run([tmp_path / "alpha"], groups=("alpha",))
    keys = KeysFile(tmp_path / "keys.json")
    settings = extractive.settings.model_copy(update={"api_keys_file": keys.path})
    app = build_api(settings, extractive)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120)
        yield url, keys, AuditLog(Database.from_settings(settings))


def test_questions_over_http_are_audited(served: tuple[str, KeysFile, AuditLog]) -> None:
    url, keys, log = served
    widget = keys.add("widget", groups=())
    outsider = keys.add("outsider", groups=("beta",))

    def ask(key: str, question: str, path: str = "/v1/ask") -> dict[str, Any]:
        response = httpx.post(
            f"{url}{path}",
            json={"question": question},
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
        assert response.status_code == 200
        if path == "/v1/ask":
            body: dict[str, Any] = response.json()
            return body
        done: dict[str, Any] = json.loads(sse_events(response.text)[-1][1])
        return done

    answered = ask(widget, "Where did the Chiefs of Police meet?")
    streamed = ask(widget, "Where did the Chiefs of Police meet?", path="/v1/ask/stream")
    refused = ask(outsider, "What is the codename of the informant in Operation Nightjar?")
    records = list(log.records())
    assert [(r.actor, r.action, r.details["answer_id"]) for r in records] == [
        ("widget", "question.answered", answered["id"]),
        ("widget", "question.answered", streamed["id"]),
        ("outsider", "question.refused", refused["id"]),
    ]
    shown = list(dict.fromkeys(p["doc_id"] for p in answered["passages"]))
    cited = list(dict.fromkeys(c["doc_id"] for c in answered["citations"]))
    assert records[0].details == {
        "answer_id": answered["id"],
        "question": "Where did the Chiefs of Police meet?",
        "documents_shown": shown,
        "documents_cited": cited,
        "refusal_reason": None,
    }
    assert records[2].details["refusal_reason"] == refused["refusal_reason"] is not None
    assert records[2].details["documents_cited"] == []
    assert "dossier-a91.txt" not in records[2].details["documents_shown"]
    assert log.verify().intact


def test_documents_changed_over_http_are_audited(
    served: tuple[str, KeysFile, AuditLog],
) -> None:
    url, keys, log = served
    editor = {
        "Authorization": f"Bearer {keys.add('editor-1', groups=('alpha',), role=Role.EDITOR)}"
    }
    uploaded = httpx.post(
        f"{url}/v1/documents",
        files=[("files", ("memo.txt", b"Memo\n\nThe archive moves to Ghent.", "text/plain"))],
        data={"groups": "alpha"},
        headers=editor,
        timeout=120,
    )
    assert uploaded.status_code == 200, uploaded.text
    deleted = httpx.delete(f"{url}/v1/documents/memo.txt", headers=editor, timeout=60)
    assert deleted.status_code == 200, deleted.text
    assert [(r.actor, r.action, r.details) for r in log.records()] == [
        ("editor-1", "document.added", {"doc_id": "memo.txt", "groups": ["alpha"]}),
        ("editor-1", "document.removed", {"doc_id": "memo.txt", "groups": ["alpha"]}),
    ]


def test_no_document_changes_while_the_database_is_down(
    extractive: Services, tmp_path: Path
) -> None:
    extractive.ingestor.run([INTERPOL_NEWS])
    keys = KeysFile(tmp_path / "keys.json")
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    settings = extractive.settings.model_copy(
        update={"api_keys_file": keys.path, "database_url": nobody}
    )
    editor = {"Authorization": f"Bearer {keys.add('editor-1', groups=(), role=Role.EDITOR)}"}
    documents = [d.doc_id for d in extractive.store.list_documents()]
    app = build_api(settings, extractive)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120)
        uploaded = httpx.post(
            f"{url}/v1/documents",
            files=[("files", ("memo.txt", b"Memo\n\nThe archive moves to Ghent.", "text/plain"))],
            headers=editor,
            timeout=120,
        )
        deleted = httpx.delete(f"{url}/v1/documents/{documents[0]}", headers=editor, timeout=60)
    for response in (uploaded, deleted):
        assert response.status_code == 503
        assert problem(response) == {"detail": "the service's database cannot be reached"}
    assert [d.doc_id for d in extractive.store.list_documents()] == documents
    assert not (settings.uploads_dir / "memo.txt").exists()
