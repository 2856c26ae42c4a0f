"""API keys: the keys file, the server's check of each request, the loopback rule without keys,
``qa keys`` and ``qa serve``'s refusal to open every document to the network."""

import hashlib
import hmac
import json
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from qa_service.api.auth import (
    KEY_REQUIRED,
    KEYS_UNREADABLE,
    LOCAL_CALLER,
    LOCAL_ONLY,
    Access,
    AccessDeniedError,
)
from qa_service.core.config import Settings
from qa_service.core.keys import Caller, KeyRing, KeysFile, KeysFileError, Role
from qa_service.services import Services, build_api
from tests.conftest import environment_without_settings
from tests.problems import problem
from tests.servers import serving

QA = str(Path(sys.executable).parent / "qa")


@pytest.fixture
def keys(tmp_path: Path) -> KeysFile:
    return KeysFile(tmp_path / "secrets" / "keys.json")


def test_a_key_is_stored_as_its_sha256_only(keys: KeysFile) -> None:
    key = keys.add("widget", groups=("public", "staff"), role=Role.READER)
    assert key.startswith("qa_") and len(key) > 40
    text = keys.path.read_text()
    assert key not in text and key[3:] not in text
    assert json.loads(text) == {
        "keys": [
            {
                "name": "widget",
                "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
                "groups": ["public", "staff"],
                "role": "reader",
            }
        ]
    }
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    assert keys.add("other", groups=()) != key


def test_keys_are_listed_and_revoked_by_name(keys: KeysFile) -> None:
    keys.add("analyst", groups=("alpha",))
    keys.add("editor", groups=("alpha", "beta"), role=Role.EDITOR)
    assert [(k.name, k.groups, k.role) for k in keys.read()] == [
        ("analyst", ("alpha",), Role.READER),
        ("editor", ("alpha", "beta"), Role.EDITOR),
    ]
    keys.revoke("analyst")
    assert [k.name for k in keys.read()] == ["editor"]
    with pytest.raises(KeysFileError, match="no key named 'analyst'"):
        keys.revoke("analyst")


@pytest.mark.parametrize(
    ("name", "groups", "message"),
    [
        ("a b", (), "key name 'a b' is not allowed"),
        ("", (), "key name '' is not allowed"),
        ("ok", ("no way",), "group 'no way' is not allowed"),
    ],
)
def test_bad_names_are_refused(
    keys: KeysFile, name: str, groups: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        keys.add(name, groups)
    assert not keys.path.exists()


def test_a_name_is_given_once(keys: KeysFile) -> None:
    keys.add("widget", groups=())
    with pytest.raises(KeysFileError, match="a key named 'widget' exists"):
        keys.add("widget", groups=("alpha",))
    assert len(keys.read()) == 1


def test_the_ring_follows_the_file_without_a_restart(keys: KeysFile) -> None:
    first = keys.add("first", groups=("alpha",))
    ring = KeyRing(keys.path)
    assert ring.authenticate(first) == Caller("first", ("alpha",), Role.READER)
    second = keys.add("second", groups=("beta",), role=Role.ADMIN)
    assert ring.authenticate(second) == Caller("second", ("beta",), Role.ADMIN)
    keys.revoke("first")
    assert ring.authenticate(first) is None
    assert ring.authenticate(second) is not None
    assert ring.authenticate("qa_" + "x" * 43) is None


def test_every_digest_is_compared_in_constant_time(
    keys: KeysFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        keys.add(name, groups=())
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    ring = KeyRing(keys.path)
    assert ring.authenticate("qa_wrong") is None
    # Digests, never the key itself, each against every stored one: no early exit.
    wrong = hashlib.sha256(b"qa_wrong").hexdigest().encode()
    assert [a for a, _ in compared] == [wrong] * 3
    assert [b.decode() for _, b in compared] == [k.key_sha256 for k in keys.read()]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'{"keys": {}}',
        b'{"keys": [{"name": "x"}]}',
        b'{"keys": [{"name": "x", "key_sha256": "abc", "groups": []}]}',
    ],
)
def test_a_damaged_file_lets_no_key_in(keys: KeysFile, content: bytes) -> None:
    key = keys.add("widget", groups=())
    ring = KeyRing(keys.path)
    assert ring.authenticate(key) is not None
    keys.path.write_bytes(content)
    with pytest.raises(KeysFileError):
        ring.authenticate(key)
    access = Access(keys.path)
    with pytest.raises(AccessDeniedError) as denied:
        access.caller("10.0.0.1", Headers({"authorization": f"Bearer {key}"}))
    assert (denied.value.status_code, denied.value.detail) == (503, KEYS_UNREADABLE)


def test_a_file_gone_lets_no_key_in(keys: KeysFile) -> None:
    key = keys.add("widget", groups=())
    ring = KeyRing(keys.path)
    keys.path.unlink()
    with pytest.raises(KeysFileError, match="does not exist"):
        ring.authenticate(key)


def test_groups_asked_for_narrow_a_callers_never_widen_them() -> None:
    caller = Caller("k", ("alpha", "beta"), Role.READER)
    assert caller.narrowed(None) == ("alpha", "beta")
    assert caller.narrowed(("beta", "gamma")) == ("beta",)
    assert caller.narrowed(("gamma",)) == ()
    assert caller.narrowed(()) == ()
    assert LOCAL_CALLER.narrowed(None) is None
    assert LOCAL_CALLER.narrowed(("gamma",)) == ("gamma",)


def test_roles_include_the_ones_below() -> None:
    assert Role.ADMIN.allows(Role.EDITOR) and Role.EDITOR.allows(Role.READER)
    assert Role.READER.allows(Role.READER) and not Role.READER.allows(Role.EDITOR)
    assert not Role.EDITOR.allows(Role.ADMIN)


@pytest.mark.parametrize(
    ("client", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("127.0.0.2", {}, True),
        ("::ffff:127.0.0.1", {}, True),
        ("10.0.0.5", {}, False),
        ("192.168.1.20", {}, False),
        ("::ffff:10.0.0.5", {}, False),
        ("testclient", {}, False),
        (None, {}, False),
        # Through a reverse proxy on the same machine: the request came from elsewhere.
        ("127.0.0.1", {"x-forwarded-for": "10.0.0.5"}, False),
        ("127.0.0.1", {"forwarded": "for=10.0.0.5"}, False),
        ("127.0.0.1", {"x-real-ip": "10.0.0.5"}, False),
    ],
)
def test_without_keys_only_this_machine_is_answered(
    client: str | None, headers: dict[str, str], allowed: bool
) -> None:
    access = Access(None)
    if allowed:
        assert access.caller(client, Headers(headers)) == LOCAL_CALLER
        assert access.sees_everything(client, Headers(headers))
        return
    with pytest.raises(AccessDeniedError) as denied:
        access.caller(client, Headers(headers))
    assert (denied.value.status_code, denied.value.detail) == (403, LOCAL_ONLY)
    assert not access.sees_everything(client, Headers(headers))


def test_with_keys_even_this_machine_needs_one(keys: KeysFile) -> None:
    key = keys.add("widget", groups=("public",))
    access = Access(keys.path)
    with pytest.raises(AccessDeniedError) as denied:
        access.caller("127.0.0.1", Headers({}))
    assert (denied.value.status_code, denied.value.detail) == (401, KEY_REQUIRED)
    caller = access.caller("127.0.0.1", Headers({"authorization": f"bearer  {key} "}))
    assert caller == Caller("widget", ("public",), Role.READER)
    assert not access.sees_everything("127.0.0.1", Headers({"authorization": f"Bearer {key}"}))


def test_another_machine_is_refused_without_keys_over_http(settings: Settings) -> None:
    # Not started: the refusal comes before any part of the service is needed.
    app = build_api(settings)
    outside = TestClient(app, base_url="http://localhost", client=("10.0.0.5", 40000))
    for path in ("/v1/ask", "/v1/ask/stream"):
        response = outside.post(path, json={"question": "Where?"})
        assert response.status_code == 403 and problem(response) == {"detail": LOCAL_ONLY}
    assert outside.get("/healthz").json() == {"status": "ok"}
    inside = TestClient(app, base_url="http://localhost", client=("127.0.0.1", 40000))
    response = inside.post("/v1/ask", json={"question": "Where?"})
    assert response.status_code == 503  # let in; the service is not loaded


def test_keys_added_and_revoked_count_at_once_over_http(
    extractive: Services, keys: KeysFile
) -> None:
    first = keys.add("first", groups=("alpha",))
    settings = extractive.settings.model_copy(update={"api_keys_file": keys.path})
    app = build_api(settings, extractive)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120)

        def ask(key: str) -> httpx.Response:
            return httpx.post(
                f"{url}/v1/ask",
                json={"question": "Where?"},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )

        assert ask(first).status_code == 200
        second = keys.add("second", groups=())
        assert ask(second).status_code == 200
        keys.revoke("first")
        refused = ask(first)
        assert refused.status_code == 401 and problem(refused) == {"detail": KEY_REQUIRED}
        assert refused.headers["www-authenticate"] == "Bearer"
        assert ask(second).status_code == 200


def qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = environment_without_settings()
    return {**environment, "QA_DATA_DIR": str(tmp_path / "data")}


def test_qa_keys_add_list_revoke(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "QA_API_KEYS_FILE": str(tmp_path / "keys.json")}
    added = qa("keys", "add", "widget", "--groups", "public,staff", env=env)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith("qa_") and "\n" not in key
    assert "printed below, once" in added.stderr
    as_json = qa("keys", "add", "lead", "--groups", "alpha", "--role", "editor", "--json", env=env)
    assert json.loads(as_json.stdout)["role"] == "editor"
    second = json.loads(as_json.stdout)["key"]

    listed = qa("keys", "list", env=env)
    assert listed.returncode == 0
    assert (
        "widget  reader  public,staff" in listed.stdout and "lead  editor  alpha" in listed.stdout
    )
    listed_json = qa("keys", "list", "--json", env=env).stdout
    assert json.loads(listed_json) == [
        {"name": "widget", "groups": ["public", "staff"], "role": "reader"},
        {"name": "lead", "groups": ["alpha"], "role": "editor"},
    ]
    for text in (listed.stdout, listed_json, (tmp_path / "keys.json").read_text()):
        assert key not in text and second not in text

    assert qa("keys", "revoke", "widget", env=env).stdout.strip() == "revoked widget"
    again = qa("keys", "revoke", "widget", env=env)
    assert again.returncode == 1 and again.stderr == "error: no key named 'widget'\n"
    bad_role = qa("keys", "add", "x", "--groups", "a", "--role", "root", env=env)
    assert bad_role.returncode != 0


def test_qa_keys_needs_the_files_path(env: dict[str, str]) -> None:
    result = qa("keys", "list", env=env)
    assert result.returncode == 1
    assert (
        result.stderr.startswith("error: set QA_API_KEYS_FILE") and result.stderr.count("\n") == 1
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "qa.intranet"])
def test_serve_on_the_network_without_keys_refuses_to_start(env: dict[str, str], host: str) -> None:
    result = qa("serve", "--host", host, "--port", "1", env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: refusing to serve on {host} without API keys")
    assert result.stderr.count("\n") == 1


def test_serve_refuses_a_keys_file_it_cannot_read(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "QA_API_KEYS_FILE": str(tmp_path / "missing.json")}
    result = qa("serve", "--host", "0.0.0.0", "--port", "1", env=env)
    assert result.returncode == 1
    assert "missing.json does not exist" in result.stderr and result.stderr.count("\n") == 1


def test_qa_ask_with_groups_answers_as_a_key_of_those_groups_would(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "QA_LLM": "extractive"}
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "dossier-a91.txt").write_text(
        "Dossier A91\n\nIn Operation Nightjar, the informant's codename is AMBERWREN."
    )
    assert qa("ingest", str(tmp_path / "alpha"), "--groups", "alpha", env=env).returncode == 0
    question = "What is the codename of the informant in Operation Nightjar?"
    outsider = qa("ask", question, "--groups", "beta", "--json", env=env)
    assert outsider.returncode == 0, outsider.stderr
    assert json.loads(outsider.stdout)["refused"]
    assert "AMBERWREN" not in outsider.stdout and "dossier-a91" not in outsider.stdout.lower()
    insider = qa("ask", question, "--groups", "alpha,beta", env=env)
    assert "AMBERWREN" in insider.stdout and "dossier-a91.txt" in insider.stdout
