"""The service's shared state in one database: a SQLite file under ``QA_DATA_DIR`` by default,
PostgreSQL (``QA_DATABASE_URL=postgresql+psycopg://...``) when several replicas share it.

Modules that keep state declare their tables on ``TABLES`` (SQLAlchemy Core) and work inside
``Database.transaction()`` or ``Database.reading()``; the tables are created on first use.
Every failure of the database comes out as one ``DatabaseError``.

>>> import tempfile
>>> from sqlalchemy import Column, Integer, Table, insert, select
>>> notes = Table("doctest_notes", TABLES, Column("n", Integer, primary_key=True))
>>> database = Database(f"sqlite:///{tempfile.mkdtemp()}/service.db")
>>> with database.transaction() as connection:
...     _ = connection.execute(insert(notes).values(n=1))
>>> with database.reading() as connection:
...     connection.execute(select(notes.c.n)).scalars().all()
[1]
>>> TABLES.remove(notes)
>>> database.close()
"""

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from qa_service.core.config import Settings

# Every table of the service's database. A module's tables join it when the module is imported.
TABLES = MetaData()
# How a transaction begins on SQLite: "IMMEDIATE" takes the write lock at once, so a writer
# that reads first (the audit log reads the last record) never finds the file changed under it.
_SQLITE_BEGIN = "qa_sqlite_begin"
# Table creation is serialised like any other write that must not interleave.
_SCHEMA_LOCK = "qa_service.schema"


class DatabaseError(Exception):
    """The database cannot be reached, or refused the work; the message says why."""


class Database:
    """One database, opened lazily: nothing connects before the first transaction.

    SQLite is set up for several processes writing at once (a server, ``qa`` commands, another
    server on the same folder): write-ahead logging, so readers never wait for a writer, and a
    busy timeout, so a writer waits for another's transaction rather than failing. Writes take
    the file's write lock when they begin.
    """

    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self.url: URL = make_url(url)
        self.kind = _kind(self.url)
        self.timeout_seconds = timeout_seconds
        if self.kind == "sqlite":
            self._engine = create_engine(self.url, connect_args={"timeout": timeout_seconds})
            event.listen(self._engine, "connect", _sqlite_connected)
            event.listen(self._engine, "begin", _sqlite_begin)
        else:
            # A database that is down fails a request within the timeout, not after minutes;
            # a restarted one is reconnected to (pre_ping) rather than failing once per
            # pooled connection.
            self._engine = create_engine(
                self.url,
                connect_args={"connect_timeout": max(1, round(timeout_seconds))},
                pool_pre_ping=True,
            )
        self._created: set[str] = set()
        self._creating = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        """``QA_DATABASE_URL``, or the SQLite file ``QA_DATA_DIR/service.db``."""
        url = settings.database_url or f"sqlite:///{settings.database_file.absolute()}"
        return cls(url, settings.database_timeout_seconds)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @contextlib.contextmanager
    def transaction(self, serialize: str | None = None) -> Iterator[Connection]:
        """A connection in a write transaction, committed when the block ends well.

        ``serialize`` names work that must run one at a time across every process (appending
        to a hash chain): on PostgreSQL a transaction-scoped advisory lock of that name, on
        SQLite the file's write lock, which every write transaction holds anyway.
        """
        with self._guard():
            self._create_tables()
            with self._engine.connect() as connection:
                connection.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
                with connection.begin():
                    if serialize is not None:
                        self._lock(connection, serialize)
                    yield connection

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in a read-only snapshot (nothing it does is committed)."""
        with self._guard():
            self._create_tables()
            with self._engine.connect() as connection, connection.begin() as snapshot:
                yield connection
                snapshot.rollback()

    def check(self) -> None:
        """Raises ``DatabaseError`` unless the database answers now (its tables created)."""
        with self.reading() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        """Closes the pooled connections; the next transaction opens new ones."""
        self._engine.dispose()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as error:
            # The driver's own words: the SQL and its parameters (a question) stay out.
            raise DatabaseError(f"{self!r}: {_first_line(error.orig)}") from error
        except (SQLAlchemyError, OSError) as error:
            raise DatabaseError(f"{self!r}: {_first_line(error)}") from error

    def _create_tables(self) -> None:
        if set(TABLES.tables) <= self._created:
            return
        with self._creating:
            if self.kind == "sqlite" and self.url.database not in (None, "", ":memory:"):
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            with self._engine.connect() as connection:
                # Looked at first, as a read: a process starting while another writes waits
                # for nothing when the tables are there.
                missing = set(TABLES.tables) - set(inspect(connection).get_table_names())
            if missing:
                with self._engine.connect() as connection:
                    connection.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
                    with connection.begin():
                        # Two processes starting together would otherwise both create a table.
                        self._lock(connection, _SCHEMA_LOCK)
                        TABLES.create_all(connection)
            self._created = set(TABLES.tables)

    def _lock(self, connection: Connection, name: str) -> None:
        if self.kind != "postgresql":
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        # A lock held too long (a stuck process) fails this transaction rather than every
        # request behind it waiting forever.
        timeout_ms = round(self.timeout_seconds * 1000)
        connection.execute(text(f"SET LOCAL lock_timeout = {timeout_ms}"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _kind(url: URL) -> Literal["sqlite", "postgresql"]:
    if url.get_backend_name() == "sqlite" and url.get_driver_name() == "pysqlite":
        return "sqlite"
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        return "postgresql"
    raise DatabaseError(
        f"QA_DATABASE_URL {url.render_as_string(hide_password=True)!r}: the service's database "
        "is sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME"
    )


def _sqlite_connected(dbapi_connection: Any, record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (``_sqlite_begin``): Python's sqlite3 would begin a
    # transaction only at the first write, after its reads, and never for DDL.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
