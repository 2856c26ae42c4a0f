"""The ``qa`` command: ingest documents, manage them, ask, serve the API, evaluate and calibrate."""

import datetime as dt
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingest.library import OPERATOR, DocumentNotFoundError
from ingest.pipeline import IngestReport
from qa_service.answering.feedback import Feedback, FeedbackLog, Rating
from qa_service.answering.records import AnswerRecords
from qa_service.core.audit import AuditAction, AuditLog, ChainCheck
from qa_service.core.config import Settings
from qa_service.core.database import Database, DatabaseError
from qa_service.core.keys import Caller, KeysFile, Role
from qa_service.core.offline import OfflineResourceError
from qa_service.core.schema import Filters, parse_groups
from qa_service.services import Services, build_api
from qa_service.stores.protocol import StoreError

app = typer.Typer(help="Question answering over your documents, offline.", no_args_is_help=True)
docs_app = typer.Typer(help="List and delete ingested documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
keys_app = typer.Typer(
    help="Create, list and revoke the API keys of QA_API_KEYS_FILE.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
feedback_app = typer.Typer(
    help="Read the feedback on answers, and export it as candidate evaluation cases.",
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")

# No emoji codes: a file name or an answer holding ":smile:" is printed as it is.
err = Console(stderr=True, emoji=False)
out = Console(highlight=False, emoji=False)

# pypdf logs each oddity of a damaged PDF as a warning on stderr; the reader's reason for the
# file already says what a person can act on, and the stray lines would break the progress.
logging.getLogger("pypdf").setLevel(logging.ERROR)

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
CollectionOption = Annotated[
    str | None, typer.Option("--collection", help="Collection to use (default: QA_COLLECTION).")
]


def fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = (
            f"QA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        fail(f"bad configuration: {'; '.join(problems)}")


def services(collection: str | None = None, rules_off: Sequence[str] = ()) -> Services:
    """The composition root, with ``rules_off`` added to the rules the settings turn off."""
    configured = settings()
    if rules_off:
        off = [*configured.check_rules_off, *rules_off]
        configured = configured.model_copy(update={"check_rules_off": off})
    try:
        return Services(configured, collection)
    except (ValueError, OfflineResourceError) as error:
        fail(f"bad configuration: {error}")


def database(configured: Settings) -> Database:
    """The service's database; checked now, so a command that must record what it does fails
    before it does anything."""
    opened = Database.from_settings(configured)
    try:
        opened.check()
    except DatabaseError as error:
        fail(str(error))
    return opened


def audit_log(configured: Settings) -> AuditLog:
    """The audit log, its database checked before the change it will record is made."""
    return AuditLog(database(configured))


def audited(change: str, action: Callable[[], T]) -> T:
    """Runs ``action``, a change the audit log records once it is made; one line on stderr and
    exit status 1 if the record cannot be written."""
    try:
        return action()
    except DatabaseError as error:
        fail(f"{change} is done but could not be written to the audit log: {error}")


def command_user() -> str:
    """Who runs this command, as the records name them: ``cli:`` and the system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a user id with no name (containers)
        return f"cli:uid{os.getuid()}"


def command_caller() -> Caller:
    """The operator running this command, who may change every document, by name."""
    return replace(OPERATOR, name=command_user())


def guarded(action: Callable[[], Any]) -> Any:
    """Run ``action``, turning the errors a user can cause into one line on stderr."""
    try:
        return action()
    except (StoreError, ValueError, OSError, OfflineResourceError) as error:
        fail(str(error))


def one_line(text: str) -> str:
    """``text`` safe for a line of human-readable output: characters that would break or hide
    it (newlines, terminal escapes, bidi overrides) show as Python escapes such as ``\\n``.
    ``--json`` output keeps the exact text.
    """
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def print_line(console: Console, line: str) -> None:
    """Print ``line`` as it is: no markup, and never wrapped onto a second line."""
    console.print(line, markup=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _live_bar() -> Progress:
    """A bar on a terminal; elsewhere it stays off and ``_ProgressBar`` prints lines."""
    columns = (
        TextColumn("{task.description:<40}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=err, transient=True, disable=not err.is_terminal)


class _ProgressBar:
    """A live bar on a terminal; elsewhere (CI logs, pipes) one line per document."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("ingesting", total=None)
        self._done, self._total = 0, 0

    def start(self, total: int) -> None:
        self._total = total
        self._progress.update(self._task, total=total)

    def written(self, doc_id: str, chunks: int, total: int) -> None:
        shown = one_line(doc_id)
        self._progress.update(self._task, description=f"{shown[-28:]} {chunks}/{total}")
        if not err.is_terminal:
            print_line(
                err, f"[{self._done}/{self._total}] writing {shown}: {chunks}/{total} chunks"
            )

    def advance(self, doc_id: str, outcome: str) -> None:
        self._done += 1
        shown = one_line(doc_id)
        self._progress.update(self._task, advance=1, description=shown[-40:])
        if not err.is_terminal:
            print_line(err, f"[{self._done}/{self._total}] {outcome} {shown}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    groups: Annotated[
        str | None, typer.Option(help="Comma-separated groups that may read these.")
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Delete documents of PATH whose files are gone.")
    ] = False,
    collection: CollectionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest txt, md, html, pdf and docx files; unchanged files are skipped."""
    group_names = guarded(lambda: parse_groups(groups))
    qa = services(collection)
    database(qa.settings)
    with _live_bar() as bar:
        report: IngestReport = audited(
            "the ingest",
            lambda: guarded(
                lambda: qa.library.ingest(
                    paths, group_names, prune, _ProgressBar(bar), command_caller()
                )
            ),
        )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.interrupted:
        raise typer.Exit(130)
    if report.failed:
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    out.print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.skipped)} skipped, "
        f"{len(report.deleted)} deleted, {len(report.failed)} failed "
        f"({report.chunks_written} chunks written in {report.seconds:.1f} s)"
    )
    for doc_id, reason in report.failed.items():
        print_line(out, f"  failed  {one_line(doc_id)}: {one_line(reason)}")
    if report.interrupted:
        out.print("interrupted: finished documents are stored; run the same command to finish.")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain language.")],
    top_k: Annotated[int | None, typer.Option(help="Passages to retrieve.", min=1, max=50)] = None,
    groups: Annotated[
        str | None, typer.Option(help="Answer only from documents these groups may read.")
    ] = None,
    collection: CollectionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the ingested documents, with cited sources."""
    from qa_service.answering.question import Question, QuestionError
    from qa_service.answering.records import AnswerRecord, AnswerRecords
    from qa_service.api.schemas import AskResponse
    from qa_service.generation.base import GenerationError

    group_names = guarded(lambda: parse_groups(groups)) if groups is not None else None
    qa = services(collection)
    records = AnswerRecords(database(qa.settings))
    asked = Question(question, filters=Filters(groups=group_names), top_k=top_k)
    try:
        answer = qa.answerer.run(asked)
        record = records.save(AnswerRecord.of(answer, question, command_user()))
    except (QuestionError, GenerationError, StoreError, OfflineResourceError) as error:
        fail(str(error))
    except DatabaseError as error:
        fail(f"the answer could not be recorded, so it is not shown: {error}")
    if as_json:
        sys.stdout.write(AskResponse.of(answer, record.id).model_dump_json(indent=2) + "\n")
        return
    out.print(answer.answer, markup=False)
    if answer.citations:
        out.print("\nSources:")
    for citation in answer.citations:
        title = f" ({one_line(citation.title)})" if citation.title else ""
        out.print(
            f"[{citation.n}] {one_line(citation.doc_id)}{title}, "
            f"characters {citation.start}-{citation.end}:"
            f'\n    "{citation.quote}"',
            markup=False,
        )


@docs_app.command("list")
def docs_list(collection: CollectionOption = None, as_json: JsonOption = False) -> None:
    """List the documents in the store."""
    documents = guarded(lambda: services(collection).store.list_documents())
    if as_json:
        print_json([asdict(document) for document in documents])
        return
    for document in documents:
        groups = ",".join(document.groups) or "(everyone)"
        print_line(
            out,
            f"{one_line(document.doc_id)}  {document.doc_type}  {document.n_chunks} chunks  "
            f"{groups}  {one_line(document.title or '')}",
        )
    out.print(f"{len(documents)} documents")


@docs_app.command("delete")
def docs_delete(
    doc_id: Annotated[str, typer.Argument(help="The doc_id shown by `qa docs list`.")],
    collection: CollectionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a document and all its chunks."""
    try:
        doc_id.encode()
    except UnicodeEncodeError:  # bytes in the argument that are not UTF-8
        fail("no document has a doc_id that is not valid UTF-8 (ingest refuses such names)")
    qa = services(collection)
    database(qa.settings)
    try:
        removed = audited(
            "the deletion", lambda: guarded(lambda: qa.library.delete(doc_id, command_caller()))
        )
    except DocumentNotFoundError:
        fail(f"no document with doc_id {doc_id!r}")
    if as_json:
        print_json({"deleted": doc_id, "chunks": removed})
    else:
        print_line(out, f"deleted {one_line(doc_id)} ({removed} chunks)")


def keys_file() -> KeysFile:
    path = settings().api_keys_file
    if path is None:
        fail("set QA_API_KEYS_FILE to the keys file's path (the first `qa keys add` creates it)")
    return KeysFile(path)


def _groups_shown(groups: Sequence[str]) -> str:
    return ",".join(groups) or "(none: only documents without groups)"


@keys_app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="A name for the key: who or what holds it.")],
    groups: Annotated[
        str, typer.Option(help="Comma-separated groups whose documents the key may read.")
    ],
    role: Annotated[
        Role, typer.Option(help="reader asks; editor also adds and deletes documents; admin all.")
    ] = Role.READER,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it, once: only its sha256 is kept."""
    group_names = guarded(lambda: parse_groups(groups))
    log = audit_log(settings())
    key = guarded(lambda: keys_file().add(name, group_names, role))
    details = {"name": name, "groups": list(group_names), "role": role.value}
    audited("the key", lambda: log.append(command_user(), AuditAction.KEY_ADDED, details))
    if as_json:
        print_json({"name": name, "groups": list(group_names), "role": role.value, "key": key})
        return
    print_line(
        err,
        f"key {one_line(name)} ({role.value}; groups {_groups_shown(group_names)}) "
        "is printed below, once: only its sha256 is kept",
    )
    print_line(out, key)


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    """List the keys by name, with their groups and roles (never the keys)."""
    keys = guarded(lambda: keys_file().read())
    if as_json:
        print_json([{"name": k.name, "groups": list(k.groups), "role": k.role} for k in keys])
        return
    for key in keys:
        print_line(out, f"{key.name}  {key.role.value}  {_groups_shown(key.groups)}")
    out.print(f"{len(keys)} keys")


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="The name shown by `qa keys list`.")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: a running service refuses it from its next request."""
    log = audit_log(settings())
    guarded(lambda: keys_file().revoke(name))
    audited(
        "the revocation",
        lambda: log.append(command_user(), AuditAction.KEY_REVOKED, {"name": name}),
    )
    if as_json:
        print_json({"revoked": name})
    else:
        print_line(out, f"revoked {one_line(name)}")


RatingOption = Annotated[
    Rating | None, typer.Option("--rating", help="Only feedback rated up, or down.")
]


def feedback_given(rating: Rating | None) -> list[Feedback]:
    """The feedback of the service's database (rated ``rating`` only, if given)."""
    opened = database(settings())
    try:
        return FeedbackLog(opened, AnswerRecords(opened)).list(rating)
    except DatabaseError as error:
        fail(str(error))


@feedback_app.command("list")
def feedback_list(rating: RatingOption = None, as_json: JsonOption = False) -> None:
    """List the feedback given on answers, oldest first."""
    given = feedback_given(rating)
    if as_json:
        print_json([asdict(feedback) for feedback in given])
        return
    for feedback in given:
        comment = f"  ({one_line(feedback.comment)})" if feedback.comment else ""
        print_line(
            out,
            f"{feedback.at:%Y-%m-%d %H:%M}  {feedback.rating:<4}  {one_line(feedback.given_by)}  "
            f"{one_line(feedback.question)}{comment}",
        )
    ups = sum(feedback.rating == "up" for feedback in given)
    out.print(f"{len(given)} feedback ({ups} up, {len(given) - ups} down)")


@feedback_app.command("export")
def feedback_export(rating: RatingOption = None, as_json: JsonOption = False) -> None:
    """Write candidate evaluation cases (qa.jsonl lines) for a person to correct."""
    from eval.candidates import candidate_case

    given = feedback_given(rating)
    for feedback in given:
        sys.stdout.write(json.dumps(candidate_case(feedback), ensure_ascii=False) + "\n")
    if not as_json:
        print_line(
            err,
            f"{len(given)} candidate cases: correct their answers, sources and answerable "
            "before adding them to a dataset's qa.jsonl (docs/evaluation.md)",
        )


@app.command(name="audit")
def audit(
    key: Annotated[
        str | None,
        typer.Option("--key", help="Only the records of this caller: a key, proxy:USER, cli:USER."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only records from this date or time on (ISO 8601; UTC unless given)."),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check the whole log's hash chain; exit status 3 naming the first record "
            "changed or removed.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the audit log: questions and the documents shown, document and key changes."""
    log = audit_log(settings())
    if verify:
        _verify_audit(log, as_json)
        return
    moment = guarded(lambda: _moment(since)) if since is not None else None
    try:
        records = list(log.records(key, moment))
    except DatabaseError as error:
        fail(str(error))
    if as_json:
        print_json([record.as_json() for record in records])
        return
    for record in records:
        details = " ".join(
            f"{name}={json.dumps(value, ensure_ascii=False)}"
            for name, value in record.details.items()
        )
        print_line(
            out,
            f"{record.seq:>6}  {record.at[:19]}Z  {one_line(record.actor)}  {record.action}  "
            f"{one_line(details)}",
        )
    out.print(f"{len(records)} record{'' if len(records) == 1 else 's'}")


def _moment(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not a date or time: write 2025-01-31 or 2025-01-31T09:30"
        ) from None


def _verify_audit(log: AuditLog, as_json: bool) -> None:
    try:
        check: ChainCheck = log.verify()
    except DatabaseError as error:
        fail(str(error))
    broken, last = check.broken, check.last_seq
    if as_json:
        print_json(
            {
                "intact": check.intact,
                "records": check.records,
                "last": None if last is None else {"seq": last, "hash": check.last_hash},
                "broken": None
                if broken is None
                else {"seq": broken.seq, "problem": broken.problem},
            }
        )
    if broken is not None:
        fail(f"the audit log is broken: {broken.problem}", code=3)
    if as_json:
        return
    if last is None:
        out.print("the audit log is empty")
    else:
        print_line(
            out,
            f"the audit log is intact: {check.records} records; the last is record {last}, "
            f"hash {check.last_hash}",
        )


@app.command(name="eval")
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (docs/evaluation.md).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for results.json and report.html.")
    ] = None,
    gate: Annotated[
        Path | None, typer.Option(help="YAML thresholds; exit status 3 if one is missed.")
    ] = None,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Measure retrieval; generate no answers.")
    ] = False,
    config: Annotated[
        str, typer.Option(help="Pipelines side by side, e.g. default,naive.")
    ] = "default",
    baseline: Annotated[
        Path | None, typer.Option(help="A previous results.json to compare with.")
    ] = None,
    sample: Annotated[
        int | None, typer.Option(help="N answerable + N unanswerable, fixed seed.", min=1)
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.", min=1)] = None,
    rules: Annotated[
        str | None,
        typer.Option(
            help="Citation-check rules to turn off for this run, e.g. "
            "-quote_fallback,-names_in_span (docs/citations.md).",
        ),
    ] = None,
    ablation: Annotated[
        bool,
        typer.Option(
            "--ablation",
            help="Also re-check the drafts with each rule off in turn (the report's table).",
        ),
    ] = False,
    groups: Annotated[
        str | None,
        typer.Option(help="Ask as a caller who may read only these groups' documents."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Measure retrieval, answers, citations, refusals and latency on a dataset."""
    from eval.harness import EvalOptions
    from eval.harness import evaluate as run_evaluation
    from eval.pipelines import parse_configs
    from eval.progress import ConsoleStages
    from qa_service.generation.base import GenerationError

    options = EvalOptions(
        dataset=dataset,
        out=out_dir or Path("eval-results") / dataset.resolve().name,
        configs=guarded(lambda: parse_configs(config)),
        retrieval_only=retrieval_only,
        sample=sample,
        limit=limit,
        baseline=baseline,
        gate=gate,
        ablation=ablation,
        groups=guarded(lambda: parse_groups(groups)) if groups is not None else None,
    )
    qa = services(rules_off=guarded(lambda: _rules_off(rules)) if rules else ())
    try:
        with ConsoleStages(err) as stages:
            outcome = guarded(lambda: run_evaluation(options, qa, stages))
    except GenerationError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted: embedded documents are kept; run the same command to go on", 130)
    failures = [str(failure) for failure in outcome.gate_failures or []]
    if as_json:
        print_json(
            {
                "results": str(outcome.results_path),
                "report": str(outcome.report_path),
                "metrics": {
                    run["config"]: run["metrics"]
                    for run in [outcome.results, *outcome.results["configs"].values()]
                },
                "gate": None
                if outcome.gate_failures is None
                else {"passed": not failures, "failures": failures},
            }
        )
    else:
        _print_evaluation(outcome.results)
        out.print(f"results: {outcome.results_path}\nreport:  {outcome.report_path}")
    for failure in failures:
        err.print(f"gate failed: {failure}", markup=False)
    if failures:
        raise typer.Exit(3)
    if outcome.gate_failures is not None and not as_json:
        out.print("gate passed")


def _rules_off(text: str) -> list[str]:
    """``"-a,-b"`` -> ``["a", "b"]``: each rule named with a leading minus, to say it goes off."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items or not all(item.startswith("-") for item in items):
        raise ValueError(
            f"--rules {text!r}: name each rule to turn off with a minus, e.g. -quote_fallback"
        )
    return [item[1:] for item in items]


def _print_evaluation(results: dict[str, Any]) -> None:
    from rich.table import Table

    from eval.report import summary_rows

    runs = [results, *results["configs"].values()]
    table = Table(
        title=f"{results['dataset']['name']}: {results['dataset']['questions']} questions"
    )
    table.add_column("metric")
    for run in runs:
        table.add_column(run["config"], justify="right")
    for row in summary_rows(runs):
        digits = 0 if row["metric"].endswith(("p50", "p95")) else 3
        table.add_row(
            row["metric"],
            *(
                "n/a" if cell["value"] is None else f"{cell['value']:.{digits}f}"
                for cell in row["cells"]
            ),
        )
    out.print(table)


@app.command()
def calibrate(
    results_path: Annotated[Path, typer.Argument(help="results.json of a qa eval run.")],
    thresholds: Annotated[
        str | None, typer.Option(help="QA_MIN_SUPPORT values to try, e.g. 0.4,0.5,0.6.")
    ] = None,
    fallback: Annotated[
        bool | None,
        typer.Option(
            "--fallback/--no-fallback",
            help="Quote the passages when a draft holds up nowhere (default: as the run did).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-check a run's drafts at other QA_MIN_SUPPORT thresholds (the model is not asked)."""
    from eval.recheck import DEFAULT_THRESHOLDS, CheckParts
    from eval.recheck import calibrate as recheck

    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        values = [float(v) for v in thresholds.split(",")] if thresholds else DEFAULT_THRESHOLDS
    except (OSError, ValueError) as error:
        fail(f"cannot read {results_path} or the thresholds: {error}")
    recorded = results.get("settings", {}).get("quote_fallback", False)
    quoting = recorded if fallback is None else fallback
    qa = services(results["collection"])
    if guarded(qa.store.count) == 0:
        fail(
            f"collection {results['collection']} is empty here: calibrate with the QA_DATA_DIR "
            "(or QA_CHROMA_URL) the evaluation used"
        )
    parts = CheckParts(
        qa.retriever,
        qa.embedder,
        qa.settings.top_k,
        document_text=qa.store.document_text,
        fallback=qa.quoter if quoting else None,
        prompts=qa.prompts,
    )
    outcomes = guarded(lambda: recheck(results, parts, values, qa.rules))
    if as_json:
        print_json([asdict(outcome) for outcome in outcomes])
        return
    from rich.table import Table

    title = f"{results['dataset']['name']}: drafts re-checked" + (
        ", quotes as fallback" if quoting else ""
    )
    table = Table(title=title)
    for column in (
        "min_support",
        "answerable refused",
        "unanswerable refused",
        "precision",
        "answer F1",
        "contains",
    ):
        table.add_column(column, justify="right")
    for outcome in outcomes:
        table.add_row(
            f"{outcome.min_support:.2f}",
            *(
                "n/a" if value is None else f"{value:.3f}"
                for value in (
                    outcome.answerable_refused,
                    outcome.unanswerable_refused,
                    outcome.citation_precision,
                    outcome.answer_f1,
                    outcome.answer_contains,
                )
            ),
        )
    out.print(table)


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on, and a name the service answers to besides "
            "QA_ALLOWED_HOSTS (0.0.0.0 and :: are no names: list those in QA_ALLOWED_HOSTS)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API."""
    import logging.config

    import uvicorn

    from qa_service.api.auth import is_loopback
    from qa_service.core.logs import logging_config
    from qa_service.stores.chroma_host import ChromaServerError, StoreBusyError, serving_store

    config = settings()
    # Behind a trusted proxy, a request from elsewhere that the proxy did not sign in is
    # refused as on the loopback alone (the proxy names its users; nobody else is answered).
    signed_in_by_proxy = config.proxy_user_header is not None
    if config.api_keys_file is None and not signed_in_by_proxy and not is_loopback(host):
        fail(
            f"refusing to serve on {host} without API keys: anyone who reaches the port would "
            "read every document; set QA_API_KEYS_FILE (keys are made by `qa keys add NAME "
            "--groups ...`) or serve on 127.0.0.1"
        )
    if config.api_keys_file is not None:
        guarded(KeysFile(config.api_keys_file).read)
    if host not in ("0.0.0.0", "::") and host not in config.allowed_hosts:
        config = config.model_copy(update={"allowed_hosts": [*config.allowed_hosts, host]})
    # From here on everything the process logs, uvicorn included, goes out as QA_LOG_FORMAT.
    logging.config.dictConfig(logging_config(config.log_format))
    # Every other qa process on this data folder (an ingest, a delete) goes through the Chroma
    # server this runs, so that the answers see their writes at once (see chroma_host).
    try:
        with serving_store(config) as served:
            # uvicorn would take the client's address from X-Forwarded-For on requests from
            # 127.0.0.1; whether the proxy sent a request must be judged by the address it
            # came from. Each request's line is written by the API itself, with its id and
            # route (qa_service/api/requests.py): uvicorn's own access line would only repeat
            # it, and the logging is set up above.
            uvicorn.run(
                build_api(served),
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                proxy_headers=not signed_in_by_proxy,
            )
    except (StoreBusyError, ChromaServerError) as error:
        fail(str(error))
