"""The database layer on a real SQLite file and a real PostgreSQL server."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Column, Integer, String, Table, func, insert, inspect, select

from qa_service.core.config import Settings
from qa_service.core.database import TABLES, Database, DatabaseError
from tests.processes import run_together
from tests.servers import free_port


@pytest.fixture
def counters() -> Iterator[Table]:
    """A table of the service's metadata for these tests alone."""
    table = Table(
        "test_counters",
        TABLES,
        Column("n", Integer, primary_key=True, autoincrement=False),
        Column("writer", String(20), nullable=False),
    )
    yield table
    TABLES.remove(table)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    opened = Database(database_url)
    yield opened
    opened.close()


def test_tables_are_created_on_first_use(database: Database, counters: Table) -> None:
    with database.transaction() as connection:
        connection.execute(insert(counters).values(n=1, writer="first"))
    with database.reading() as connection:
        assert inspect(connection).has_table("test_counters")
        rows = connection.execute(select(counters.c.n, counters.c.writer)).all()
    assert [tuple(row) for row in rows] == [(1, "first")]


def test_a_transaction_that_fails_leaves_nothing(database: Database, counters: Table) -> None:
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute(insert(counters).values(n=1, writer="lost"))
        raise RuntimeError("the work after the insert failed")
    with database.reading() as connection:
        assert connection.execute(select(func.count()).select_from(counters)).scalar() == 0


def test_a_broken_write_is_a_database_error(database: Database, counters: Table) -> None:
    with database.transaction() as connection:
        connection.execute(insert(counters).values(n=1, writer="first"))
    with pytest.raises(DatabaseError) as failed, database.transaction() as connection:
        connection.execute(insert(counters).values(n=1, writer="Zanzibar"))
    # The driver's reason, never the statement or its values.
    assert "Zanzibar" not in str(failed.value) and "INSERT" not in str(failed.value)


# Each process counts up by reading the last number and writing the next, in one serialised
# transaction: two of them interleaving would write a number twice, which the primary key
# refuses.
_COUNT_UP = """
from sqlalchemy import Column, Integer, String, Table, func, insert, select
from qa_service.core.database import TABLES, Database
counters = Table(
    "test_counters", TABLES,
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("writer", String(20), nullable=False),
)
database = Database(sys.argv[3])
for _ in range(int(sys.argv[4])):
    with database.transaction(serialize="test_counters") as connection:
        last = connection.execute(select(func.max(counters.c.n))).scalar() or 0
        connection.execute(insert(counters).values(n=last + 1, writer=sys.argv[2]))
"""


def test_several_processes_write_at_once(
    database_url: str, counters: Table, tmp_path: Path
) -> None:
    database = Database(database_url)
    script = _COUNT_UP.replace("sys.argv[3]", repr(database_url)).replace("sys.argv[4]", "40")
    run_together(script, processes=3, folder=tmp_path)
    with database.reading() as connection:
        rows = connection.execute(select(counters.c.n, counters.c.writer)).all()
    assert sorted(row.n for row in rows) == list(range(1, 121))
    assert sorted({row.writer for row in rows}) == ["0", "1", "2"]


def test_sqlite_uses_write_ahead_logging(tmp_path: Path, counters: Table) -> None:
    path = tmp_path / "state" / "service.db"
    database = Database(f"sqlite:///{path}")
    with database.transaction() as connection:
        connection.execute(insert(counters).values(n=1, writer="first"))
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_database_that_is_down_is_a_database_error() -> None:
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(DatabaseError) as failed:
        Database(nobody, timeout_seconds=2).check()
    assert str(failed.value).startswith(f"Database('{nobody}'): ")


def test_a_sqlite_file_that_cannot_be_made_is_a_database_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DatabaseError):
        Database(f"sqlite:///{tmp_path / 'file' / 'service.db'}").check()


def test_passwords_are_not_shown(postgres_server: str) -> None:
    url = postgres_server.replace("postgres@", "postgres:s3cret@")
    assert "s3cret" not in repr(Database(url))


def test_the_default_is_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    database = Database.from_settings(Settings(data_dir=tmp_path / "data"))
    assert database.kind == "sqlite"
    assert database.url.database == str((tmp_path / "data" / "service.db").absolute())


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql+psycopg://qa:pw@db:5432/qa", "postgresql+psycopg://qa:pw@db:5432/qa"),
        ("postgresql://qa:pw@db/qa", "postgresql+psycopg://qa:pw@db/qa"),
        ("postgres://qa@db/qa", "postgresql+psycopg://qa@db/qa"),
        ("sqlite:////srv/qa/state.db", "sqlite:////srv/qa/state.db"),
        ("", None),
    ],
)
def test_database_urls_in_settings(given: str, used: str | None) -> None:
    assert Settings(database_url=given).database_url == used


@pytest.mark.parametrize("given", ["mysql://qa@db/qa", "postgresql+psycopg2://qa@db/qa", "db"])
def test_other_databases_are_refused_by_the_settings(given: str) -> None:
    with pytest.raises(ValidationError, match="sqlite:///PATH or postgresql"):
        Settings(database_url=given)


def test_other_drivers_are_refused_by_the_layer() -> None:
    with pytest.raises(DatabaseError, match="sqlite:///PATH or postgresql"):
        Database("postgresql+psycopg2://qa@db/qa")
