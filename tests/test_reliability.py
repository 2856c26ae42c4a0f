"""The reliability runs of ``bench/reliability.py``, small enough for CI (``make reliability``
runs them in full): real ``qa serve`` and ``qa ingest`` processes on loopback."""

from pathlib import Path

from bench.reliability import kill_test, load_test, restart_test


def test_questions_under_load_while_another_process_ingests(tmp_path: Path) -> None:
    report = load_test(tmp_path, "extractive", requests=32, concurrency=8)
    assert report.errors == {} and report.ingest_failures == 0 and report.ingest_runs >= 1
    assert report.answered + report.busy_503 == 32 and report.answered > 0
    # A 503 always says when to come back.
    assert report.busy_503 == 0 or report.retry_after_seen
    assert report.differing_from_idle == 0


def test_a_killed_ingest_converges_to_a_clean_one(tmp_path: Path) -> None:
    report = kill_test(tmp_path, runs=2)
    assert report.mismatches == [] and report.converged == 2


def test_a_server_killed_mid_answer_comes_back_as_it_was(tmp_path: Path) -> None:
    report = restart_test(tmp_path, "extractive", in_flight=6)
    assert report.cut_off + report.finished_before_kill + report.busy_503 == 6
    assert report.cut_off >= 1
    assert report.chroma_server_gone and report.store_unchanged
    assert report.answers_after_restart_as_before
