"""Reliability under the conditions a service meets: load while documents change, kills, restarts.

    .venv/bin/python -m bench.reliability [--llm extractive|local] [--requests 200]
        [--concurrency 16] [--kill-runs 20] [--json]

Every part talks to real processes on loopback only (``qa serve``, ``qa ingest`` and the Chroma
server ``qa serve`` runs), sends a fixed number of requests and stops by itself:

- load: ``--requests`` questions from ``--concurrency`` clients at once while another process
  ingests, changes and re-ingests a second corpus into the same store. Counted: answers, 503s
  (the service refusing more work than it takes, with ``Retry-After``: the client then waits
  that long, at most 5 s, before its next question), errors (anything else), latency p50/p95
  of the answers, and answers that differ from the same question asked on an idle server
  before the load.
- kills: ``--kill-runs`` times, ``qa ingest`` is SIGKILLed at a random point (fixed seed) while
  it adds or replaces documents, then run again; after each re-run the store must equal, by
  content, the one a clean ingest of the same files makes: documents, chunks, offsets, texts,
  metadata and the keyword index.
- restart: the server is SIGKILLed with answers in flight, started again on the same folder,
  and must answer as before from an unchanged store.

``make reliability`` runs it in full and writes ``bench/results/reliability.json``;
``tests/test_reliability.py`` runs each part small in CI.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port, running_server

REPO = Path(__file__).resolve().parent.parent
INTERPOL_NEWS = REPO.parent / "shared" / "corpus" / "interpol-news"
QA = str(Path(sys.executable).parent / "qa")
RESULTS = REPO / "bench" / "results" / "reliability.json"
QUESTIONS = (
    "Who chaired the Moroccan delegation?",
    "Where is the INTERPOL General Secretariat?",
    "How many member countries does INTERPOL have?",
    "What is a Silver Notice?",
    "When was the Arab Police Chiefs meeting held?",
    "Who is the Secretary General of INTERPOL?",
    "Which ransomware group was behind WannaCry?",
    "What did the European Regional Conference discuss?",
)


def qa_env(data_dir: Path, llm: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    return {**environment, "QA_DATA_DIR": str(data_dir), "QA_LLM": llm}


def run_qa(
    *args: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def serving(data_dir: Path, llm: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``qa serve`` on a free loopback port, ready; yields its URL and its process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [QA, "serve", "--port", str(port)]
    with running_server(command, f"{url}/readyz", log, qa_env(data_dir, llm), 600) as server:
        yield url, server


def answer_key(body: dict[str, Any]) -> str:
    """What must not change with load: the text, the refusal and every citation's place."""
    citations = [(c["doc_id"], c["start"], c["end"]) for c in body["citations"]]
    return json.dumps([body["answer"], body["refused"], citations])


def write_variant(source: Path, target: Path, revision: int) -> None:
    """``source``'s files in ``target``; each revision adds its own closing line to every file,
    so that each revision replaces every document."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            suffix = f"\n\nRevision {revision} of this file.\n" if revision else ""
            (target / path.name).write_text(text + suffix, encoding="utf-8")


# ---- load while another process writes ------------------------------------------------------


@dataclass
class LoadReport:
    requests: int
    concurrency: int
    answered: int = 0
    busy_503: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None
    differing_from_idle: int = 0
    retry_after_seen: bool = False
    ingest_runs: int = 0
    ingest_failures: int = 0


def load_test(workdir: Path, llm: str, requests: int, concurrency: int) -> LoadReport:
    data = workdir / "load-data"
    assert run_qa("ingest", str(INTERPOL_NEWS), env=qa_env(data, llm)).returncode == 0
    second = workdir / "load-second"
    # In the store before the idle answers, so that what the writer changes during the load is
    # only each file's closing line, not which documents there are.
    write_variant(REPO / "docs", second, revision=0)
    assert run_qa("ingest", str(second), env=qa_env(data, llm)).returncode == 0
    report = LoadReport(requests, concurrency)
    with serving(data, llm, workdir / "load-serve.log") as (url, _):
        with httpx.Client(timeout=600) as client:
            idle = {q: answer_key(_ask(client, url, q).json()) for q in QUESTIONS}
        stop = threading.Event()
        writer = threading.Thread(target=_keep_ingesting, args=(second, data, llm, stop, report))
        writer.start()
        latencies: list[float] = []
        try:
            with httpx.Client(timeout=600) as client, ThreadPoolExecutor(concurrency) as pool:
                for question, status, seconds, body, retry in pool.map(
                    lambda n: _timed(client, url, QUESTIONS[n % len(QUESTIONS)]), range(requests)
                ):
                    if status == 200:
                        report.answered += 1
                        latencies.append(seconds * 1000)
                        report.differing_from_idle += answer_key(body) != idle[question]
                    elif status == 503:
                        report.busy_503 += 1
                        report.retry_after_seen |= retry
                    else:
                        report.errors[str(status)] = report.errors.get(str(status), 0) + 1
        finally:
            stop.set()
            writer.join()
    if latencies:
        report.p50_ms = round(statistics.median(latencies), 1)
        report.p95_ms = round(statistics.quantiles(latencies, n=20)[-1], 1)
    return report


def _ask(client: httpx.Client, url: str, question: str) -> httpx.Response:
    return client.post(f"{url}/v1/ask", json={"question": question})


def _timed(
    client: httpx.Client, url: str, question: str
) -> tuple[str, int | str, float, dict[str, Any], bool]:
    started = time.perf_counter()
    try:
        response = _ask(client, url, question)
    except httpx.HTTPError as error:
        return question, type(error).__name__, time.perf_counter() - started, {}, False
    seconds = time.perf_counter() - started
    body = response.json() if response.status_code == 200 else {}
    told = "retry-after-ms" in response.headers
    if response.status_code == 503 and told:
        # As a well-behaved client does: come back when told to (at most 5 s here).
        time.sleep(min(int(response.headers["retry-after-ms"]), 5000) / 1000)
    return question, response.status_code, seconds, body, told


def _keep_ingesting(
    folder: Path, data: Path, llm: str, stop: threading.Event, report: LoadReport
) -> None:
    """Change every file of ``folder`` and ingest it again, until ``stop`` (at most 50 runs)."""
    for revision in range(1, 51):
        if stop.is_set():
            return
        write_variant(REPO / "docs", folder, revision)
        result = run_qa("ingest", str(folder), env=qa_env(data, llm))
        report.ingest_runs += 1
        report.ingest_failures += result.returncode != 0


# ---- SIGKILL of qa ingest, then a re-run --------------------------------------------------


@dataclass
class KillReport:
    runs: int
    converged: int = 0
    killed_after_s: list[float] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def kill_test(workdir: Path, runs: int, seed: int = 13) -> KillReport:
    corpus = workdir / "kill-corpus"
    sources = workdir / "kill-sources"
    write_variant(INTERPOL_NEWS, sources, revision=0)
    for path in sorted((REPO / "docs").glob("*.md")):
        shutil.copy(path, sources / path.name)
    # A clean ingest of each revision, into a folder of its own, is what every run must reach.
    references: dict[int, dict[str, Any]] = {}
    full_seconds = 0.0
    for revision in (1, 2):
        write_variant(sources, corpus, revision)
        started = time.perf_counter()
        clean = workdir / f"kill-reference-{revision}"
        assert run_qa("ingest", str(corpus), env=_small_batches(clean)).returncode == 0
        full_seconds = max(full_seconds, time.perf_counter() - started)
        references[revision] = snapshot(clean)
    report = KillReport(runs)
    chance = random.Random(seed)
    store = workdir / "kill-store"
    for run in range(runs):
        revision = 1 + run % 2
        write_variant(sources, corpus, revision)
        delay = chance.uniform(0.0, full_seconds)
        process = subprocess.Popen(
            [QA, "ingest", str(corpus)],
            env=_small_batches(store),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        report.killed_after_s.append(round(delay, 2))
        rerun = run_qa("ingest", str(corpus), env=_small_batches(store))
        found = snapshot(store)
        if rerun.returncode == 0 and found == references[revision]:
            report.converged += 1
        else:
            report.mismatches.append(f"run {run}: {_difference(found, references[revision])}")
    return report


def _small_batches(data_dir: Path) -> dict[str, str]:
    # Eight chunks a batch: many commit points for a kill to fall between.
    return {**qa_env(data_dir, "extractive"), "QA_INGEST_BATCH": "8"}


def snapshot(data_dir: Path) -> dict[str, Any]:
    """The store's content: every chunk's id, text and metadata (less the ingest time), and the
    keyword index's rows. Read in a process of its own, which opens the store embedded and
    lets it go when it exits."""
    script = "from bench.reliability import chroma_records; chroma_records()"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**qa_env(data_dir, "extractive"), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    keyword = data_dir / "keyword" / "documents.sqlite3"
    with closing(sqlite3.connect(keyword)) as connection:
        rows = connection.execute(
            "SELECT chunk_id, doc_id, version, terms, doc_type, date, groups FROM chunks"
            " ORDER BY chunk_id"
        ).fetchall()
    return {"chunks": json.loads(result.stdout), "keyword": [list(row) for row in rows]}


def chroma_records() -> None:
    """Print the store's chunks as JSON (run by ``snapshot`` in a process of its own)."""
    from qa_service.core.config import Settings
    from qa_service.services import Services

    store = Services(Settings()).store
    found = store._collection.get(include=["documents", "metadatas"])
    records = {
        record_id: {
            "text": text,
            **{k: v for k, v in metadata.items() if k != "ingested_at"},
        }
        for record_id, text, metadata in zip(
            found["ids"], found["documents"], found["metadatas"], strict=True
        )
    }
    sys.stdout.write(json.dumps(records, sort_keys=True))


def _difference(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    extra = set(found["chunks"]) - set(wanted["chunks"])
    missing = set(wanted["chunks"]) - set(found["chunks"])
    changed = [
        k
        for k in set(found["chunks"]) & set(wanted["chunks"])
        if found["chunks"][k] != wanted["chunks"][k]
    ]
    keyword = found["keyword"] != wanted["keyword"]
    return (
        f"{len(extra)} extra, {len(missing)} missing, {len(changed)} changed chunks, "
        f"keyword index differs: {keyword}"
    )


# ---- SIGKILL of the server with answers in flight --------------------------------------------


@dataclass
class RestartReport:
    in_flight: int
    cut_off: int = 0
    finished_before_kill: int = 0
    # Turned away at once (503 with Retry-After): more than the service takes at a time.
    busy_503: int = 0
    answers_after_restart_as_before: bool = False
    store_unchanged: bool = False
    chroma_server_gone: bool = False


def restart_test(workdir: Path, llm: str, in_flight: int = 8) -> RestartReport:
    data = workdir / "restart-data"
    assert run_qa("ingest", str(INTERPOL_NEWS), env=qa_env(data, llm)).returncode == 0
    before = snapshot(data)
    report = RestartReport(in_flight)
    with serving(data, llm, workdir / "restart-serve-1.log") as (url, server):
        with httpx.Client(timeout=600) as client:
            idle = {q: answer_key(_ask(client, url, q).json()) for q in QUESTIONS}
        published = json.loads((data / "chroma" / "chroma-server.json").read_text())
        outcomes: Counter[str] = Counter()
        with httpx.Client(timeout=600) as client, ThreadPoolExecutor(in_flight) as pool:
            streams = [
                pool.submit(_stream_until_cut, client, url, QUESTIONS[n % len(QUESTIONS)])
                for n in range(in_flight)
            ]
            time.sleep(0.3)
            server.send_signal(signal.SIGKILL)
            for stream in streams:
                outcomes[stream.result()] += 1
        report.cut_off = outcomes["cut off"]
        report.finished_before_kill = outcomes["done"]
        report.busy_503 = outcomes["busy"]
        report.chroma_server_gone = _gone(int(published["pid"]))
    with (
        serving(data, llm, workdir / "restart-serve-2.log") as (url, _),
        httpx.Client(timeout=600) as client,
    ):
        again = {q: answer_key(_ask(client, url, q).json()) for q in QUESTIONS}
    report.answers_after_restart_as_before = again == idle
    report.store_unchanged = snapshot(data) == before
    return report


def _stream_until_cut(client: httpx.Client, url: str, question: str) -> str:
    try:
        with client.stream("POST", f"{url}/v1/ask/stream", json={"question": question}) as response:
            if response.status_code == 503:
                return "busy"
            events = [line for line in response.iter_lines() if line.startswith("event:")]
        return "done" if "event: done" in events else "incomplete"
    except httpx.HTTPError:
        return "cut off"


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--llm", choices=["extractive", "local"], default="extractive")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill-runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-reliability-") as folder:
        workdir = Path(folder)
        results = {
            "llm": args.llm,
            "load": asdict(load_test(workdir, args.llm, args.requests, args.concurrency)),
            "kills": asdict(kill_test(workdir, args.kill_runs)),
            "restart": asdict(restart_test(workdir, args.llm)),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2) if args.json else _summary(results))


def _summary(results: dict[str, Any]) -> str:
    load, kills, restart = results["load"], results["kills"], results["restart"]
    return "\n".join(
        [
            f"load ({results['llm']}): {load['requests']} requests, {load['concurrency']} at once: "
            f"{load['answered']} answered, {load['busy_503']} 503, "
            f"errors {load['errors'] or 'none'}, "
            f"p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, {load['differing_from_idle']} "
            f"differing from idle; {load['ingest_runs']} ingests beside it, "
            f"{load['ingest_failures']} failed",
            f"kills: {kills['converged']}/{kills['runs']} re-runs converged to a clean ingest"
            + (f"; {kills['mismatches']}" if kills["mismatches"] else ""),
            f"restart: {restart['cut_off']} of {restart['in_flight']} answers cut off, "
            f"chroma server gone: {restart['chroma_server_gone']}, answers after restart as "
            f"before: {restart['answers_after_restart_as_before']}, store unchanged: "
            f"{restart['store_unchanged']}",
        ]
    )


if __name__ == "__main__":
    main()
