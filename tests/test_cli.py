"""The ``qa`` command as a user runs it: real processes, exit codes, JSON, interruptions."""

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from qa_service import cli
from tests import samples
from tests.conftest import INTERPOL_NEWS, environment_without_settings

QA = str(Path(sys.executable).parent / "qa")


def qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = environment_without_settings()
    return {**environment, "QA_DATA_DIR": str(tmp_path / "data")}


def test_ingest_list_delete_round_trip(env: dict[str, str]) -> None:
    first = qa("ingest", str(INTERPOL_NEWS), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["added"]) == 5

    second = qa("ingest", str(INTERPOL_NEWS), env=env)
    assert second.returncode == 0
    assert "0 added, 0 updated, 5 skipped" in second.stdout

    listed = json.loads(qa("docs", "list", "--json", env=env).stdout)
    assert [d["doc_id"] for d in listed] == sorted(p.name for p in INTERPOL_NEWS.glob("*.txt"))
    assert listed[1]["n_chunks"] > 0 and listed[1]["groups"] == []

    deleted = qa("docs", "delete", listed[0]["doc_id"], "--json", env=env)
    assert json.loads(deleted.stdout) == {"deleted": listed[0]["doc_id"], "chunks": 3}
    assert len(json.loads(qa("docs", "list", "--json", env=env).stdout)) == 4


def test_failures_set_the_exit_code_and_name_each_reason(
    env: dict[str, str], tmp_path: Path
) -> None:
    samples.write_mixed_folder(tmp_path / "mixed")
    result = qa("ingest", str(tmp_path / "mixed"), env=env)
    assert result.returncode == 1
    assert "5 added" in result.stdout and "5 failed" in result.stdout
    assert "failed  broken.pdf: corrupt or unreadable PDF" in result.stdout
    assert "failed  image.txt: binary file" in result.stdout


def test_a_hostile_folder_prints_one_line_per_failure_and_no_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    good, bad = samples.write_bad_folder(tmp_path / "bad")
    result = qa("ingest", str(tmp_path / "bad"), env=env)
    assert result.returncode == 1
    summary, *failed = result.stdout.splitlines()
    assert summary.startswith(
        f"{len(good)} added, 0 updated, 0 skipped, 0 deleted, {len(bad)} failed"
    )
    assert len(failed) == len(bad) and all(line.startswith("  failed  ") for line in failed)
    assert "Traceback" not in result.stderr
    for line in result.stderr.splitlines():
        assert re.fullmatch(r"\[\d+/\d+\] (added|failed) \S.*", line), line

    again = json.loads(qa("ingest", str(tmp_path / "bad"), "--json", env=env).stdout)
    assert {failure["doc_id"] for failure in again["failed"]} == bad.keys()
    assert sorted(again["skipped"]) == sorted(good)


# File names as stored (the exact doc_id) and as human-readable output shows them on one line.
ODD_NAMES = {
    "two words.txt": "two words.txt",
    "café ☕ 東京.txt": "café ☕ 東京.txt",
    "new\nline.txt": "new\\nline.txt",
    "tab\tand\rreturn.txt": "tab\\tand\\rreturn.txt",
    "-leading-dash.txt": "-leading-dash.txt",
    "\x1b[31mred.txt": "\\x1b[31mred.txt",
    "\u202eright-to-left.txt": "\\u202eright-to-left.txt",
    ":thumbs_up: [bold]x.txt": ":thumbs_up: [bold]x.txt",
    "[/x].txt": "[/x].txt",
    "a long name " * 9 + ".txt": "a long name " * 9 + ".txt",
}


def test_any_file_name_is_one_line_for_people_and_exact_in_json(
    env: dict[str, str], tmp_path: Path
) -> None:
    corpus = tmp_path / "odd"
    for number, name in enumerate(ODD_NAMES):
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Note {number} about the liaison office in Nairobi.\n")
    total = len(ODD_NAMES)

    ingested = qa("ingest", str(corpus), env=env)
    assert ingested.returncode == 0, ingested.stderr
    progress = ingested.stderr.splitlines()
    assert [line.split(" ", 1)[0] for line in progress] == [
        f"[{n}/{total}]" for n in range(1, total + 1)
    ]
    assert sorted(line.split(" ", 2)[2] for line in progress) == sorted(ODD_NAMES.values())

    listed = qa("docs", "list", env=env).stdout.splitlines()
    assert listed[-1] == f"{total} documents"
    assert sorted(line.split("  txt  ")[0] for line in listed[:-1]) == sorted(ODD_NAMES.values())
    exact = [d["doc_id"] for d in json.loads(qa("docs", "list", "--json", env=env).stdout)]
    assert exact == sorted(ODD_NAMES)

    deleted = qa("docs", "delete", "--", "new\nline.txt", env=env)
    assert deleted.stdout == "deleted new\\nline.txt (1 chunks)\n", deleted.stderr
    assert qa("docs", "delete", "--", "-leading-dash.txt", env=env).returncode == 0
    left = [d["doc_id"] for d in json.loads(qa("docs", "list", "--json", env=env).stdout)]
    assert left == sorted(set(ODD_NAMES) - {"new\nline.txt", "-leading-dash.txt"})


def test_the_live_bar_shows_any_doc_id(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(cli, "err", terminal)
    with cli._live_bar() as bar:
        progress = cli._ProgressBar(bar)
        progress.start(2)
        progress.advance("[/x].txt", "added")
        bar.refresh()
        progress.advance("new\nline.txt", "added")
        bar.refresh()
    shown = screen.getvalue()
    assert "[/x].txt" in shown and "new\\nline.txt" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["docs", "delete", "nope.txt"], "error: no document with doc_id 'nope.txt'"),
        (
            ["docs", "delete", os.fsdecode(b"caf\xe9.txt")],
            "error: no document has a doc_id that is not valid UTF-8",
        ),
        (["ingest", "docs", "--groups", "bad group!"], "error: group 'bad group!' is not allowed"),
    ],
)
def test_errors_are_one_line_on_stderr(env: dict[str, str], args: list[str], message: str) -> None:
    result = qa(*args, env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_bad_configuration_is_one_line(env: dict[str, str]) -> None:
    result = qa("docs", "list", env={**env, "QA_COLLECTION": "x"})
    assert result.returncode == 1 and "bad configuration" in result.stderr
    assert "Traceback" not in result.stderr


def _many_documents(folder: Path, copies: int) -> int:
    folder.mkdir()
    for copy in range(copies):
        for path in sorted(INTERPOL_NEWS.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            (folder / f"{copy:02d}-{path.name}").write_text(f"Copy {copy}.\n{text}")
    return copies * 5


def _stop_midway(folder: Path, env: dict[str, str], stop: signal.Signals) -> Any:
    """Start an ingest, let three documents land, then send ``stop``."""
    process = subprocess.Popen(
        [QA, "ingest", str(folder), "--json"],
        env={**env, "QA_INGEST_BATCH": "8"},
        # A job started in the background by a non-interactive shell inherits SIGINT ignored,
        # and Python then never raises KeyboardInterrupt: give the child the default again.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    landed = 0
    for line in process.stderr:
        landed += " added " in line
        if landed == 3:
            break
    process.send_signal(stop)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_a_stopped_ingest_is_finished_by_the_next_run(
    env: dict[str, str], tmp_path: Path, stop: signal.Signals
) -> None:
    total = _many_documents(tmp_path / "many", copies=8)
    code, stdout = _stop_midway(tmp_path / "many", env, stop)
    if stop == signal.SIGINT:
        assert code == 130
        report = json.loads(stdout)
        assert report["interrupted"] and 3 <= len(report["added"]) < total
    else:
        assert code == -signal.SIGKILL

    finish = qa("ingest", str(tmp_path / "many"), "--json", env=env)
    assert finish.returncode == 0, finish.stderr
    report = json.loads(finish.stdout)
    assert len(report["skipped"]) >= 3 and len(report["added"]) + len(report["skipped"]) == total

    again = json.loads(qa("ingest", str(tmp_path / "many"), "--json", env=env).stdout)
    assert len(again["skipped"]) == total  # every document complete, nothing half-written


def test_calibrate_says_clearly_what_it_cannot_use(env: dict[str, str], tmp_path: Path) -> None:
    missing = qa("calibrate", str(tmp_path / "none.json"), env=env)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"collection": "eval-elsewhere", "per_question": []}))
    elsewhere = qa("calibrate", str(results), env=env)
    assert elsewhere.returncode == 1 and "is empty here" in elsewhere.stderr
